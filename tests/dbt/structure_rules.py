"""Structural rules for the dbt project, checked over dbt's manifest.json.

The rules are those of dbt-labs' dbt-project-evaluator that matter here (that package is
distributed through the dbt hub and GitHub, which these machines cannot reach, so the
rules are re-stated as plain functions): layer prefixes, where ``source()`` may appear,
which layer may depend on which, hard-coded relation names, unused sources, model and
column documentation, and primary-key tests. Each rule returns ``(rule, node, detail)``
violations; ``dbt_project/structure_exceptions.yml`` lists the accepted ones with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

Violation = tuple[str, str, str]

LAYER_PREFIXES = {"staging": ("stg_",), "intermediate": ("int_",), "marts": ("fct_", "dim_", "rpt_")}
LAYER_ORDER = {"staging": 0, "intermediate": 1, "marts": 2}
HARD_CODED = re.compile(r"\b(from|join)\s+\"?(raw|staging|intermediate|marts|quality)\"?\.", re.IGNORECASE)


def models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model"}


def layer(node: dict[str, Any]) -> str | None:
    parts = node["original_file_path"].split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "models" and parts[1] in LAYER_ORDER else None


def naming(manifest: dict[str, Any]) -> list[Violation]:
    """Every model sits in a layer folder and carries that layer's prefix."""
    out = []
    for node in models(manifest).values():
        found = layer(node)
        if found is None:
            out.append(
                (
                    "model_directories",
                    node["name"],
                    f"{node['original_file_path']} is outside staging/intermediate/marts",
                )
            )
        elif not node["name"].startswith(LAYER_PREFIXES[found]):
            out.append(
                (
                    "naming_convention",
                    node["name"],
                    f"a {found} model must start with {' or '.join(LAYER_PREFIXES[found])}",
                )
            )
        if found == "staging" and not re.fullmatch(r"stg_[a-z0-9]+__[a-z0-9_]+", node["name"]):
            out.append(("naming_convention", node["name"], "staging models are stg_<source>__<entity>"))
    return out


def dependencies(manifest: dict[str, Any]) -> list[Violation]:
    """source() only in staging; staging reads only sources; no layer reads a later one."""
    out = []
    all_models = models(manifest)
    for node in all_models.values():
        mine = layer(node)
        upstream = node["depends_on"]["nodes"]
        sources = [u for u in upstream if u.startswith("source.")]
        refs = [u for u in upstream if u.startswith("model.")]
        if sources and mine != "staging":
            out.append(("source_outside_staging", node["name"], ", ".join(sorted(s.split(".", 2)[2] for s in sources))))
        if mine == "staging" and refs:
            out.append(("staging_depends_on_model", node["name"], ", ".join(sorted(r.split(".")[-1] for r in refs))))
        for ref in refs:
            theirs = layer(all_models[ref]) if ref in all_models else None
            if mine and theirs and LAYER_ORDER[theirs] > LAYER_ORDER[mine]:
                out.append(
                    (
                        "depends_on_downstream_layer",
                        node["name"],
                        f"{mine} model reads {theirs} model {all_models[ref]['name']}",
                    )
                )
    return out


def hard_coded_references(manifest: dict[str, Any]) -> list[Violation]:
    """Relations are named through ref() / source(), never as schema.table in SQL."""
    out = []
    for node in models(manifest).values():
        code = re.sub(r"\{#.*?#\}", "", node["raw_code"], flags=re.DOTALL)
        code = re.sub(r"--[^\n]*", "", code)
        for match in HARD_CODED.finditer(code):
            out.append(("hard_coded_reference", node["name"], match.group(0).strip()))
    return out


def unused_sources(manifest: dict[str, Any]) -> list[Violation]:
    used = {u for n in manifest["nodes"].values() for u in n.get("depends_on", {}).get("nodes", [])}
    return [
        ("unused_source", f"{s['source_name']}.{s['name']}", "no model selects from it")
        for key, s in manifest["sources"].items()
        if key not in used
    ]


def documentation(manifest: dict[str, Any], mart_columns: dict[str, Iterable[str]]) -> list[Violation]:
    """Every model described; every column of every mart described (columns from the warehouse)."""
    out = []
    for node in models(manifest).values():
        if not node.get("description", "").strip():
            out.append(("undocumented_model", node["name"], "no description"))
        if layer(node) != "marts":
            continue
        documented = {name for name, col in node["columns"].items() if col.get("description", "").strip()}
        for column in mart_columns.get(node["name"], ()):
            if column not in documented:
                out.append(("undocumented_column", node["name"], column))
        for column in node["columns"]:
            if node["name"] in mart_columns and column not in set(mart_columns[node["name"]]):
                out.append(("documented_column_missing", node["name"], column))
    return out


def primary_key_tests(manifest: dict[str, Any]) -> list[Violation]:
    """Every model has a key tested unique and not null (one column), or a singular uniqueness test."""
    tested: dict[str, dict[str, set[str]]] = {}
    singular_unique: set[str] = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        parents = [u for u in node["depends_on"]["nodes"] if u.startswith("model.")]
        meta = node.get("test_metadata") or {}
        if meta.get("name") in ("unique", "not_null") and node.get("column_name") and parents:
            tested.setdefault(node["attached_node"] or parents[0], {}).setdefault(node["column_name"], set()).add(
                meta["name"]
            )
        elif not meta and "unique" in node["name"]:
            singular_unique.update(parents)
    out = []
    for key, node in models(manifest).items():
        columns = tested.get(key, {})
        if not any(kinds >= {"unique", "not_null"} for kinds in columns.values()) and key not in singular_unique:
            out.append(("missing_primary_key_test", node["name"], "no column tested unique + not_null"))
    return out


def all_violations(manifest: dict[str, Any], mart_columns: dict[str, Iterable[str]]) -> list[Violation]:
    return sorted(
        naming(manifest)
        + dependencies(manifest)
        + hard_coded_references(manifest)
        + unused_sources(manifest)
        + documentation(manifest, mart_columns)
        + primary_key_tests(manifest)
    )
