"""Where the report templates live and the one Jinja environment that renders them.

``report_templates/`` at the project root holds the HTML templates of the client report and
the portfolio page, their stylesheets and the JSON schemas (read by :mod:`.schema`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2


def templates_dir() -> Path:
    from roi_pipeline.settings import PROJECT_DIR

    return PROJECT_DIR / "report_templates"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Environment: autoescaped, StrictUndefined, templates from report_templates/."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
