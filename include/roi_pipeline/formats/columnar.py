"""Typing a file's records a column at a time: the fast twin of a format's ``parse()``.

A format's :meth:`~roi_pipeline.formats.base.LandingFormat.parse` decides one record at a
time in Python, which is most of ingestion's work. Most files hold only records of the
vendor's usual shape (ids of letters and digits, UTC timestamps ending in ``Z``, numbers
written plainly), and for those the same decisions can be made a column at a time by
Arrow's compute functions, in C++. The helpers here do that conservatively: each accepts
only values whose typed result is certain to be what ``parse()`` gives, and raises
:class:`Unusual` at anything else (a value to quarantine, an offset, a number with a comma,
a mixed column), upon which ingestion parses those records one at a time as before. So a
columnar parse never decides differently from ``parse()``: it only declines to decide
(``tests/unit/test_columnar.py`` holds the two to that on generated records).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


class Unusual(Exception):
    """A value a columnar parse does not vouch for: the records are parsed one at a time."""


#: An id the record-at-a-time path keeps as it is (``str(value).strip()`` changes nothing).
#: (Patterns stay simple: RE2, compiled at each call, took 0.5 ms a call for ``{1,200}``.)
ID_PATTERN = r"^[A-Za-z0-9_.:\-]+$"
#: A UTC instant as the vendors write it, which ``timeutil.parse_instant`` reads with
#: ``datetime.fromisoformat`` of the text before the ``Z``: exactly what Arrow's cast gives.
#: Years 1900-2999 and two-digit fields in range; the calendar (February 30) is the cast's check.
UTC_INSTANT_PATTERN = (
    r"^(19|2[0-9])[0-9][0-9]-[01][0-9]-[0-3][0-9]T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{3}|\.[0-9]{6})?Z$"
)
#: A decimal as text, no sign or exponent: ``float(text)`` and Arrow's cast (both correctly
#: rounded) give the same double. At most :data:`LONGEST_NUMBER` characters; a whole number
#: (digits alone) at most 15, so that ``base.number`` reads it without rounding (below 2**53).
DECIMAL_PATTERN = r"^[0-9]+(\.[0-9]+)?$"
LONGEST_NUMBER = 32
LONGEST_WHOLE = 15
_MAX_EXACT_INT = 2**53

TIMESTAMP = pa.timestamp("us")


#: What an absent or null object-valued field counts as (read, never written).
_EMPTY: dict[str, Any] = {}


def objects(records: Sequence[Any]) -> Sequence[dict[str, Any]]:
    """``records``, when every one is an object without a reader's defect marker; else :class:`Unusual`."""
    if not all(type(record) is dict for record in records):
        raise Unusual("not an object")
    if any("__defect__" in record or "__malformed__" in record for record in records):
        raise Unusual("a reader's defect")
    return records


def values(records: Sequence[dict[str, Any]], key: str) -> list[Any]:
    """Each record's ``key`` (None where absent)."""
    return [record.get(key) for record in records]


def nested(records: Sequence[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Each record's object-valued ``key``; absent or null counts as ``{}``."""
    found = values(records, key)
    if any(value is not None and type(value) is not dict for value in found):
        raise Unusual(f"{key} is not an object")
    return [_EMPTY if value is None else value for value in found]


def _array(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:  # mixed types, an integer beyond 64 bits
        raise Unusual("mixed or out-of-range values") from exc


def _all(mask: pa.Array) -> bool:
    """True when every value of a boolean array is true (a null is not)."""
    return mask.null_count == 0 and (len(mask) == 0 or pc.all(mask).as_py())


def _matching(array: pa.Array, pattern: str) -> None:
    if not _all(pc.fill_null(pc.match_substring_regex(array, pattern), True)):
        raise Unusual(f"a value not matching {pattern}")


def text(values: list[Any], *, required: bool, pattern: str = ID_PATTERN) -> pa.Array:
    """Strings matching ``pattern`` (null where allowed), as they are."""
    array = _array(values)
    if array.type == pa.null():
        if required and len(array):
            raise Unusual("missing")
        return array.cast(pa.string())
    if array.type != pa.string() or (required and array.null_count):
        raise Unusual("not text, or missing")
    _matching(array, pattern)
    return array


def one_of(values: list[Any], allowed: pa.Array, *, default: str | None = None) -> pa.Array:
    """Strings from ``allowed`` exactly as written; null is ``default`` (no default: :class:`Unusual`)."""
    array = _array(values)
    if array.type == pa.null():
        array = array.cast(pa.string())
    elif array.type != pa.string():
        raise Unusual("not text")
    if array.null_count:
        if default is None:
            raise Unusual("missing")
        array = pc.fill_null(array, default)
    if not _all(pc.is_in(array, value_set=allowed)):
        raise Unusual("a value outside the vocabulary")
    return array


def utc_instants(values: list[Any], *, required: bool) -> pa.Array:
    """UTC instants written ``YYYY-MM-DDTHH:MM:SS[.fff|.ffffff]Z`` as naive-UTC timestamps."""
    array = text(values, required=required, pattern=UTC_INSTANT_PATTERN)
    try:
        return pc.cast(pc.utf8_slice_codeunits(array, 0, -1), TIMESTAMP)
    except pa.ArrowInvalid as exc:  # a day the calendar does not have
        raise Unusual("not a date") from exc


def numbers(values: list[Any], *, integer: bool, low: float, high: float) -> pa.Array:
    """Numbers from ``low`` to ``high`` (null where absent): JSON numbers, or text written plainly.

    As ``base.number`` reads them: an integer column takes whole numbers (int64), another
    takes doubles (an integer converted exactly). Floats in an integer column, signs,
    exponents, spaces and non-finite values are :class:`Unusual`.
    """
    if any(value is True or value is False for value in values):  # Arrow reads a boolean after a float as 1.0
        raise Unusual("a boolean")
    array = _array(values)
    target = pa.int64() if integer else pa.float64()
    if array.type == pa.null():
        return array.cast(target)
    if array.type == pa.string():
        if integer:
            plain = pc.and_(pc.ascii_is_decimal(array), pc.less_equal(pc.binary_length(array), LONGEST_WHOLE))
        else:
            plain = pc.and_(
                pc.match_substring_regex(array, DECIMAL_PATTERN), pc.less_equal(pc.binary_length(array), LONGEST_NUMBER)
            )
        if not _all(pc.fill_null(plain, True)):
            raise Unusual("a number not written plainly")
        array = pc.cast(array, target)
    elif array.type == pa.int64():
        exact = pc.and_(pc.greater_equal(array, -_MAX_EXACT_INT), pc.less_equal(array, _MAX_EXACT_INT))
        if not _all(pc.fill_null(exact, True)):
            raise Unusual("an integer a double does not hold exactly")
        array = array.cast(target)
    elif array.type == pa.float64() and not integer:
        if not _all(pc.fill_null(pc.is_finite(array), True)):
            raise Unusual("not finite")
    else:
        raise Unusual("not a number")
    within = pc.and_(pc.greater_equal(array, pa.scalar(low, target)), pc.less_equal(array, pa.scalar(high, target)))
    if not _all(pc.fill_null(within, True)):
        raise Unusual("out of the plausible range")
    return array


def booleans(values: list[Any]) -> pa.Array:
    """JSON booleans as they are; any other value (absent, text, a number) is null."""
    return pa.array([value if value is True or value is False else None for value in values], pa.bool_())


def constant(value: Any, length: int, type_: pa.DataType) -> pa.Array:
    return pa.array([value] * length, type_)


def ordered_within(start: pa.Array, stop: pa.Array, longest: timedelta) -> None:
    """Every ``stop`` at or after its ``start`` and at most ``longest`` later (null stops pass)."""
    span = pc.subtract(stop, start)
    fine = pc.and_(pc.greater_equal(stop, start), pc.less_equal(span, pa.scalar(longest, pa.duration("us"))))
    if not _all(pc.fill_null(fine, True)):
        raise Unusual("stopped before it started, or ran too long")


def not_after(bound: datetime | None, *columns: pa.Array) -> None:
    """Every instant of ``columns`` at or before ``bound`` (nulls pass; no bound: nothing to check)."""
    if bound is None:
        return
    limit = pa.scalar(bound, TIMESTAMP)
    for column in columns:
        if not _all(pc.fill_null(pc.less_equal(column, limit), True)):
            raise Unusual("after the file's bound")


def latest(*columns: pa.Array) -> datetime | None:
    """The latest instant over ``columns`` (None when all are null)."""
    found = [value for value in (pc.max(column).as_py() for column in columns) if value is not None]
    return max(found) if found else None
