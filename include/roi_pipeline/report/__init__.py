"""The monthly client report and the consultancy's portfolio page (issue 6).

Public API::

    from roi_pipeline.report import QualityStatus, render_client_month, render_portfolio

    result = render_client_month(warehouse, "harbour-legal", "2026-10", reports_dir,
                                 quality=QualityStatus(publishable=True, checked=True))
    render_portfolio(warehouse, "2026-10", reports_dir, {"harbour-legal": status, ...})

Templates, the report.json / portfolio.json schemas and their documentation live in
``report_templates/`` at the project root.
"""

from roi_pipeline.report.data import UnknownClientError
from roi_pipeline.report.pdf import html_to_pdf
from roi_pipeline.report.portfolio import render_portfolio
from roi_pipeline.report.render import FILES, ReportResult, build_report, render_client_month
from roi_pipeline.report.schema import validate
from roi_pipeline.report.status import (
    Consultancy,
    ConsultancyConfigError,
    QualityStatus,
    load_consultancy,
)

__all__ = [
    "FILES",
    "Consultancy",
    "ConsultancyConfigError",
    "QualityStatus",
    "ReportResult",
    "UnknownClientError",
    "build_report",
    "html_to_pdf",
    "load_consultancy",
    "render_client_month",
    "render_portfolio",
    "validate",
]
