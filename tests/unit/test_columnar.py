"""The columnar parse (formats/columnar.py) held to the record-at-a-time parse it stands in for.

A format's ``parse_columns`` may decline a file (``Unusual``: its records are then parsed one
at a time), but when it gives columns they must be exactly what ``parse()`` gives, value for
value and typed as ingestion types ``parse()``'s rows (raw_batches), and it must never give
columns for a file in which ``parse()`` would quarantine a record. Checked on n8n executions
generated with every kind of value each field can hold: the vendor's usual spellings, and
the ones that must be quarantined or typed with care (offsets, naive times in a DST gap,
numbers as text with signs, commas, exponents or spaces, values beyond the caps, a cost in
another currency, objects that are not objects).

The example client (examples/clients/northwind-dental.yaml) is the context: GBP, Europe/London.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from roi_pipeline.config import load_client_file
from roi_pipeline.formats import ParseContext, Rejected
from roi_pipeline.formats.base import NonFinite
from roi_pipeline.formats.columnar import Unusual
from roi_pipeline.formats.runs import N8nExecutions
from roi_pipeline.ingest import RECORD
from roi_pipeline.raw_batches import ARROW_TYPES, arrow_table

REPO = Path(__file__).resolve().parents[2]
MISSING = object()  # the key is absent from the record

USUAL_IDS = ["4711", "90210", "exec-1.2:3", "AbC_9"]
ODD_IDS = [" 4711", "4711 ", "", "   ", None, 4711, 47.5, True, ["1"], {"a": 1}, "a b", "é1", MISSING]
STATUSES = ["success", "error", "crashed", "canceled", "waiting", "running", "new", "unknown"]
ODD_STATUSES = ["Success", " success", "", None, MISSING, "bogus", 1, True]
MODES = ["trigger", "webhook", "retry", "manual", "integrated", "error", "chat"]
ODD_MODES = ["Trigger", " webhook", "", None, MISSING, "bogus", 3]
START = datetime(2026, 3, 10, 9, 15, 30, 250000)
USUAL_STARTS = ["2026-03-10T09:15:30.250Z", "2026-03-10T09:15:30Z", "2026-03-10T09:15:30.250000Z"]
ODD_STARTS = [
    "2026-03-10T09:15:30.25Z",  # two fraction digits
    "2026-03-10T09:15:30.2500001Z",
    "2026-03-10T09:15:30+01:00",
    "2026-03-10T09:15:30.250+00:00",
    "2026-03-10T09:15:30",  # naive: the client's zone
    "2026-03-29T01:30:00",  # naive, in London's spring-forward gap
    "2026-10-25T01:30:00",  # naive, in London's autumn overlap
    "2026-02-30T09:00:00.000Z",
    "2026-03-10 09:15:30Z",
    "2026-03-10T09:15:30z",
    "2026-03-10T24:00:00Z",
    "2026-03-10T23:59:60Z",
    "0001-01-01T00:00:00Z",
    "1899-12-31T23:59:59Z",
    "2099-01-01T00:00:00.000Z",  # the future
    " 2026-03-10T09:15:30Z",
    1773134130000,
    "",
    None,
    MISSING,
]
#: stoppedAt after startedAt (2026-03-10T09:15:30.250Z): inside and outside the longest run, and before it
STOP_OFFSETS = [
    timedelta(0),
    timedelta(seconds=4, milliseconds=500),
    timedelta(days=31),
    timedelta(days=31, milliseconds=1),
]
ODD_STOPS = [timedelta(milliseconds=-1), "2026-03-10T10:15:30+01:00", "", None, MISSING, "later"]
USUAL_NUMBERS = ["0", "12", "00012", "100000", 12, 0, None, MISSING]
ODD_NUMBERS = [
    "100001",
    "-1",
    "1.5",
    "12.0",
    " 12",
    "1e3",
    "1,5",
    "١٢",
    12.0,
    1.5,
    -3,
    True,
    2**63,
    9007199254740993,
    "9007199254740993",
    "",
    "x",
    NonFinite("nan"),
]
USUAL_COSTS = ["0.0123", "10000", "0", "3.14159265358979311599796346854", 0.5, 2, 10000.0, None, MISSING]
ODD_COSTS = ["10000.01", "-0.5", "1,5", "1e-3", " 0.1", "", ".5", "5.", -0.0, 1e300, NonFinite("inf"), "NaN", True]
USUAL_CURRENCIES = ["GBP", None, MISSING]
ODD_CURRENCIES = ["gbp", " GBP", "USD", "", 1]


def _pick(rng: random.Random, usual: list, odd: list, odd_share: float) -> object:
    return rng.choice(odd if rng.random() < odd_share else usual)


def _stop(value: object) -> object:
    if isinstance(value, timedelta):
        moment = START + value
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return value


def _execution(rng: random.Random, odd_share: float) -> object:
    if rng.random() < odd_share / 20:
        return rng.choice([["not", "an", "object"], "text", 7, None, {"__defect__": "a reader's defect"}])
    record: dict[str, object] = {
        "id": _pick(rng, USUAL_IDS, ODD_IDS, odd_share),
        "workflowId": _pick(rng, USUAL_IDS, ODD_IDS, odd_share),
        "status": _pick(rng, STATUSES, ODD_STATUSES, odd_share),
        "mode": _pick(rng, MODES, ODD_MODES, odd_share),
        "finished": rng.choice([True, False, None, "true", 1, MISSING]),
        "startedAt": _pick(rng, USUAL_STARTS, ODD_STARTS, odd_share),
        "stoppedAt": _stop(_pick(rng, STOP_OFFSETS, ODD_STOPS, odd_share)),
        "retryOf": _pick(rng, [None, "4711", MISSING], [" 4711", "", 5], odd_share),
        "retrySuccessId": _pick(rng, [None, "4712", MISSING], ["", 6, "a b"], odd_share),
        "waitTill": rng.choice([None, "2026-03-11T00:00:00.000Z", MISSING]),
    }
    custom_kind = rng.random()
    if custom_kind < odd_share / 4:
        record["customData"] = rng.choice([[], "text", 3, True])
    elif custom_kind < 0.3:
        record["customData"] = rng.choice([None, MISSING, {}])
    else:
        record["customData"] = {
            "items": _pick(rng, USUAL_NUMBERS, ODD_NUMBERS, odd_share),
            "llm_tokens": _pick(rng, USUAL_NUMBERS, ODD_NUMBERS, odd_share),
            "llm_cost": _pick(rng, USUAL_COSTS, ODD_COSTS, odd_share),
            "cost_currency": _pick(rng, USUAL_CURRENCIES, ODD_CURRENCIES, odd_share),
            "note": "kept in _record only",
        }
        record["customData"] = {k: v for k, v in record["customData"].items() if v is not MISSING}
    return {k: v for k, v in record.items() if v is not MISSING}


@pytest.fixture(scope="module")
def client():
    return load_client_file(REPO / "examples" / "clients" / "northwind-dental.yaml")


def _contexts(client) -> list[ParseContext]:
    at = "northwind-dental/n8n_executions/page.json"
    return [
        ParseContext(client=client, source_file=at, ingested_at=datetime(2026, 4, 10)),
        ParseContext(
            client=client, source_file=at, extracted_at=datetime(2026, 4, 1), ingested_at=datetime(2026, 4, 10)
        ),
        # an extraction time inside the records' span: some are after it
        ParseContext(client=client, source_file=at, extracted_at=START + timedelta(seconds=2)),
        ParseContext(client=client, source_file=at),  # parsing outside ingestion: no bound
    ]


def _one_at_a_time(fmt, records, ctx) -> list[dict] | None:
    """parse()'s rows, or None when it quarantines any record."""
    rows = []
    for record in records:
        try:
            rows.append(fmt.parse(record, ctx).row)
        except Rejected:
            return None
    return rows


def _typed_as_ingestion_types(fmt, rows: list[dict]) -> dict[str, pa.Array]:
    """parse()'s rows as the raw table's Arrow columns, as ingestion types them (raw_batches.arrow_table)."""
    table = arrow_table((*fmt.columns, RECORD), rows)
    return {name: table.column(name).combine_chunks() for name in table.column_names}


def _compare(fmt, records, ctx) -> str:
    """'columns' / 'declined'; fails where the columnar parse differs from parse()."""
    expected_rows = _one_at_a_time(fmt, records, ctx)
    try:
        columns = fmt.parse_columns(records, ctx)
    except Unusual:
        return "declined"
    assert expected_rows is not None, f"columns given for records parse() quarantines: {records}"
    expected = _typed_as_ingestion_types(fmt, expected_rows)
    assert sorted(columns) == sorted(expected)
    for name, array in expected.items():
        assert columns[name].type == array.type, (name, columns[name].type, array.type)
        assert columns[name].to_pylist() == array.to_pylist(), (name, records)
    return "columns"


def test_n8n_columns_are_parse_s_rows_or_declined(client):
    rng = random.Random(20261206)
    outcomes = {"columns": 0, "declined": 0}
    for ctx in _contexts(client):
        for odd_share in (0.0, 0.02, 0.3):
            for size in (1, 1, 1, 4, 25):
                for _ in range(60 if size == 1 else 20):
                    fmt = N8nExecutions()
                    records = [_execution(rng, odd_share) for _ in range(size)]
                    outcomes[_compare(fmt, records, ctx)] += 1
    # both ways taken: the check is not vacuous, and the usual shape goes the fast way
    assert outcomes["columns"] > 300, outcomes
    assert outcomes["declined"] > 300, outcomes


def test_each_odd_value_alone_is_parsed_as_parse_parses_it(client):
    """One usual record with one field changed to each odd value: the pairs a random draw may miss."""
    ctx = _contexts(client)[0]
    usual = {
        "id": "4711",
        "workflowId": "AbC_9",
        "status": "success",
        "mode": "trigger",
        "finished": True,
        "startedAt": "2026-03-10T09:15:30.250Z",
        "stoppedAt": "2026-03-10T09:15:34.750Z",
        "customData": {"items": "12", "llm_tokens": "1500", "llm_cost": "0.0123", "cost_currency": "GBP"},
    }
    assert _compare(N8nExecutions(), [usual], ctx) == "columns"
    changes = [
        *(("id", v) for v in ODD_IDS),
        *(("workflowId", v) for v in ODD_IDS),
        *(("status", v) for v in ODD_STATUSES),
        *(("mode", v) for v in ODD_MODES),
        *(("startedAt", v) for v in ODD_STARTS),
        *(("stoppedAt", _stop(v)) for v in ODD_STOPS),
        *(("customData", v) for v in ([], "text", 3, None, {})),
        *(("customData.items", v) for v in ODD_NUMBERS),
        *(("customData.llm_tokens", v) for v in ODD_NUMBERS),
        *(("customData.llm_cost", v) for v in ODD_COSTS),
        *(("customData.cost_currency", v) for v in ODD_CURRENCIES),
    ]
    for field, value in changes:
        record = {**usual, "customData": dict(usual["customData"])}
        target, key = (record["customData"], field.split(".")[1]) if "." in field else (record, field)
        if value is MISSING:
            target.pop(key, None)
        else:
            target[key] = value
        for ctx_ in _contexts(client):
            _compare(N8nExecutions(), [usual, record], ctx_)


def test_an_empty_file_gives_empty_columns(client):
    columns = N8nExecutions().parse_columns([], _contexts(client)[0])
    expected = {column.name: ARROW_TYPES[column.type] for column in (*N8nExecutions.columns, RECORD)}
    assert {name: array.type for name, array in columns.items()} == expected
    assert all(len(array) == 0 for array in columns.values())


@pytest.mark.parametrize("first", [0.5, 2.0, 0.0])
@pytest.mark.parametrize("then", [True, False])
def test_a_boolean_after_a_float_is_not_read_as_a_number(client, first, then):
    """Arrow reads ``[0.5, True]`` as the doubles 0.5 and 1.0 (other mixes of a number and a
    boolean it refuses, or reads as booleans); parse() rejects a boolean cost."""
    field = "llm_cost"
    ctx = _contexts(client)[0]
    records = [
        {
            "id": str(n),
            "workflowId": "AbC_9",
            "status": "success",
            "mode": "trigger",
            "startedAt": "2026-03-10T09:15:30.250Z",
            "customData": {field: value},
        }
        for n, value in enumerate([first, then])
    ]
    assert _compare(N8nExecutions(), records, ctx) == "declined"
