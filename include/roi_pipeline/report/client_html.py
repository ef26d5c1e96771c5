"""The client report's HTML: the template's context (figures as display text) and render_html.

``client_report.html.j2`` is rendered from report.json's document alone; this module turns
the document's values into what the template shows: the client's locale formatter, month
and date labels, the charts, the restated figures and the incidents as text.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from roi_pipeline.report import charts as chart_module
from roi_pipeline.report.data import add_months
from roi_pipeline.report.document import parse_date, parse_month, parse_utc
from roi_pipeline.report.fmt import Formatter
from roi_pipeline.report.templates import environment

_MONEY_FIELDS = {
    "value_created",
    "run_cost",
    "total_cost",
    "fee_charged",
    "monthly_fee_in_effect",
    "net_month",
    "net_value",
    "previous_net_value",
    "credit_amount",
    "cumulative_net",
    "build_fee",
    "llm_cost",
    "tooling_cost",
    "hourly_cost",
}
_LABELS = {
    "hours_saved": "hours saved",
    "gross_hours_saved": "hours automated (gross)",
    "tasks_automated": "tasks automated",
    "value_created": "value",
    "total_cost": "total cost",
    "run_cost": "running cost",
    "roi": "ROI",
    "roi_multiple": "ROI multiple",
    "llm_cost": "AI usage cost",
    "guarantee_verdict": "guarantee verdict",
    "fee_charged": "fee charged",
    "net_value": "net value",
    "response_minutes_median": "lead response, median",
    "response_minutes_p90": "lead response, 90th percentile",
    "meeting_rate": "meeting rate",
    "conversion_rate": "conversion",
    "leads_unanswered": "leads never answered",
}


class HtmlFormatter(Formatter):
    """The client's formatter for the HTML, where an amount is one unbreakable piece of text.

    A line may break after a hyphen-minus, so "net -£359.00" printed as "net -" at the end of
    one line and "£359.00" on the next. Every amount the template shows is the formatter's own
    text (one rounding rule, fmt.py) in a ``nowrap`` span.
    """

    def money(self, value: float | None, *, cents: bool = True, signed: bool = False) -> Markup | str:  # type: ignore[override]
        text = super().money(value, cents=cents, signed=signed)
        if value is None:
            return text
        return Markup('<span class="nowrap">{}</span>').format(text)


def describe_change(change: dict[str, Any], f: Formatter, names: dict[str, str]) -> dict[str, str]:
    """One restated figure as display text: label, earlier value, new value."""
    path = change["field"]
    section, _, rest = path.partition(".")
    leaf = path.rsplit(".", 1)[-1]
    label = _LABELS.get(leaf, leaf.replace("_", " "))
    if path.startswith("workflows["):
        key = path[len("workflows[") : path.index("]")]
        label = f"{names.get(key, key)}: {label}"
    elif section in ("kpis", "reliability", "delivery") or "." in rest:
        label = f"{section}: {label}" if section != "headline" else label

    def show(value: Any) -> str:
        if value is None:
            return "–"
        if isinstance(value, bool | str):
            return str(value).lower() if isinstance(value, bool) else value
        if leaf in _MONEY_FIELDS:
            return f.money(value)
        if "hours" in leaf:
            return f.hours(value)
        if leaf.endswith("_rate") or leaf == "roi":
            return f.percent(value, 1)
        if "minutes" in leaf:
            return f.minutes(value)
        if leaf == "roi_multiple":
            return f.number(value, 2) + "×"
        return f.number(value, 0 if float(value).is_integer() else 2)

    return {
        "label": label[:1].upper() + label[1:],
        "previous": show(change["previous"]),
        "current": show(change["current"]),
    }


_RESTATED_SHOWN = 12


def restated_rows(doc: dict[str, Any], f: Formatter, names: dict[str, str]) -> list[dict[str, str]]:
    if not doc.get("restatement"):
        return []
    order = {"status": 0, "headline": 1, "workflows": 2, "kpis": 3}
    changes = sorted(doc["restatement"]["changes"], key=lambda c: order.get(c["field"].split(".")[0].split("[")[0], 9))
    return [describe_change(c, f, names) for c in changes[:_RESTATED_SHOWN]]


def _day_ranges(days: list[int]) -> str:
    parts, start, prev = [], None, None
    for d in sorted(days) + [None]:
        if start is None:
            start = prev = d
        elif d is not None and d == prev + 1:
            prev = d
        else:
            parts.append(str(start) if start == prev else f"{start}–{prev}")
            start = prev = d
    return ", ".join(parts)


def incident_lines(doc: dict[str, Any], names: dict[str, str], month_label: str) -> list[dict[str, Any]]:
    by_wf: dict[str, list[dict[str, Any]]] = {}
    for inc in (doc.get("reliability") or {}).get("incidents", []):
        by_wf.setdefault(inc["workflow_key"], []).append(inc)
    lines = []
    for key, items in sorted(by_wf.items(), key=lambda kv: names.get(kv[0], kv[0])):
        days = [int(i["date"][8:10]) for i in items]
        lines.append(
            {
                "name": names.get(key, key),
                "days": f"{'day' if len(days) == 1 else 'days'} {_day_ranges(days)} of {month_label}",
                "failed": sum(i["failed_runs"] for i in items),
                "recovered": sum(i["recovered_runs"] for i in items),
            }
        )
    return lines


def _reason_text(w: dict[str, Any]) -> str:
    reason = w.get("recommendation_reason") or ""
    return "working as intended" if reason == "no rule applies" else reason


def template_context(doc: dict[str, Any]) -> dict[str, Any]:
    client = doc["client"]
    text = Formatter(client["locale"], client["currency"], client["timezone"])  # plain text: charts, restated rows
    f = HtmlFormatter(text.locale, text.currency, text.timezone)
    month = parse_month(doc["month"])
    as_of = parse_utc(doc["as_of"])
    names = {w["key"]: w["name"] for w in doc["methodology"]["workflows"]}
    return {
        "doc": doc,
        "f": f,
        "charts": {c.key: c for c in chart_module.client_charts(doc, text)},
        "month_label": f.month(month),
        "prev_month_label": f.month(add_months(month, -1)),
        "prev_short": f.month_short(add_months(month, -1)),
        "next_month_label": f.month(add_months(month, 1)),
        "as_of_label": f.as_of(as_of),
        "created": doc["as_of"],
        "m": lambda iso: f.month(parse_month(iso)),
        "day": lambda iso: f.date(parse_date(iso)),
        "day_month": lambda iso: f.day_month(parse_date(iso)),
        "parse_utc": parse_utc,
        "restated_rows": restated_rows(doc, text, names),
        "incident_lines": incident_lines(doc, names, f.month(month)),
        "reason_text": _reason_text,
        "change_minutes": lambda now, base: _change_minutes(f, now, base),
        "change_rate": lambda now, base: f.points(now - base) if now is not None and base is not None else "–",
    }


def _change_minutes(f: Formatter, now: float | None, base: float | None) -> str:
    if now is None or base is None or base == 0:
        return "–"
    ratio = now / base - 1
    if abs(ratio) < 0.005:
        return "no change"
    return f"{f.percent(abs(ratio))} {'faster' if ratio < 0 else 'slower'}"


def render_html(doc: dict[str, Any]) -> str:
    return environment().get_template("client_report.html.j2").render(template_context(doc))
