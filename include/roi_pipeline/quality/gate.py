"""Run a quality gate for every client of a month: frames -> GX checkpoints -> findings -> warehouse.

- raw gate (:func:`run_raw_gate`): on the raw layer, after ingestion and before the models;
- mart gate (:func:`run_mart_gate`): on the marts, after the models and before any report.

Each suite of the gate is run through its committed GX checkpoint on the client-month's
frame (``batch_parameters={"dataframe": frame}``) with the client-month's values as
expectation parameters (``$PARAMETER``: as-of, the register's workflow ids, ...). A failed
expectation becomes a :class:`~roi_pipeline.quality.results.Finding` whose severity comes
from the expectation's ``meta``. One client's failure (even an exception while building
its frames) never stops the other clients: it is recorded as a blocking ``gate_error``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roi_pipeline.config import ClientConfig
from roi_pipeline.quality.results import Finding, GateResult
from roi_pipeline.quality.suites import BLOCKING, EXPECTATIONS_DIR, INFO, Suite, suites_for
from roi_pipeline.settings import gx_output_dir

#: Unexpected rows quoted in a message / kept in the observed value.
SAMPLE_ROWS = 3
OBSERVED_ROWS = 20


#: Clients per worker process before ``roi check`` spreads a gate over more than one process
#: (:func:`gate_workers`). A spawned worker first imports GX and loads the data context (a few
#: seconds); a client's gate costs one to three seconds, so a second process pays from about ten
#: clients on.
CLIENTS_PER_WORKER = 5


def gate_workers(requested: int | None, clients: int) -> int:
    """Processes for a gate over ``clients`` clients: ``requested`` when given (at most one per
    client), else one per core once there are :data:`CLIENTS_PER_WORKER` clients for each."""
    from roi_pipeline.processes import cores

    if requested is not None:
        return max(1, min(requested, clients))
    return max(1, min(cores(), clients // CLIENTS_PER_WORKER))


def run_raw_gate(
    warehouse: Path,
    clients: Sequence[ClientConfig],
    month: str,
    *,
    context_root: Path | None = None,
    build_docs: bool = True,
    workers: int = 1,
) -> list[GateResult]:
    """Check the raw inputs of every client for ``month`` ('YYYY-MM', the client's zone)."""
    return _run_gate("raw", warehouse, clients, month, context_root, build_docs, workers)


def run_mart_gate(
    warehouse: Path,
    clients: Sequence[ClientConfig],
    month: str,
    *,
    context_root: Path | None = None,
    build_docs: bool = True,
    workers: int = 1,
) -> list[GateResult]:
    """Check the marts of every client for ``month`` before any report is rendered."""
    return _run_gate("mart", warehouse, clients, month, context_root, build_docs, workers)


def load_context(context_root: Path | None = None, output_dir: Path | None = None):
    """The committed GX file data context (never created here: a missing one is an error).

    ``output_dir``: where its validation results (``validations/``) and Data Docs
    (``data_docs/``) go instead of the context's ``uncommitted/`` (the gates pass the folder
    beside the warehouse, :func:`roi_pipeline.settings.gx_output_dir`). The committed
    definitions are read from ``context_root`` either way, and nothing is written there.
    """
    import great_expectations as gx
    import yaml

    root = Path(context_root or EXPECTATIONS_DIR)
    config_file = root / "great_expectations.yml"
    if not config_file.is_file():
        raise FileNotFoundError(
            f"no GX data context at {root} (run `python -m roi_pipeline.quality.suites` to generate it)"
        )
    if output_dir is None:
        return gx.get_context(mode="file", context_root_dir=str(root))
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    out = Path(output_dir).resolve()
    config["stores"][config["validation_results_store_name"]]["store_backend"]["base_directory"] = str(
        out / "validations"
    )
    for site in config.get("data_docs_sites", {}).values():
        site["store_backend"]["base_directory"] = str(out / "data_docs")
    return gx.get_context(mode="file", project_config=config, context_root_dir=str(root))


def _run_gate(
    gate: str,
    warehouse: Path,
    clients: Sequence[ClientConfig],
    month: str,
    context_root: Path | None,
    build_docs: bool,
    workers: int,
) -> list[GateResult]:
    """Check every client, in ``workers`` processes when more than one, then record the results.

    With more than one worker the clients are dealt round-robin (so large and small clients
    mix) and each worker checks its share and builds its Data Docs pages; this process puts
    the results back in the clients' order, writes them to the warehouse in one transaction
    and builds the Data Docs index. The results are the same whatever the number of workers.
    """
    from roi_pipeline.processes import pool_map
    from roi_pipeline.quality.frames import parse_month
    from roi_pipeline.quality.store import write_results

    parse_month(month)  # a bad month is a usage error, not a data defect
    warehouse = Path(warehouse)
    if not warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {warehouse} (run `roi ingest` first)")
    validated_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)  # bookkeeping only
    workers = max(1, min(workers, len(clients)))
    shares = [list(clients[i::workers]) for i in range(workers)]
    jobs = [(gate, warehouse, share, month, context_root, validated_at, build_docs, workers == 1) for share in shares]
    checked: dict[str, tuple[GateResult, list[dict]]] = {}
    identifiers: list = []
    docs_errors: list[str] = []
    for share, (kind, outcome) in zip(
        shares,
        pool_map(_check_clients, jobs, workers, lambda exc: ("crashed", f"{type(exc).__name__}: {exc}")),
        strict=True,
    ):
        if kind == "crashed":  # the worker process died: its clients cannot vouch for their data
            error = f"the gate's worker process died: {outcome}"
            for client in share:
                checked[client.client_id] = _gate_error(gate, client.client_id, month, validated_at, error)
            continue
        share_checked, share_ids, docs_error = outcome
        checked.update(share_checked)
        identifiers.extend(share_ids)
        if docs_error:
            docs_errors.append(docs_error)
    results = [checked[c.client_id][0] for c in clients]
    evaluations = [e for c in clients for e in checked[c.client_id][1]]
    write_results(warehouse, results, evaluations, validated_at)
    if build_docs and identifiers and workers > 1 and not docs_errors:
        # the pages are built; the index lists them (rebuilding one page is GX's way to get there)
        load_context(context_root, gx_output_dir(warehouse)).build_data_docs(
            resource_identifiers=identifiers[-1:], build_index=True
        )
    if docs_errors:
        raise RuntimeError(f"the gate's results are recorded, but its Data Docs failed: {docs_errors[0]}")
    return results


def _check_clients(
    gate: str,
    warehouse: Path,
    clients: Sequence[ClientConfig],
    month: str,
    context_root: Path | None,
    validated_at: datetime,
    build_docs: bool,
    build_index: bool,
) -> tuple[str, tuple[dict[str, tuple[GateResult, list[dict]]], list, str | None]]:
    """One process's share of a gate: each client's result and evaluations, the GX result
    identifiers, and why its Data Docs pages failed (None when they did not)."""
    import duckdb

    from roi_pipeline.quality.frames import mart_frames, raw_frames
    from roi_pipeline.quality.settlement import settlement_finding

    frames_fn = raw_frames if gate == "raw" else mart_frames
    prepared: dict[str, Any] = {}
    settled: dict[str, Any] = {}
    errors: dict[str, str] = {}
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as exc:
        con = None
        errors = {c.client_id: f"cannot open the warehouse {warehouse}: {exc}" for c in clients}
    if con is not None:
        try:
            for client in clients:
                try:
                    prepared[client.client_id] = frames_fn(con, client, month)
                    if gate == "mart":  # only closed months are published (quality/settlement.py)
                        settled[client.client_id] = settlement_finding(con, client, month)
                except Exception as exc:
                    errors[client.client_id] = f"{type(exc).__name__}: {exc}"
        finally:
            con.close()

    context = load_context(context_root, gx_output_dir(warehouse))
    checkpoints = {spec.name: context.checkpoints.get(spec.name) for spec in suites_for(gate)}
    checked: dict[str, tuple[GateResult, list[dict]]] = {}
    identifiers: list = []
    for client in clients:
        if client.client_id in errors:
            checked[client.client_id] = _gate_error(
                gate, client.client_id, month, validated_at, errors[client.client_id]
            )
            continue
        run_id = _run_id(gate, client.client_id, month, validated_at)
        cm = prepared[client.client_id]
        blocking: list[Finding] = []
        warnings: list[Finding] = []
        infos: list[Finding] = []
        evaluations: list[dict] = []
        for spec in suites_for(gate):
            suite_checked, ids = _validate_suite(checkpoints[spec.name], spec, cm, gate, validated_at)
            identifiers.extend(ids)
            for finding, success in suite_checked:
                evaluations.append(_evaluation(run_id, finding, success=success))
                if not success:
                    by_severity = {BLOCKING: blocking, INFO: infos}
                    by_severity.get(finding.severity, warnings).append(finding)
        if settled.get(client.client_id) is not None:
            finding, success = settled[client.client_id]
            evaluations.append(_evaluation(run_id, finding, success=success))
            if not success:
                blocking.append(finding)
        result = GateResult(client.client_id, month, gate, blocking, warnings, len(evaluations), run_id, infos)
        checked[client.client_id] = (result, evaluations)
    docs_error = None
    if build_docs and identifiers:
        try:
            # a set: GX tests every result in its store (every month's) for membership, and on a
            # list that is stored results x this run's results comparisons
            context.build_data_docs(resource_identifiers=set(identifiers), build_index=build_index)  # type: ignore[arg-type]
        except Exception as exc:
            docs_error = f"{type(exc).__name__}: {exc}"
    return "ok", (checked, identifiers, docs_error)


def _run_id(gate: str, client_id: str, month: str, validated_at: datetime) -> str:
    return f"{gate}:{client_id}:{month}:{validated_at.isoformat()}"


def _gate_error(gate: str, client_id: str, month: str, validated_at: datetime, error: str) -> tuple[GateResult, list]:
    """A client whose gate could not run: held, with the error as its one blocking finding."""
    run_id = _run_id(gate, client_id, month, validated_at)
    finding = _finding(client_id, month, gate, "-", "-", "gate_error", BLOCKING, "the gate could not run",
                       {"error": error}, error)  # fmt: skip
    return GateResult(client_id, month, gate, [finding], [], 0, run_id), [_evaluation(run_id, finding, success=False)]


def _validate_suite(
    checkpoint, spec: Suite, cm, gate: str, run_time: datetime
) -> tuple[list[tuple[Finding, bool]], list]:
    """Run one suite's checkpoint on the client-month's frame: every expectation as (finding, success)."""
    from great_expectations.core.run_identifier import RunIdentifier

    outcome = checkpoint.run(
        batch_parameters={"dataframe": cm.frames[spec.name]},
        expectation_parameters=_parameters_for(spec, cm.parameters),
        run_id=RunIdentifier(run_name=f"{gate}-{cm.client_id}-{cm.month}", run_time=run_time),
    )
    checked = []
    for suite_result in outcome.run_results.values():
        for er in suite_result.results:
            checked.append(_read(er, spec, cm.client_id, cm.month, gate))
    return checked, list(outcome.run_results)


def check_frame(
    suite_name: str,
    frame,
    parameters: dict[str, Any] | None = None,
    *,
    client_id: str = "example-client",
    month: str = "2026-01",
    context_root: Path | None = None,
) -> list[Finding]:
    """Validate one frame with one committed suite; the failed expectations as findings.

    For tests and investigation: the gates run the same path for every suite of a gate.
    """
    from roi_pipeline.quality.frames import ClientMonth
    from roi_pipeline.quality.suites import SUITES

    spec = next(s for s in SUITES if s.name == suite_name)
    cm = ClientMonth(client_id, month, {suite_name: frame}, dict(parameters or {}))
    checkpoint = load_context(context_root).checkpoints.get(suite_name)
    checked, _ids = _validate_suite(checkpoint, spec, cm, spec.gate, datetime.now(UTC).replace(tzinfo=None))
    return [finding for finding, success in checked if not success]


def _parameters_for(spec: Suite, parameters: dict[str, Any]) -> dict[str, Any]:
    """Only the ``$PARAMETER`` values the suite's expectations use."""
    used = {
        value["$PARAMETER"]
        for check in spec.checks
        for value in check.kwargs.values()
        if isinstance(value, dict) and "$PARAMETER" in value
    }
    return {k: v for k, v in parameters.items() if k in used}


# --------------------------------------------------------------------------- reading GX results


def _plain(value: Any) -> Any:
    """JSON-friendly, deterministic rendering of an observed value."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value else None
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item") and not hasattr(value, "isoformat"):  # numpy scalar
        return _plain(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    text = str(value)
    if "T" in text and text[:4].isdigit():  # numpy datetime64
        return text.replace("T", " ")
    return text


def _observed(result: dict[str, Any], id_columns: Sequence[str] = ()) -> tuple[dict[str, Any], str]:
    """What GX observed (for the record) and a short phrase for the message.

    GX builds some of these from sets (missing values, the keys of an unexpected row), whose
    order changes from one process to the next: they are put in a fixed order here, so the
    same data always gives the same words.
    """
    if "unexpected_count" in result and result.get("unexpected_count") is not None:
        rows = _plain(result.get("unexpected_index_list") or result.get("partial_unexpected_list") or [])
        rows = [_ordered(r, id_columns) for r in rows]
        count = int(result["unexpected_count"])
        total = result.get("element_count")
        observed = {"unexpected_count": count, "element_count": total, "unexpected": rows[:OBSERVED_ROWS]}
        sample = "; ".join(_row_text(r) for r in rows[:SAMPLE_ROWS])
        phrase = f"{count} of {total} row(s)" + (f", e.g. {sample}" if sample else "")
        return observed, phrase
    if "partial_missing_list" in result:  # expect_column_distinct_values_to_contain_set
        missing = sorted(map(str, _plain(result.get("partial_missing_list") or [])))
        return {"missing": missing}, "missing: " + ", ".join(missing)
    observed_value = _plain(result.get("observed_value"))
    return {"observed_value": observed_value}, f"observed {observed_value}"


def _ordered(row: Any, id_columns: Sequence[str]) -> Any:
    """An unexpected row's fields: the frame's id columns first, then the checked values by name."""
    if not isinstance(row, dict):
        return row
    first = [k for k in id_columns if k in row]
    return {k: row[k] for k in [*first, *sorted(k for k in row if k not in first)]}


def _row_text(row: Any) -> str:
    if isinstance(row, dict):
        return ", ".join(f"{k}={v}" for k, v in row.items())
    return str(row)


def _read(er, spec: Suite, client_id: str, month: str, gate: str) -> tuple[Finding, bool]:
    config = er.expectation_config
    meta = dict(config.meta or {})
    defect = meta.get("defect", config.type)
    severity = meta.get("severity", BLOCKING)
    description = meta.get("description", config.type)
    info = er.exception_info or {}
    raised = bool(info.get("raised_exception")) if isinstance(info, dict) else False
    if raised:  # a check that cannot be evaluated cannot vouch for the data
        observed = {"error": info.get("exception_message")}
        return (
            _finding(
                client_id,
                month,
                gate,
                spec.name,
                config.type,
                defect,
                BLOCKING,
                description,
                observed,
                f"the check could not be evaluated: {info.get('exception_message')}",
            ),
            False,
        )
    observed, phrase = _observed(dict(er.result or {}), spec.id_columns)
    success = bool(er.success)
    return _finding(
        client_id, month, gate, spec.name, config.type, defect, severity, description, observed, phrase, passed=success
    ), success


def _finding(
    client_id: str,
    month: str,
    gate: str,
    suite: str,
    expectation: str,
    defect: str,
    severity: str,
    description: str,
    observed: dict[str, Any],
    phrase: str,
    *,
    passed: bool = False,
) -> Finding:
    from roi_pipeline.quality.store import dumps

    if passed:
        message = f"{client_id} {month}: no {defect} ({gate} gate, {phrase})"
    else:
        message = f"{client_id} {month}: {defect} ({severity}, {gate} gate) - {description}: {phrase}"
    return Finding(client_id, month, gate, suite, expectation, defect, severity, dumps(observed), message)


def _evaluation(run_id: str, finding: Finding, *, success: bool) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "client_id": finding.client_id,
        "month": finding.month,
        "gate": finding.gate,
        "suite": finding.suite,
        "expectation": finding.expectation,
        "defect": finding.defect,
        "severity": finding.severity,
        "success": success,
        "observed": finding.observed,
        "message": finding.message,
    }
