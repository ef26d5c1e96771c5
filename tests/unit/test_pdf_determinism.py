"""The same report HTML gives the same PDF bytes whenever it is rendered.

WeasyPrint embeds font subsets; fontTools stamps each font it rewrites with the wall-clock
time unless ``SOURCE_DATE_EPOCH`` is set. Two renders in the same second agree by luck, so
these tests move the clock between renders.
"""

from __future__ import annotations

import os
import time

import pytest

from roi_pipeline.report import html_to_pdf

HTML = """<!doctype html><html><head><meta charset="utf-8">
<meta name="dcterms.created" content="2026-11-04T12:00:00Z">
<meta name="dcterms.modified" content="2026-11-04T12:00:00Z">
<title>t</title></head>
<body><h1>Hours saved: 41.5</h1><p style="font-family: serif">Guarantee met — £1,234.56 <b>bold</b> <i>italic</i></p>
</body></html>"""


def _render_at(monkeypatch, epoch: float, html: str = HTML) -> bytes:
    monkeypatch.setattr(time, "time", lambda: epoch)
    try:
        return html_to_pdf(html)
    finally:
        monkeypatch.undo()


def test_pdf_bytes_do_not_depend_on_the_clock(monkeypatch):
    first = _render_at(monkeypatch, 1_700_000_000.0)
    later = _render_at(monkeypatch, 1_800_000_000.0)  # three years later
    assert first.startswith(b"%PDF-")
    assert first == later


def test_a_different_as_of_is_a_different_document(monkeypatch):
    # the as-of feeds the PDF's dates: the determinism above is not a constant output
    other = HTML.replace("2026-11-04T12:00:00Z", "2026-12-04T12:00:00Z")
    assert _render_at(monkeypatch, 1_700_000_000.0) != _render_at(monkeypatch, 1_700_000_000.0, other)


@pytest.mark.parametrize("before", [None, "12345"])
def test_the_callers_source_date_epoch_is_restored(monkeypatch, before):
    if before is None:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    else:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", before)
    html_to_pdf(HTML)
    assert os.environ.get("SOURCE_DATE_EPOCH") == before
