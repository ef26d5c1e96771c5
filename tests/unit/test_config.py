"""Client configuration: the schema accepts the documented examples and names every problem."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from roi_pipeline.config import (
    ConfigFileError,
    Effective,
    load_client_file,
    load_clients,
    normalise_process,
    value_for_month,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "clients"


def example() -> dict:
    return yaml.safe_load((EXAMPLES / "northwind-dental.yaml").read_text())


def write(tmp_path: Path, data: dict | str, name: str = "northwind-dental") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def errors_of(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(ConfigFileError) as info:
        load_client_file(path)
    for err in info.value.errors:
        assert err.path == path
        assert str(path) in str(err)
    return [(e.field, e.message) for e in info.value.errors]


def test_every_example_client_file_validates():
    result = load_clients(EXAMPLES)
    assert result.errors == []
    assert len(result.clients) >= 1
    ids = {c.client_id for c in result.clients}
    assert "northwind-dental" in ids


def test_examples_cover_each_documented_feature():
    clients = load_clients(EXAMPLES).clients
    workflows = [w for c in clients for w in c.workflows]
    assert {w.baseline.method for w in workflows} == {"measured", "declared"}
    assert any(w.status == "retired" and w.retired_on for w in workflows)
    assert any(len(c.monthly_fee) > 1 for c in clients), "an effective-dated fee change"
    assert any(w.hourly_cost_override for w in workflows)
    volumes = [w.baseline.volume for w in workflows if w.baseline.volume]
    assert any(v.filters for v in volumes) and any(v.timestamp_property for v in volumes)
    assert any(w.baseline.window_days for w in workflows)
    assert any(w.on_demand for w in workflows)
    assert any(w.data_touched and w.llm_model and w.last_review for w in workflows), "governance fields"
    assert any(c.workflow_key for cl in clients for c in cl.candidates), "a candidate that went live"
    assert any(c.ignored_workflow_ids for c in clients)


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [
        (lambda d: d.update(timezone="Europe/Londres"), "timezone", "unknown IANA time zone"),
        # Python's zoneinfo loads the host's "localtime" file; DuckDB / PostgreSQL reject it
        (lambda d: d.update(timezone="localtime"), "timezone", "not an IANA zone the warehouse knows"),
        (lambda d: d.update(currency="GBX"), "currency", "unknown ISO 4217 currency"),
        (lambda d: d.update(currency="gbp"), "currency", "pattern"),
        (lambda d: d.update(locale="xx_YY"), "locale", "unknown locale"),
        (lambda d: d.pop("name"), "name", "required field is missing"),
        (lambda d: d.update(guarantee_hours=-5), "guarantee_hours", "greater than or equal to 0"),
        (lambda d: d.update(baseline_days=14), "baseline_days", "greater than or equal to 28"),
        (lambda d: d.update(engagement_start="2025-02-30"), "engagement_start", "date"),
        (lambda d: d.update(gurantee_hours=40), "gurantee_hours", "unknown field"),
        (
            lambda d: d["workflows"][0].update(go_live_date="2025-01-01"),
            "workflows[0] (lead-triage).go_live_date",
            "unknown field",
        ),
        (
            lambda d: d["workflows"][0].update(risk_class="extreme"),
            "workflows[0] (lead-triage).risk_class",
            "'low', 'medium' or 'high'",
        ),
        (
            lambda d: d["workflows"][1].update(platform="ifttt"),
            "workflows[1] (invoice-chasing).platform",
            "Input should be",
        ),
        (
            lambda d: d["workflows"][0].update(platform_workflow_ids=[]),
            "workflows[0] (lead-triage).platform_workflow_ids",
            "at least 1",
        ),
        (lambda d: d["workflows"][0].update(key="Lead Triage"), "workflows[0] (Lead Triage).key", "pattern"),
        (lambda d: d["monthly_fee"][0].update(value=-1), "monthly_fee[0].value", "greater than or equal to 0"),
    ],
)
def test_each_kind_of_bad_field_is_named(tmp_path, mutate, field, fragment):
    data = example()
    mutate(data)
    errors = errors_of(write(tmp_path, data))
    assert any(f == field and fragment in m for f, m in errors), errors


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        # effective-dated values must cover their anchor date
        (
            lambda d: d["monthly_fee"].__setitem__(0, {"effective_from": "2025-09-01", "value": 2500}),
            "monthly_fee: no value in effect on 2025-08-01",
        ),
        (
            lambda d: d["hourly_cost"].append({"effective_from": "2025-08-01", "value": 40}),
            "hourly_cost: two entries take effect on the same date",
        ),
        (
            lambda d: d["workflows"][0].update(tooling_cost=[{"effective_from": "2025-12-01", "value": 45}]),
            "tooling_cost: no value in effect on 2025-11-10",
        ),
        (
            lambda d: d["workflows"][1]["baseline"].update(
                declared_minutes=[{"effective_from": "2026-01-01", "value": 4}]
            ),
            "baseline.declared_minutes: no value in effect on 2025-12-01",
        ),
        # baseline method needs its inputs
        (lambda d: d["workflows"][0]["baseline"].pop("volume"), "a measured baseline needs a volume source"),
        (lambda d: d["workflows"][1]["baseline"].pop("declared_minutes"), "a declared baseline needs declared_minutes"),
        # retirement
        (lambda d: d["workflows"][2].pop("retired_on"), "status is 'retired' but retired_on is not set"),
        (lambda d: d["workflows"][2].update(retired_on="2025-10-01"), "retired_on must be after go_live"),
        (lambda d: d["workflows"][0].update(retired_on="2026-10-01"), "retired_on is set but status is 'active'"),
        # register consistency
        (lambda d: d["workflows"][1].update(key="lead-triage"), "'lead-triage' is already the key of workflows[0]"),
        (
            lambda d: d["workflows"][1].update(platform="n8n", platform_workflow_ids=["1012"]),
            "is claimed by both 'lead-triage' and 'invoice-chasing'",
        ),
        (lambda d: d["workflows"][1].update(process=" LEAD   triage "), "both replace process"),
        # an id is either registered or ignored
        (lambda d: d.update(ignored_workflow_ids=["1012"]), "'1012' is registered to 'lead-triage'"),
        (lambda d: d.update(ignored_workflow_ids=["x1", "x1"]), "ignored_workflow_ids: lists the same id twice: 'x1'"),
        (lambda d: d["workflows"][0].update(on_demand=True), "cannot both run daily (runs_daily) and on demand"),
        # governance and roadmap (docs/method.md section 8)
        (lambda d: d["workflows"][0].update(paused_on="2026-03-01"), "paused_on is set but status is 'active'"),
        (
            lambda d: d["workflows"][0].update(status="paused", paused_on="2025-01-01"),
            "paused_on must be on or after go_live",
        ),
        (
            lambda d: d["workflows"][0].update(data_touched=["email", "email"]),
            "data_touched: lists the same kind of data twice: 'email'",
        ),
        (lambda d: d["candidates"][0].update(workflow_key="no-such-flow"), "no workflow with key 'no-such-flow'"),
        (lambda d: d["candidates"][0].update(key="invoice-chasing"), "already the key of candidates[0]"),
        (
            lambda d: d["candidates"][0].update(workflow_key="invoice-chasing"),
            "workflow 'invoice-chasing' is already the outcome of candidates[0]",
        ),
    ],
)
def test_business_rules_reject_with_a_reason(tmp_path, mutate, fragment):
    data = example()
    mutate(data)
    errors = errors_of(write(tmp_path, data))
    assert any(fragment in f"{f}: {m}" for f, m in errors), errors
    assert all(f for f, _m in errors), f"every broken rule names its field: {errors}"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["monthly_fee"].__setitem__(0, {"effective_from": "2025-09-01", "value": 2500}), "monthly_fee"),
        (lambda d: d["hourly_cost"].append({"effective_from": "2025-08-01", "value": 40}), "hourly_cost"),
        (lambda d: d["workflows"][1].update(key="lead-triage"), "workflows[1] (lead-triage).key"),
        (
            lambda d: d["workflows"][1].update(platform="n8n", platform_workflow_ids=["1012"]),
            "workflows[1] (invoice-chasing).platform_workflow_ids",
        ),
        (lambda d: d["workflows"][1].update(process=" LEAD   triage "), "workflows[1] (invoice-chasing).process"),
        (lambda d: d.update(ignored_workflow_ids=["1012"]), "ignored_workflow_ids"),
        (lambda d: d["workflows"][2].pop("retired_on"), "workflows[2] (recall-reminders).retired_on"),
        (lambda d: d["workflows"][0].update(retired_on="2026-10-01"), "workflows[0] (lead-triage).status"),
        (
            lambda d: d["workflows"][0]["baseline"].pop("volume"),
            "workflows[0] (lead-triage).baseline.volume",
        ),
        (
            lambda d: d["workflows"][1]["baseline"].update(
                declared_minutes=[{"effective_from": "2026-01-01", "value": 4}]
            ),
            "workflows[1] (invoice-chasing).baseline.declared_minutes",
        ),
    ],
)
def test_a_broken_rule_names_the_field_it_is_about(tmp_path, mutate, field):
    data = example()
    mutate(data)
    path = write(tmp_path, data)
    errors = errors_of(path)
    assert [f for f, _m in errors] == [field], errors
    with pytest.raises(ConfigFileError) as info:
        load_client_file(path)
    assert re.search(rf"{re.escape(str(path))}: line \d+: field {re.escape(field)}: ", str(info.value))


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["workflows"][0].update(human_approval="maybe"), "workflows[0] (lead-triage).human_approval"),
        (lambda d: d["workflows"][0].update(review_every_months=0), "workflows[0] (lead-triage).review_every_months"),
        (
            lambda d: d["candidates"][0].update(est_build_hours=-1),
            "candidates[0] (recall-reminders-v2).est_build_hours",
        ),
        (
            lambda d: d["candidates"][0].pop("est_tasks_per_month"),
            "candidates[0] (recall-reminders-v2).est_tasks_per_month",
        ),
        (
            lambda d: d["candidates"][0].update(est_tooling_costs=5),
            "candidates[0] (recall-reminders-v2).est_tooling_costs",
        ),
    ],
)
def test_bad_governance_and_roadmap_fields_are_named(tmp_path, mutate, field):
    data = example()
    mutate(data)
    assert [f for f, _m in errors_of(write(tmp_path, data))] == [field]


def test_governance_fields_are_optional_and_default_to_not_stated(tmp_path):
    data = example()
    data.pop("candidates")
    for wf in data["workflows"]:
        for name in ("data_touched", "human_approval", "llm_vendor", "llm_model", "last_review", "review_every_months"):
            wf.pop(name, None)
    client = load_client_file(write(tmp_path, data))
    assert client.candidates == []
    wf = client.workflows[0]
    assert (wf.data_touched, wf.human_approval, wf.llm_model, wf.last_review, wf.review_every_months) == (
        [],
        None,
        None,
        None,
        12,
    )


def test_successor_workflow_after_retirement_month_is_allowed(tmp_path):
    data = example()
    successor = dict(data["workflows"][2])
    successor.update(
        key="recall-reminders-v2",
        name="Patient recall reminders (v2)",
        platform_workflow_ids=["scn_9000"],
        status="active",
        go_live="2026-07-01",  # the month after v1's retirement month (June 2026)
        tooling_cost=[{"effective_from": "2026-07-01", "value": 18}],
        baseline={"method": "declared", "declared_minutes": [{"effective_from": "2026-07-01", "value": 3}]},
    )
    successor.pop("retired_on")
    data["workflows"].append(successor)
    client = load_client_file(write(tmp_path, data))
    assert len(client.workflows) == 4


def _successor(data: dict, go_live: str) -> dict:
    successor = dict(data["workflows"][2])  # recall-reminders, retired_on 2026-06-15
    successor.update(key="recall-v2", platform_workflow_ids=["scn_9000"], status="active", go_live=go_live)
    successor.update(tooling_cost=[{"effective_from": go_live, "value": 1}])
    successor.update(baseline={"method": "declared", "declared_minutes": [{"effective_from": go_live, "value": 3}]})
    successor.pop("retired_on")
    return successor


def test_successor_live_before_the_predecessor_retires_is_rejected(tmp_path):
    data = example()
    data["workflows"].append(_successor(data, "2026-06-14"))  # one day of overlap
    errors = errors_of(write(tmp_path, data))
    assert any("both replace process 'Recall reminders'" in m and "same day" in m for _f, m in errors)


def test_hand_over_in_the_retirement_month_is_allowed(tmp_path):
    # docs/method.md, hand-over: go-live on or after the predecessor's retired_on
    data = example()
    data["workflows"].append(_successor(data, "2026-06-15"))
    client = load_client_file(write(tmp_path, data))
    v1, v2 = client.workflow("recall-reminders"), client.workflow("recall-v2")
    assert v1.is_live_in(date(2026, 6, 1)) and v2.is_live_in(date(2026, 6, 1))


def test_retired_on_the_first_is_not_live_in_that_month(tmp_path):
    data = example()
    data["workflows"][2]["retired_on"] = "2026-06-01"
    wf = load_client_file(write(tmp_path, data)).workflow("recall-reminders")
    assert wf.is_live_in(date(2026, 5, 1))
    assert not wf.is_live_in(date(2026, 6, 1)), "retired on the 1st: no row, no tooling cost"
    assert wf.live_months() == (date(2025, 11, 1), date(2026, 5, 1))


def test_volume_filters_timestamp_and_window_lengths_load(tmp_path):
    data = example()
    data["kpi_baseline_days"] = 60
    data["workflows"][0]["baseline"]["window_days"] = 45
    data["workflows"][0]["baseline"]["volume"] = {
        "object": "meetings",
        "filters": [{"property": "hs_meeting_outcome", "values": ["COMPLETED"]}],
        "timestamp_property": "hs_meeting_start_time",
    }
    client = load_client_file(write(tmp_path, data))
    wf = client.workflows[0]
    assert client.kpi_baseline_days == 60
    assert client.baseline_days_for(wf) == 45
    assert client.baseline_days_for(client.workflows[1]) == client.baseline_days
    assert wf.baseline.volume.filters[0].values == ["COMPLETED"]
    assert wf.baseline.volume.timestamp_property == "hs_meeting_start_time"


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [
        (lambda d: d.update(kpi_baseline_days=7), "kpi_baseline_days", "greater than or equal to 28"),
        (
            lambda d: d["workflows"][0]["baseline"].update(window_days=20),
            "workflows[0] (lead-triage).baseline.window_days",
            "greater than or equal to 28",
        ),
        (
            lambda d: d["workflows"][0]["baseline"]["volume"].update(filters=[{"property": "hs_lead_source"}]),
            "workflows[0] (lead-triage).baseline.volume.filters[0].values",
            "required field is missing",
        ),
        (
            lambda d: d["workflows"][0]["baseline"]["volume"].update(
                filters=[{"property": "hs lead source", "values": ["web_form"]}]
            ),
            "workflows[0] (lead-triage).baseline.volume.filters[0].property",
            "pattern",
        ),
        (
            lambda d: d["workflows"][0]["baseline"]["volume"].update(
                filters=[{"property": "a", "values": ["x"]}, {"property": "a", "values": ["y"]}]
            ),
            "workflows[0] (lead-triage).baseline.volume.filters",
            "property a is filtered twice",
        ),
        (
            lambda d: d["workflows"][0]["baseline"]["volume"].update(timestamp_prop="hs_timestamp"),
            "workflows[0] (lead-triage).baseline.volume.timestamp_prop",
            "unknown field",
        ),
    ],
)
def test_bad_volume_source_and_window_fields_are_named(tmp_path, mutate, field, fragment):
    data = example()
    mutate(data)
    errors = errors_of(write(tmp_path, data))
    assert any(f == field and fragment in m for f, m in errors), errors


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, "client_id: northwind-dental\nname: [unclosed\ncurrency: GBP\n")
    (field, message), *_ = errors_of(path)
    assert field == ""
    assert "invalid YAML" in message and "line" in message


def test_a_refused_file_gets_pyyamls_own_words_and_every_field_its_line(tmp_path):
    """Client files are parsed by libyaml where PyYAML has it (faster); its messages say less
    (no tab, no alias name), so a refused file is described by PyYAML's own parser, and a field's
    line is found by the same parser that read the file (libyaml reads a tab before a comment,
    PyYAML does not)."""
    tab = EXAMPLE_TEXT.replace("\nname:", "\n\tname:", 1)
    ((field, message),) = errors_of(write(tmp_path, tab))
    assert field == "" and "found character '\\t' that cannot start any token" in message
    ((_, message),) = errors_of(write(tmp_path, EXAMPLE_TEXT + "extra: *nowhere\n"))
    assert "found undefined alias 'nowhere'" in message
    negative = re.sub(r"(?m)^guarantee_hours: .*$", "guarantee_hours: -4\t# a typo", EXAMPLE_TEXT)
    with pytest.raises(ConfigFileError) as info:
        load_client_file(write(tmp_path, negative))
    (error,) = [e for e in info.value.errors if e.field == "guarantee_hours"]
    assert error.line == line_of(negative, "guarantee_hours:")


EXAMPLE_TEXT = (EXAMPLES / "northwind-dental.yaml").read_text()


def line_of(text: str, start: str) -> int:
    """1-based number of the first line of ``text`` beginning with ``start``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def insert_after(text: str, start: str, new_line: str) -> str:
    """``text`` with ``new_line`` inserted after its first line beginning with ``start``."""
    lines = text.splitlines(keepends=True)
    lines.insert(line_of(text, start), new_line + "\n")
    return "".join(lines)


def test_a_top_level_key_written_twice_is_an_error(tmp_path):
    # the guarantee would silently disappear if the last value won
    text = EXAMPLE_TEXT + "guarantee_hours: 0\n"
    path = write(tmp_path, text)
    second = len(text.splitlines())
    first = line_of(EXAMPLE_TEXT, "guarantee_hours:")
    with pytest.raises(ConfigFileError) as info:
        load_client_file(path)
    [error] = info.value.errors
    assert (error.field, error.line, error.message) == (
        "guarantee_hours",
        second,
        f"key written twice (first on line {first})",
    )
    assert str(error) == f"{path}: line {second}: field guarantee_hours: key written twice (first on line {first})"


@pytest.mark.parametrize(
    ("edit", "field", "first_line"),
    [
        # a nested mapping
        (
            lambda t: insert_after(t, "  automation_user_ids:", "  platform: hubspot"),
            "crm.platform",
            lambda t: line_of(t, "  platform: hubspot"),
        ),
        # a workflow entry of the register (a list item)
        (
            lambda t: insert_after(t, "    on_demand: true", "    platform: make"),
            "workflows[1] (invoice-chasing).platform",
            lambda t: line_of(t, "    platform: zapier"),
        ),
        # a flow mapping inside a list inside a workflow
        (
            lambda t: t.replace("value: 6}", "value: 6, value: 0}"),
            "workflows[0] (lead-triage).baseline.declared_minutes[0].value",
            lambda t: line_of(t, "      declared_minutes: [{effective_from: 2025-11-10, value: 6"),
        ),
    ],
)
def test_a_nested_key_written_twice_is_an_error(tmp_path, edit, field, first_line):
    text = edit(EXAMPLE_TEXT)
    assert text != EXAMPLE_TEXT
    path = write(tmp_path, text)
    with pytest.raises(ConfigFileError) as info:
        load_client_file(path)
    [error] = info.value.errors
    first = first_line(EXAMPLE_TEXT)
    if field.endswith(".value"):  # both on the same line
        second = first
    else:  # the line inserted right after the anchor
        second = next(n for n, (a, b) in enumerate(zip(text.splitlines(), EXAMPLE_TEXT.splitlines()), 1) if a != b)
    assert (error.field, error.line, error.message) == (field, second, f"key written twice (first on line {first})")


def test_every_key_written_twice_is_reported(tmp_path):
    text = insert_after(EXAMPLE_TEXT, "    on_demand: true", "    platform: make") + "guarantee_hours: 0\n"
    errors = errors_of(write(tmp_path, text))
    assert [f for f, _m in errors] == ["workflows[1] (invoice-chasing).platform", "guarantee_hours"]


def test_a_key_overriding_a_merged_one_is_not_written_twice(tmp_path):
    # YAML merge keys (<<) copy a mapping; keys written beside them replace the copied ones
    text = EXAMPLE_TEXT.replace(
        "  - {effective_from: 2025-08-01, value: 2500}", "  - &fee {effective_from: 2025-08-01, value: 2500}"
    )
    text = text.replace(
        "  - {effective_from: 2026-04-01, value: 2750}", "  - {<<: *fee, effective_from: 2026-04-01, value: 2750}"
    )
    assert "*fee" in text
    client = load_client_file(write(tmp_path, text))
    assert [(e.effective_from, e.value) for e in client.monthly_fee] == [
        (date(2025, 8, 1), 2500),
        (date(2026, 4, 1), 2750),
    ]


def test_client_id_must_match_file_name(tmp_path):
    path = write(tmp_path, example(), name="someone-else")
    errors = errors_of(path)
    assert errors == [("client_id", "'northwind-dental' does not match the file name 'someone-else'")]


def test_ids_are_strings_whatever_yaml_makes_of_them(tmp_path):
    data = example()
    data["workflows"][0]["platform_workflow_ids"] = [1012]
    data["crm"]["automation_user_ids"] = [90001]
    client = load_client_file(write(tmp_path, data))
    assert client.workflows[0].platform_workflow_ids == ["1012"]
    assert client.crm.automation_user_ids == ["90001"]


def test_one_bad_file_never_stops_the_others(tmp_path):
    good = example()
    write(tmp_path, good)
    bad = example()
    bad.update(client_id="broken-co", timezone="Mars/Olympus")
    write(tmp_path, bad, name="broken-co")
    (tmp_path / "_notes.yaml").write_text("not: a client")  # underscore files are not clients
    result = load_clients(tmp_path)
    assert [c.client_id for c in result.clients] == ["northwind-dental"]
    assert len(result.errors) == 1
    assert result.errors[0].path.name == "broken-co.yaml"
    assert result.errors[0].field == "timezone"


def test_asking_for_a_client_with_no_file_is_an_error(tmp_path):
    write(tmp_path, example())
    result = load_clients(tmp_path, only=["northwind-dental", "ghost"])
    assert [c.client_id for c in result.clients] == ["northwind-dental"]
    assert [e.path.name for e in result.errors] == ["ghost.yaml"]


def test_value_in_effect_on_the_first_of_the_month_applies_to_the_whole_month():
    fees = [
        Effective(effective_from=date(2025, 1, 1), value=100),
        Effective(effective_from=date(2025, 3, 15), value=200),
    ]
    assert value_for_month(fees, date(2025, 3, 1)) == 100  # mid-month change: not yet
    assert value_for_month(fees, date(2025, 3, 31)) == 100
    assert value_for_month(fees, date(2025, 4, 1)) == 200
    assert value_for_month(fees, date(2024, 12, 1)) is None


def test_live_in_month_follows_the_exact_rules():
    client = load_client_file(EXAMPLES / "northwind-dental.yaml")
    retired = client.workflow("recall-reminders")  # go-live 2025-11-01, retired_on 2026-06-15
    assert not retired.is_live_in(date(2025, 10, 1))
    assert retired.is_live_in(date(2025, 11, 1))
    assert retired.is_live_in(date(2026, 6, 1)), "live (and billed) in its retirement month"
    assert not retired.is_live_in(date(2026, 7, 1))
    triage = client.workflow("lead-triage")  # go-live 2025-11-10: live in November
    assert triage.is_live_in(date(2025, 11, 1))
    assert not triage.is_live_in(date(2025, 10, 1))


def test_live_days_count_go_live_on_and_retired_on_off():
    client = load_client_file(EXAMPLES / "northwind-dental.yaml")
    retired = client.workflow("recall-reminders")  # go-live 2025-11-01, retired_on 2026-06-15
    assert retired.live_days(date(2026, 6, 1), date(2026, 6, 30)) == 14, "1st to 14th: retired_on is not live"
    assert retired.live_days(date(2026, 7, 1), date(2026, 7, 31)) == 0
    assert retired.live_days(date(2025, 10, 1), date(2025, 11, 30)) == 30, "from go-live on"
    triage = client.workflow("lead-triage")  # go-live 2025-11-10, not retired
    assert triage.live_days(date(2025, 11, 1), date(2025, 11, 30)) == 21
    assert triage.live_days(date(2025, 11, 1), date(2025, 11, 5)) == 0, "an as-of before go-live: no live day"


def test_process_names_match_trimmed_and_case_insensitively():
    assert normalise_process("  Lead   Triage ") == normalise_process("lead triage")
    assert normalise_process("Lead triage") != normalise_process("Lead triage v2")
