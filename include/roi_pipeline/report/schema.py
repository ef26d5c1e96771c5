"""The JSON schemas of report.json and portfolio.json: validation, and the bytes written.

The schemas are ``report_templates/report.schema.json`` and ``portfolio.schema.json``; a
document is validated before anything is rendered from it, and written as UTF-8 JSON with
a two-space indent and a final newline.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jsonschema

from roi_pipeline.report.templates import templates_dir


@lru_cache(maxsize=4)
def schema(name: str = "report.schema.json") -> dict[str, Any]:
    return json.loads((templates_dir() / name).read_text(encoding="utf-8"))


def validate(document: dict[str, Any], name: str = "report.schema.json") -> None:
    """Raise ``jsonschema.ValidationError`` when the document does not match the schema."""
    jsonschema.Draft202012Validator(
        schema(name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(document)


def dump_json(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
