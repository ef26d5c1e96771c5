"""Money as a reader should see it, computed here and not by the report's formatter (fmt.py).

docs/method.md: figures are stored unrounded and "money is shown to the cent". A test takes
an unrounded value from report.json or portfolio.json, rounds it to cents itself and looks for
the text in the page: a figure shown in whole units ("£24,731") is not found.
"""

from __future__ import annotations

import html as html_module
import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

# locale -> (symbol before the amount, thousands separator, decimal separator, symbol after)
_STYLES = {
    ("en_GB", "GBP"): ("£", ",", ".", ""),
    ("en_GB", "EUR"): ("€", ",", ".", ""),
    ("en_GB", "USD"): ("US$", ",", ".", ""),
    ("en_GB", "AUD"): ("A$", ",", ".", ""),
    ("en_US", "USD"): ("$", ",", ".", ""),
    ("en_AU", "AUD"): ("A$", ",", ".", ""),
    ("de_DE", "EUR"): ("", ".", ",", "\xa0€"),
}


def to_cents(value: float, locale: str, currency: str, *, signed: bool = False) -> set[str]:
    """The texts ``value`` may be shown as, to the cent: one, or two when it lies on a half cent
    (the rounding of a tie is not what these tests are about)."""
    before, thousands, point, after = _STYLES[(locale, currency)]
    texts = set()
    for mode in (ROUND_HALF_EVEN, ROUND_HALF_UP):
        cents = Decimal(repr(value)).quantize(Decimal("0.01"), rounding=mode)
        digits = f"{abs(cents):,.2f}".replace(",", "_").replace(".", point).replace("_", thousands)
        sign = "-" if cents < 0 else ("+" if signed and cents > 0 else "")
        texts.add(f"{sign}{before}{digits}{after}")
    return texts


def page_text(html: str) -> str:
    """The words of an HTML page as a reader sees them: each tag made a space, entities decoded,
    runs of white space made one space (non-breaking spaces kept)."""
    text = html_module.unescape(re.sub(r"<[^>]+>", " ", html))
    return re.sub(r"[ \t\r\n]+", " ", text)


def shown(html_text: str, template: str, **values: set[str]) -> bool:
    """Whether ``template`` ("net {net} against {fee}") appears with any of each value's texts."""
    pattern = re.escape(template)
    for name, texts in values.items():
        alternatives = "|".join(re.escape(t) for t in sorted(texts))
        pattern = pattern.replace(re.escape("{" + name + "}"), f"(?:{alternatives})")
    return re.search(pattern, html_text) is not None
