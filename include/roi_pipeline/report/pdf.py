"""The PDF of a report (WeasyPrint), rendered from its HTML so that the same HTML gives the same bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading

from roi_pipeline.report.document import parse_utc

#: The screen-only stylesheet (report_templates/report.screen.css: phones) as the templates
#: include it; the PDF is rendered without it, so its bytes never depend on screen layout.
_SCREEN_STYLE = re.compile(r'<style media="screen">\n.*?</style>\n', flags=re.S)
_CREATED_META = re.compile(r'<meta name="dcterms\.created" content="([^"]+)"')
_PDF_LOCK = threading.Lock()


def _source_date_epoch(html: str) -> str:
    """Seconds since 1970 of the document's "as of" (``dcterms.created``), or 0 without one."""
    found = _CREATED_META.search(html)
    if not found:
        return "0"
    try:
        return str(int(parse_utc(found.group(1)).replace(tzinfo=dt.UTC).timestamp()))
    except ValueError:
        return "0"


def html_to_pdf(html: str) -> bytes:
    """WeasyPrint, made as deterministic as it allows.

    - creation/modification dates come from the document's "as of" (``dcterms.created`` /
      ``dcterms.modified`` meta);
    - the screen-only stylesheet (``<style media="screen">``) is left out: print never applies
      it, and the PDF's bytes then do not change with the screen layout;
    - the PDF file identifier is derived from the HTML instead of being generated;
    - the embedded font subsets: fontTools stamps each font it rewrites with the wall-clock
      time (the ``head.modified`` field) unless ``SOURCE_DATE_EPOCH`` is set, so the same
      report rendered a second later differed in those bytes. The variable is set to the
      "as of" for the duration of the render (under a lock: the environment is process-wide).
    """
    import weasyprint

    html = _SCREEN_STYLE.sub("", html)
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    with _PDF_LOCK:
        saved = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = _source_date_epoch(html)
        try:
            return weasyprint.HTML(string=html, base_url=None).write_pdf(pdf_identifier=identifier)
        finally:
            if saved is None:
                os.environ.pop("SOURCE_DATE_EPOCH", None)
            else:
                os.environ["SOURCE_DATE_EPOCH"] = saved
