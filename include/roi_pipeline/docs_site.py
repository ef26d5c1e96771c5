"""The dbt documentation as one static page beside the reports, after each build.

Analysts browse the models, their columns and descriptions, the lineage graph and the
exposures (which report reads which mart: ``dbt_project/models/marts/_exposures.yml``) in
dbt's own documentation site. :func:`publish_docs_site` runs ``dbt docs generate`` against
the warehouse (the catalog needs the built relations) into its own target directory
(``<warehouse dir>/dbt/docs/``, so the build's ``manifest.json`` and ``run_results.json`` stay
as the build left them), then writes ``<reports>/_docs/index.html``: dbt's page with the
manifest and the catalog inlined, as ``dbt docs generate --static`` does, so it opens from
the file system (``file://``) with no server and no network.

Unlike ``--static``, the inlined JSON is normalised so the page depends on the project and
the warehouse only: the generation time, invocation id and per-node parse times are fixed
(``GENERATED_AT``, ``INVOCATION_ID``, ``created_at`` 0), machine paths are made relative to
the target directory, and keys are sorted. The same project and warehouse give the same
bytes; when the build ran is in the marts snapshot's ``main.snapshot_info``. The page is
written to a temporary file and swapped in with :func:`os.replace`.

It runs after the marts snapshot in ``roi build`` / ``roi run`` and in the monthly DAG's
``docs_site`` task, holding the warehouse's lock (re-entrant inside ``roi build``).

Generating costs tens of seconds (dbt compiles every node), while the page changes only when
the project or the warehouse's relations do: the digest of both (:func:`docs_inputs`) and of
the page is kept with dbt's artefacts (``<warehouse dir>/dbt/docs/site.json``, not among the
published files), and a build whose inputs match while the page is the one written leaves it. ``ROI_DOCS_SITE=off`` skips the page altogether (the test suite does, but for
the tests of the page itself).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The folder under the reports directory holding the site (``index.html``).
DOCS_DIR = "_docs"
#: What the page says for when it was generated and by which invocation (see the module doc).
GENERATED_AT = "1970-01-01T00:00:00Z"
INVOCATION_ID = "00000000-0000-0000-0000-000000000000"

_VOLATILE_METADATA = ("generated_at", "invocation_started_at", "run_started_at")
_PLACEHOLDERS = {"manifest.json": '"MANIFEST.JSON INLINE DATA"', "catalog.json": '"CATALOG.JSON INLINE DATA"'}


class DocsSiteFailed(RuntimeError):
    """The documentation could not be generated; the previous page, if any, is still in place."""


#: The variable that turns the page off (``off``); anything else, or unset, publishes it.
SWITCH = "ROI_DOCS_SITE"
#: In dbt's docs target directory: the digest of what the page was generated from, the page's
#: own digest and path, and its counts.
STAMP = "site.json"


@dataclass(frozen=True)
class DocsSite:
    path: Path
    models: int
    exposures: int
    #: True when the published page already matched the project and the warehouse.
    unchanged: bool = False


def docs_site_enabled(environ: dict[str, str] | None = None) -> bool:
    """False when ``ROI_DOCS_SITE`` is ``off`` (or ``0`` / ``false`` / ``no``)."""
    value = (os.environ if environ is None else environ).get(SWITCH, "").strip().lower()
    return value not in {"off", "0", "false", "no"}


def docs_inputs(warehouse: Path) -> str:
    """A digest of what the page is generated from: dbt's version, the project's files, and
    the warehouse's relations and columns (the catalog)."""
    import duckdb
    from dbt.version import __version__ as dbt_version

    from roi_pipeline.transform import DBT_DIR

    digest = hashlib.sha256(f"dbt {dbt_version}\n".encode())
    project = [DBT_DIR / "dbt_project.yml"]
    for folder in ("models", "macros", "tests", "seeds", "analyses"):
        project += sorted(p for p in (DBT_DIR / folder).rglob("*") if p.is_file())
    for path in project:
        if path.is_file():
            digest.update(path.relative_to(DBT_DIR).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name, data_type, ordinal_position "
            "from information_schema.columns order by all"
        ).fetchall()
    digest.update(json.dumps(columns, default=str).encode())
    return digest.hexdigest()


def docs_stamp_path(warehouse: Path) -> Path:
    """Where the record of the last generated page is kept (with dbt's docs artefacts)."""
    from roi_pipeline.transform import dbt_work_dir

    return dbt_work_dir(warehouse) / "docs" / STAMP


def docs_site_path(reports_dir: Path) -> Path:
    """Where the page is published: ``<reports>/_docs/index.html``."""
    return Path(reports_dir) / DOCS_DIR / "index.html"


def publish_docs_site(
    warehouse: Path, reports_dir: Path, *, quiet: bool = True, use_colors: bool | None = None
) -> DocsSite:
    """Generate the dbt docs for ``warehouse`` and publish them as one self-contained page.

    ``quiet`` and ``use_colors`` are passed to dbt (see :func:`roi_pipeline.transform.run_dbt`).
    Raises :class:`DocsSiteFailed` with one line naming the cause.
    """
    from roi_pipeline.transform import dbt_work_dir, run_dbt

    warehouse = Path(warehouse).resolve()
    out = docs_site_path(reports_dir)
    target = dbt_work_dir(warehouse) / "docs"
    stamp_path = docs_stamp_path(warehouse)
    try:
        inputs = docs_inputs(warehouse)
    except Exception as exc:  # not readable (another target, a locked file): generate as before
        inputs = f"unknown: {type(exc).__name__}"
    try:
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stamp = {}
    if (
        not inputs.startswith("unknown")
        and stamp.get("inputs") == inputs
        and stamp.get("page") == str(out.resolve())
        and out.is_file()
        and hashlib.sha256(out.read_bytes()).hexdigest() == stamp.get("page_sha256")
    ):
        return DocsSite(out, models=stamp.get("models", 0), exposures=stamp.get("exposures", 0), unchanged=True)
    result = run_dbt(["docs", "generate"], warehouse, quiet=quiet, use_colors=use_colors, target_dir=target)
    if not result.success:
        raise DocsSiteFailed("dbt docs generate failed: " + "; ".join(result.failures or ["see dbt's log"]))
    try:
        page = (target / "index.html").read_text(encoding="utf-8")
        artefacts = {name: json.loads((target / name).read_text(encoding="utf-8")) for name in _PLACEHOLDERS}
    except (OSError, ValueError) as exc:
        raise DocsSiteFailed(f"dbt docs generate left no readable page in {target}: {exc}") from exc
    manifest = artefacts["manifest.json"]
    for name, placeholder in _PLACEHOLDERS.items():
        if page.count(placeholder) != 1:
            raise DocsSiteFailed(f"dbt's docs page has no single {placeholder} to fill (dbt version changed?)")
        page = page.replace(placeholder, inline_json(normalise(artefacts[name], target)))
    out.parent.mkdir(parents=True, exist_ok=True)
    models = sum(1 for key in manifest.get("nodes", {}) if key.startswith("model."))
    exposures = len(manifest.get("exposures", {}))
    written = {
        "inputs": inputs,
        "page": str(out.resolve()),
        "page_sha256": hashlib.sha256(page.encode("utf-8")).hexdigest(),
        "models": models,
        "exposures": exposures,
    }
    stamp = json.dumps(written, sort_keys=True) + "\n"
    for path, text in ((out, page), (stamp_path, stamp)):  # the stamp last: it vouches for the page
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            temp.write_text(text, encoding="utf-8")
            os.replace(temp, path)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise DocsSiteFailed(f"could not write {path}: {exc}") from exc
    return DocsSite(out, models=models, exposures=exposures)


def normalise(artefact: dict[str, Any], target: Path) -> dict[str, Any]:
    """A dbt artefact without what changes from one invocation or machine to the next."""
    prefix = str(target) + os.sep

    def clean(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: clean(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if key == "created_at" and isinstance(value, int | float):
            return 0
        if isinstance(value, str) and value.startswith(prefix):
            return value[len(prefix) :]
        return value

    out = clean(artefact)
    metadata = out.get("metadata", {})
    for key in _VOLATILE_METADATA:
        if key in metadata:
            metadata[key] = GENERATED_AT
    if "invocation_id" in metadata:
        metadata["invocation_id"] = INVOCATION_ID
    return out


def inline_json(artefact: dict[str, Any]) -> str:
    """JSON safe inside a ``<script>`` element: ``</`` is written ``<\\/`` (the same JSON)."""
    return json.dumps(artefact, sort_keys=True, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")


def publish_for_dag() -> dict[str, Any]:
    """The monthly DAG's ``docs_site`` task: the site for the configured locations."""
    import logging

    from roi_pipeline.settings import Locations

    loc = Locations.from_env()
    if not docs_site_enabled():
        logging.getLogger("roi_pipeline.docs_site").info("dbt docs site skipped: %s=off", SWITCH)
        return {"docs_site": None, "skipped": f"{SWITCH}=off"}
    site = publish_docs_site(loc.warehouse, loc.reports_dir)
    logging.getLogger("roi_pipeline.docs_site").info(
        "dbt docs site %s: %d models, %d exposures", site.path, site.models, site.exposures
    )
    return {
        "docs_site": str(site.path),
        "models": site.models,
        "exposures": site.exposures,
        "unchanged": site.unchanged,
    }
