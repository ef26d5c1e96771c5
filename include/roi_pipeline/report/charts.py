"""Hand-written, deterministic SVG charts for the client report (no plotting library).

Each chart is a static ``<svg>`` with ``role="img"``, a ``<title>`` and a ``<desc>``, and
comes with a one-sentence summary and a data table (the text fallback the template puts
beside it). Coordinates are printed with one decimal and every label is escaped, so the
same document always gives the same bytes. A plotting library would add a large dependency
whose SVG output embeds ids, timestamps or font metrics that vary across versions; three
small charts do not justify it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from roi_pipeline.report.fmt import Formatter

WIDTH, HEIGHT = 720, 250
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 18, 44

COLORS = {
    "met": "#0f766e",
    "missed": "#c2410c",
    "build phase": "#9aa5b1",
    "no guarantee": "#3b6ea5",
    "value": "#0f766e",
    "cost": "#7b8794",
    "median": "#3b6ea5",
    "p90": "#9db4d3",
    "baseline": "#c2410c",
    "grid": "#e4e7eb",
    "axis": "#52606d",
    "ink": "#1f2933",
}


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    svg: Markup
    summary: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _f(x: float) -> str:
    text = f"{x:.1f}"
    return "0.0" if text == "-0.0" else text


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        lo, hi = 0.0, 1.0
    if hi <= lo:
        hi = lo + 1.0
    span = hi - lo
    magnitude = 10 ** math.floor(math.log10(span / count))
    step = magnitude
    for multiple in (1, 2, 2.5, 5, 10):
        step = multiple * magnitude
        if span / step <= count:
            break
    start = math.floor(lo / step) * step
    end = math.ceil(hi / step) * step
    n = int(round((end - start) / step))
    return [round(start + i * step, 10) for i in range(n + 1)]


class _Plot:
    """A plot area with a linear y scale and evenly spaced x slots."""

    def __init__(self, n: int, ticks: list[float], left: int = LEFT):
        self.n, self.ticks, self.left = n, ticks, left
        self.lo, self.hi = ticks[0], ticks[-1]
        self.inner_w = WIDTH - left - RIGHT
        self.inner_h = HEIGHT - TOP - BOTTOM

    def x(self, i: int) -> float:
        return self.left + self.inner_w * (i + 0.5) / self.n

    def slot(self) -> float:
        return self.inner_w / self.n

    def y(self, v: float) -> float:
        return TOP + self.inner_h * (1 - (v - self.lo) / (self.hi - self.lo))

    def grid(self, label: Callable[[float], str]) -> list[str]:
        out = []
        for t in self.ticks:
            y = _f(self.y(t))
            stroke = COLORS["axis"] if t == 0 else COLORS["grid"]
            out.append(
                f'<line x1="{self.left}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="{stroke}" stroke-width="1"/>'
            )
            out.append(
                f'<text x="{self.left - 8}" y="{y}" dy="0.32em" text-anchor="end" class="tick">{escape(label(t))}</text>'
            )
        return out

    def months(self, labels: Sequence[str], years: Sequence[str | None]) -> list[str]:
        out = []
        base = HEIGHT - BOTTOM
        for i, (label, year) in enumerate(zip(labels, years, strict=True)):
            x = _f(self.x(i))
            out.append(f'<text x="{x}" y="{base + 16}" text-anchor="middle" class="tick">{escape(label)}</text>')
            if year:
                out.append(
                    f'<text x="{x}" y="{base + 30}" text-anchor="middle" class="tick year">{escape(year)}</text>'
                )
        return out


def _svg(key: str, title: str, desc: str, body: list[str], legend: list[tuple[str, str, str]]) -> Markup:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-labelledby="{key}-title {key}-desc" class="chart">',
        f'<title id="{key}-title">{escape(title)}</title>',
        f'<desc id="{key}-desc">{escape(desc)}</desc>',
        "<style>.tick{font:11px sans-serif;fill:#52606d}.year{font-weight:600}"
        ".val{font:10px sans-serif;fill:#1f2933}.lg{font:11px sans-serif;fill:#1f2933}</style>",
    ]
    parts.extend(body)
    x = LEFT
    for kind, color, label in legend:
        if kind == "line":
            parts.append(f'<line x1="{x}" x2="{x + 18}" y1="8" y2="8" stroke="{color}" stroke-width="2.5"/>')
        elif kind == "dash":
            parts.append(
                f'<line x1="{x}" x2="{x + 18}" y1="8" y2="8" stroke="{color}" stroke-width="2" stroke-dasharray="5 3"/>'
            )
        else:
            parts.append(f'<rect x="{x + 4}" y="3" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{x + 24}" y="8" dy="0.32em" class="lg">{escape(label)}</text>')
        x += 24 + int(len(label) * 6.2) + 18
    parts.append("</svg>")
    return Markup("".join(parts))


def _month_axis(history: list[dict[str, Any]], f: Formatter) -> tuple[list[str], list[str | None]]:
    import datetime as dt

    labels, years = [], []
    for i, h in enumerate(history):
        d = dt.date.fromisoformat(h["month"] + "-01")
        labels.append(f.month_short(d))
        years.append(str(d.year) if i == 0 or d.month == 1 else None)
    return labels, years


def _month_name(h: dict[str, Any], f: Formatter) -> str:
    import datetime as dt

    return f.month(dt.date.fromisoformat(h["month"] + "-01"))


def hours_chart(history: list[dict[str, Any]], f: Formatter) -> Chart:
    key = "chart-hours"
    guarantee = next((h["guarantee_hours"] for h in reversed(history) if h["status"] == "ok"), 0) or 0
    values = [h["hours_saved"] for h in history if h["status"] == "ok"]
    title = "Hours saved per month" + (f" against the {f.hours_whole(guarantee)} guarantee" if guarantee else "")
    columns = ["Month", "Hours saved", "Guarantee", "Verdict"]
    rows = [
        [
            _month_name(h, f),
            f.hours(h.get("hours_saved")) if h["status"] == "ok" else "no data",
            f.hours(h.get("guarantee_hours")) if h["status"] == "ok" and h.get("guarantee_hours") else "–",
            h.get("guarantee_verdict") or "no data",
        ]
        for h in history
    ]
    if not values:
        return Chart(key, title, _empty(key, title), "No data for these months.", columns, rows)
    lo = min(0.0, *values)
    hi = max(values + [guarantee]) * 1.08 if max(values + [guarantee]) > 0 else 1.0
    plot = _Plot(len(history), nice_ticks(lo, hi))
    body = plot.grid(lambda t: f.number(t))
    bar_w = min(plot.slot() * 0.62, 44.0)
    labels: list[str] = []
    for i, h in enumerate(history):
        cx = plot.x(i)
        if h["status"] != "ok":
            body.append(f'<text x="{_f(cx)}" y="{_f(plot.y(0) - 6)}" text-anchor="middle" class="tick">no data</text>')
            continue
        v = h["hours_saved"]
        y0, y1 = sorted((plot.y(0), plot.y(v)))
        color = COLORS.get(h["guarantee_verdict"], COLORS["no guarantee"])
        body.append(
            f'<rect x="{_f(cx - bar_w / 2)}" y="{_f(y0)}" width="{_f(bar_w)}" height="{_f(max(y1 - y0, 0.5))}" fill="{color}"/>'
        )
        label_y = plot.y(v) - 5 if v >= 0 else plot.y(v) + 12
        text = f.number(v, 1)
        width = len(text) * 6.0 + 4  # a white backing keeps the label readable over the guarantee line
        labels.append(
            f'<rect x="{_f(cx - width / 2)}" y="{_f(label_y - 9)}" width="{_f(width)}" height="11" fill="#ffffff"/>'
        )
        labels.append(f'<text x="{_f(cx)}" y="{_f(label_y)}" text-anchor="middle" class="val">{escape(text)}</text>')
    if guarantee:
        gy = _f(plot.y(guarantee))
        body.append(
            f'<line x1="{plot.left}" x2="{WIDTH - RIGHT}" y1="{gy}" y2="{gy}" stroke="{COLORS["ink"]}" '
            'stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
    body += labels
    body += plot.months(*_month_axis(history, f))
    legend = [
        ("box", COLORS["met"], "met"),
        ("box", COLORS["missed"], "missed"),
        ("box", COLORS["build phase"], "build phase"),
    ]
    if guarantee:
        legend.append(("dash", COLORS["ink"], f"guarantee {f.hours_whole(guarantee)}"))
    else:
        legend = [("box", COLORS["no guarantee"], "hours saved"), ("box", COLORS["build phase"], "build phase")]
    judged = [h for h in history if h["status"] == "ok" and h["guarantee_verdict"] in ("met", "missed")]
    met = sum(1 for h in judged if h["guarantee_verdict"] == "met")
    latest = f"{f.hours(values[-1])} in {_month_name(history[-1], f)}" if history[-1]["status"] == "ok" else None
    if guarantee and judged:
        summary = (
            f"The {f.hours_whole(guarantee)} guarantee was met in {met} of the {len(judged)} judged "
            f"month{'' if len(judged) == 1 else 's'} shown" + (f"; {latest}." if latest else ".")
        )
    elif all(h.get("guarantee_verdict") == "build phase" for h in history if h["status"] == "ok"):
        summary = "Build phase: no month has been judged against the guarantee yet" + (
            f"; {latest}." if latest else "."
        )
    else:
        summary = f"Hours saved ranged from {f.hours(min(values))} to {f.hours(max(values))} over the months shown."
    return Chart(key, title, _svg(key, title, summary, body, legend), summary, columns, rows)


def payback_chart(history: list[dict[str, Any]], f: Formatter, build_fee: float) -> Chart:
    key = "chart-payback"
    title = "Cumulative value against cumulative cost (build fee included)"
    ok = [h for h in history if h["status"] == "ok"]
    columns = ["Month", "Cumulative value", "Cumulative cost incl. build fee", "Difference"]
    rows = [
        [
            _month_name(h, f),
            f.money(h["cumulative_value"]),
            f.money(h["cumulative_cost_with_build_fee"]),
            f.money(h["cumulative_value"] - h["cumulative_cost_with_build_fee"], signed=True),
        ]
        if h["status"] == "ok"
        else [_month_name(h, f), "no data", "no data", "–"]
        for h in history
    ]
    if not ok:
        return Chart(key, title, _empty(key, title), "No data for these months.", columns, rows)
    values = [v for h in ok for v in (h["cumulative_value"], h["cumulative_cost_with_build_fee"])]
    plot = _Plot(len(history), nice_ticks(min(0.0, *values), max(values) * 1.05 or 1.0), left=LEFT + 10)
    # The axis ticks are scale marks, not figures: whole units. Every figure shows its cents.
    body = plot.grid(lambda t: f.money(t, cents=False))
    for series, color in (("cumulative_cost_with_build_fee", COLORS["cost"]), ("cumulative_value", COLORS["value"])):
        points = [(plot.x(i), plot.y(h[series])) for i, h in enumerate(history) if h["status"] == "ok"]
        body.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2.5" points="'
            + " ".join(f"{_f(x)},{_f(y)}" for x, y in points)
            + '"/>'
        )
        for x, y in points:
            body.append(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="3" fill="{color}"/>')
    last = ok[-1]
    gap = last["cumulative_value"] - last["cumulative_cost_with_build_fee"]
    body += plot.months(*_month_axis(history, f))
    legend = [("line", COLORS["value"], "cumulative value"), ("line", COLORS["cost"], "cumulative cost + build fee")]
    if gap >= 0:
        summary = (
            f"Cumulative value ({f.money(last['cumulative_value'])}) is above cumulative cost "
            f"including the build fee ({f.money(last['cumulative_cost_with_build_fee'])}): "
            "the engagement has paid back."
        )
    else:
        summary = (
            f"Cumulative value ({f.money(last['cumulative_value'])}) is "
            f"{f.money(-gap)} below cumulative cost including the "
            f"{f.money(build_fee)} build fee "
            f"({f.money(last['cumulative_cost_with_build_fee'])})."
        )
    return Chart(key, title, _svg(key, title, summary, body, legend), summary, columns, rows)


def response_chart(history: list[dict[str, Any]], f: Formatter, kpis: dict[str, Any] | None) -> Chart:
    key = "chart-response"
    title = "Lead response time (median and 90th percentile)"
    columns = ["Month", "Leads", "Median", "90th percentile"]
    rows = [
        [
            _month_name(h, f) + (" (provisional)" if h.get("is_response_provisional") else ""),
            f.number(h.get("leads_created")) if h["status"] == "ok" else "no data",
            f.minutes(h.get("response_minutes_median")),
            f.minutes(h.get("response_minutes_p90")),
        ]
        for h in history
    ]
    medians = [h.get("response_minutes_median") for h in history if h["status"] == "ok"]
    p90s = [h.get("response_minutes_p90") for h in history if h["status"] == "ok"]
    present = [v for v in medians + p90s if v is not None]
    base_median = (kpis or {}).get("baseline_response_minutes_median")
    if not present:
        return Chart(
            key, title, _empty(key, title, "no lead data"), "No answered leads in these months.", columns, rows
        )
    hi_minutes = max(present + ([base_median] if base_median is not None else []))
    unit = 60.0 if hi_minutes > 180 else 1.0
    ticks = nice_ticks(0.0, hi_minutes / unit * 1.08)
    plot = _Plot(len(history), [t * unit for t in ticks])
    body = plot.grid(
        lambda t: (
            f.number(t / unit, 0 if unit == 1 or (t / unit).is_integer() else 1) + (" h" if unit == 60 else " min")
        )
    )
    if base_median is not None:
        by = _f(plot.y(base_median))
        body.append(
            f'<line x1="{plot.left}" x2="{WIDTH - RIGHT}" y1="{by}" y2="{by}" stroke="{COLORS["baseline"]}" '
            'stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
    lines: list[str] = []
    dots: list[str] = []
    for series, color, width in (
        ("response_minutes_p90", COLORS["p90"], 2),
        ("response_minutes_median", COLORS["median"], 2.5),
    ):
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, h in enumerate(history):
            v = h.get(series) if h["status"] == "ok" else None
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            x, y = plot.x(i), plot.y(v)
            segment.append(f"{_f(x)},{_f(y)}")
            fill = "#ffffff" if h.get("is_response_provisional") else color
            dots.append(
                f'<circle cx="{_f(x)}" cy="{_f(y)}" r="3.2" fill="{fill}" stroke="{color}" stroke-width="1.5"/>'
            )
        if segment:
            segments.append(segment)
        for seg in segments:
            lines.append(f'<polyline fill="none" stroke="{color}" stroke-width="{width}" points="{" ".join(seg)}"/>')
    body += lines + dots
    body += plot.months(*_month_axis(history, f))
    legend = [("line", COLORS["median"], "median"), ("line", COLORS["p90"], "90th percentile")]
    if base_median is not None:
        legend.append(("dash", COLORS["baseline"], "median before automation"))
    latest = next(
        (h for h in reversed(history) if h["status"] == "ok" and h.get("response_minutes_median") is not None), None
    )
    if latest is not None and base_median is not None:
        summary = (
            f"Median response time was {f.minutes(latest['response_minutes_median'])} in "
            f"{_month_name(latest, f)}, against {f.minutes(base_median)} before automation."
        )
    elif latest is not None:
        summary = (
            f"Median response time was {f.minutes(latest['response_minutes_median'])} in {_month_name(latest, f)}."
        )
    else:
        summary = "No answered leads in these months."
    return Chart(key, title, _svg(key, title, summary, body, legend), summary, columns, rows)


def _empty(key: str, title: str, text: str = "no data") -> Markup:
    body = [f'<text x="{WIDTH / 2:.1f}" y="{HEIGHT / 2:.1f}" text-anchor="middle" class="lg">{escape(text)}</text>']
    return _svg(key, title, text, body, [])


def client_charts(doc: dict[str, Any], f: Formatter) -> list[Chart]:
    history = doc["history"]
    build_fee = (doc.get("headline") or {}).get("payback", {}).get("build_fee") or 0.0
    return [hours_chart(history, f), payback_chart(history, f, build_fee), response_chart(history, f, doc.get("kpis"))]
