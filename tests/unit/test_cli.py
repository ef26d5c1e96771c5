"""The command line: every subcommand documents itself; generate -> validate -> ingest works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from roi_pipeline.cli import build_parser, main

SUBCOMMANDS = [
    "paths",
    "generate",
    "validate",
    "extract",
    "landed",
    "retract",
    "ingest",
    "build",
    "check",
    "status",
    "report",
    "run",
    "demo",
]


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: roi {command}" in capsys.readouterr().out


def test_parser_knows_every_subcommand():
    choices = build_parser()._subparsers._group_actions[0].choices
    assert sorted(choices) == sorted(SUBCOMMANDS)


def test_bad_month_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["build", "--month", "2026-13"])
    assert exit_info.value.code == 2
    assert "expected YYYY-MM" in capsys.readouterr().err


def test_locations_come_from_the_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROI_LANDING_DIR", str(tmp_path / "in"))
    monkeypatch.setenv("ROI_WAREHOUSE", str(tmp_path / "w.duckdb"))
    assert main(["paths"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "in") in out and str(tmp_path / "w.duckdb") in out


def test_generate_validate_ingest_on_a_small_sample(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROI_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("ROI_CLIENTS_DIR", str(tmp_path / "clients"))
    monkeypatch.setenv("ROI_WAREHOUSE", str(tmp_path / "wh.duckdb"))
    assert main(["generate", "--clients", "2", "--months", "3"]) == 0
    assert main(["validate"]) == 0
    assert main(["ingest"]) == 0
    out = capsys.readouterr().out
    assert "[2/2]" in out, "ingest reports progress per client"
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        files = con.execute("select count(*), sum(rows_read), sum(rows_loaded) from raw._landed_files").fetchall()[0]
    assert files[0] > 0 and files[1] == files[2] > 0


def test_validate_says_what_a_client_lacks(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROI_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("ROI_CLIENTS_DIR", str(tmp_path / "clients"))
    assert main(["generate", "--clients", "1", "--months", "2"]) == 0
    client = next(p for p in sorted((tmp_path / "clients").glob("*.yaml")) if not p.name.startswith("_")).stem
    for folder in (tmp_path / "landing" / client).glob("hubspot_contacts"):
        for f in folder.iterdir():
            f.unlink()
    capsys.readouterr()
    assert main(["validate"]) == 1
    assert "MISSING hubspot_contacts/" in capsys.readouterr().out


def test_a_bad_client_file_fails_validation_and_names_the_field(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROI_CLIENTS_DIR", str(tmp_path))
    (tmp_path / "acme.yaml").write_text("client_id: acme\nname: Acme\ncurrency: GBP\ntimezone: Nowhere/Land\n")
    assert main(["validate"]) == 1
    out = capsys.readouterr().out
    assert "acme.yaml: line 4: field timezone: unknown IANA time zone 'Nowhere/Land'" in out


def test_a_key_written_twice_fails_validation_and_names_file_line_and_key(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROI_CLIENTS_DIR", str(tmp_path / "clients"))
    monkeypatch.setenv("ROI_LANDING_DIR", str(tmp_path / "landing"))
    example = Path(__file__).resolve().parents[2] / "examples" / "clients" / "northwind-dental.yaml"
    lines = example.read_text().replace("client_id: northwind-dental", "client_id: hudson-roofing").splitlines()
    first = next(n for n, line in enumerate(lines, 1) if line.startswith("guarantee_hours: 40"))
    lines.append("guarantee_hours: 0")  # would silently remove the guarantee
    path = tmp_path / "clients" / "hudson-roofing.yaml"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n")
    assert main(["validate", "hudson-roofing"]) == 1
    out = capsys.readouterr().out
    expected = (
        f"CONFIG ERROR {path}: line {len(lines)}: field guarantee_hours: key written twice (first on line {first})"
    )
    assert expected in out.splitlines(), out
    assert "OK hudson-roofing" not in out


def test_the_console_script_runs():
    done = subprocess.run(
        [sys.executable, "-m", "roi_pipeline.cli", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "usage: roi" in done.stdout


# -- a command line that behaves like a mature tool ----------------------------------------

ROI = Path(sys.executable).parent / "roi"
CLIENT = "harbour-legal"  # the first client `roi generate` writes
#: dbt's own per-node lines ("12 of 369 START sql table model ...").
DBT_NODE_LINE = re.compile(r"^\S*\s*\d+ of \d+ (START|OK|PASS) ", re.MULTILINE)


def _env(base: Path, **extra: str) -> dict[str, str]:
    """The environment of a person running roi on ``base``: no colour forcing inherited from CI."""
    drop = ("ROI_", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) or k == "ROI_DOCS_SITE"}  # conftest.py
    return env | {
        "ROI_LANDING_DIR": str(base / "landing"),
        "ROI_CLIENTS_DIR": str(base / "clients"),
        "ROI_WAREHOUSE": str(base / "warehouse.duckdb"),
        "ROI_REPORTS_DIR": str(base / "reports"),
        **extra,
    }


def _roi(base: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    """``roi ARGS`` as a separate process with its output captured (so: not a terminal)."""
    return subprocess.run(
        [str(ROI), *args], env=_env(base, **extra), capture_output=True, text=True, timeout=900, check=False
    )


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory) -> Path:
    """One client, two months (2026-09 and 2026-10): client files and landing files, no warehouse."""
    base = tmp_path_factory.mktemp("small")
    done = _roi(base, "generate", "--clients", "1", "--months", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    return base


@pytest.fixture
def in_sample(small_sample, monkeypatch) -> Path:
    for key, value in _env(small_sample).items():
        if key.startswith("ROI_"):
            monkeypatch.setenv(key, value)
    return small_sample


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        return int(exc.code)


USAGE_ERRORS = [
    [],
    ["frobnicate"],
    ["paths", "--colour"],
    ["generate", "--clients", "0"],
    ["generate", "--months", "-3"],
    ["generate", "--end-month", "2026-13"],
    ["generate", "--runs-scale", "0"],
    ["validate", "no-such-client"],
    ["extract", "no-such-client"],
    ["extract", "--source", "salesforce"],
    ["ingest", "no-such-client"],
    ["build", "--month", "2026-13"],
    ["check", CLIENT],
    ["check", "--month", "2026-10", "no-such-client"],
    ["status", "--month", "2026-10", "no-such-client"],
    ["status", "--month", "October"],
    ["report", "--month", "2026-10", CLIENT, "no-such-client"],
    ["landed", "no-such-client", "hubspot_contacts", "--exported-at", "2026-11-04T09:00"],
    ["landed", CLIENT, "hubspot_contacts", "--exported-at", "yesterday"],
    ["retract", "no-such-client", "hubspot_contacts", "2026-10.json", "--reason", "misfiled"],
    ["retract", CLIENT, "hubspot_contacts", "2026-10.json"],
    ["run", CLIENT, "no-such-client"],
    ["run", "--month", "2026-1"],
    ["demo", "--clients", "0"],
]


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids=lambda argv: " ".join(argv) or "(nothing)")
def test_a_usage_error_is_one_line_on_stderr_and_exit_2_before_any_work(argv, in_sample, capsys):
    assert _exit_code(argv) == 2
    out, err = capsys.readouterr()
    assert out == "", "nothing is done (or printed) before the usage error"
    assert len(err.splitlines()) == 1 and err.startswith("roi") and "error:" in err, err
    assert "Traceback" not in err
    assert not (in_sample / "warehouse.duckdb").exists() and not (in_sample / "reports").exists()


def test_every_subcommand_has_a_usage_error_case():
    named = {argv[0] for argv in USAGE_ERRORS if argv and argv[0] in SUBCOMMANDS}
    assert named == set(SUBCOMMANDS)


def test_an_unknown_client_is_named_with_the_known_ones(in_sample, capsys):
    assert main(["run", "no-such-client"]) == 2
    err = capsys.readouterr().err
    assert "no client file for 'no-such-client'" in err and f"known: {CLIENT}" in err


def test_usage_errors_from_the_installed_command_have_no_traceback(small_sample):
    for args in (["generate", "--clients", "0"], ["generate", "--end-month", "2026-13"], ["status", "--month",
                 "2026-10", "nope"]):  # fmt: skip
        done = _roi(small_sample, *args)
        assert done.returncode == 2, done.stderr
        assert done.stdout == "" and len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--month", "2026-10"],
        ["status", "--month", "2026-10"],
        ["check", "--month", "2026-10"],
        ["build"],
    ],
    ids=lambda argv: argv[0],
)
def test_without_a_warehouse_each_command_says_so_and_exits_1(argv, in_sample, capsys):
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert f"No warehouse at {in_sample / 'warehouse.duckdb'}: run `roi run`" in out
    assert "Traceback" not in out + err and "HELD" not in out
    assert not (in_sample / "warehouse.duckdb").exists()


def test_an_unexpected_failure_is_one_line_and_exit_1_with_the_traceback_only_on_request(
    in_sample, tmp_path, monkeypatch, capsys
):
    broken = tmp_path / "warehouse.duckdb"
    broken.write_text("not a DuckDB file")
    monkeypatch.setenv("ROI_WAREHOUSE", str(broken))
    assert main(["report", "--month", "2026-10"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("roi report: error: ") and str(broken) in err and "--verbose" in err
    assert main(["report", "--month", "2026-10", "--verbose"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_help_describes_the_tool_its_commands_exit_codes_and_locations(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "reports" in out.split("positional arguments")[0], "a description of what the tool does"
    for command in SUBCOMMANDS:
        assert re.search(rf"^\s+{command}\s+\S", out, re.MULTILINE), command
    for var in ("ROI_LANDING_DIR", "ROI_CLIENTS_DIR", "ROI_WAREHOUSE", "ROI_REPORTS_DIR", "NO_COLOR"):
        assert var in out
    assert re.search(r"^\s+0\s+ok", out, re.MULTILINE)
    assert re.search(r"^\s+1\s+some client", out, re.MULTILINE)
    assert re.search(r"^\s+2\s+usage error", out, re.MULTILINE)


def test_generate_output_in_a_pipe_has_steps_and_no_escape_codes(tmp_path):
    done = _roi(tmp_path, "generate", "--clients", "1", "--months", "2")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    assert "generate ..." in done.stdout and re.search(r"^generate: done in \S+ \(", done.stdout, re.MULTILINE)


# -- one small pipeline run, shared: progress, summary, status words, --verbose ------------


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """``roi run`` on a small sample of its own (1 client, 2026-09 and 2026-10), output to a pipe:
    it gates and reports 2026-10, the latest closed month, only."""
    base = tmp_path_factory.mktemp("small_run")
    assert _roi(base, "generate", "--clients", "1", "--months", "2").returncode == 0
    done = _roi(base, "run")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return base, done


@pytest.mark.slow
def test_run_in_a_pipe_shows_each_step_and_a_summary_without_dbt_node_lines_or_colour(small_run):
    base, done = small_run
    out = done.stdout
    assert "\x1b" not in out + done.stderr, "no escape codes when the output is not a terminal"
    assert not DBT_NODE_LINE.search(out), "dbt's per-node lines only with --verbose"
    for step in ("ingest", "dbt build", "raw-input gate", "mart gate", "render reports"):
        assert f"{step} ...\n" in out, step
        assert re.search(rf"^{step}: done in \S+", out, re.MULTILINE), step
    summary = out.split("Summary of roi run for 2026-10:\n", 1)[1]
    for step in ("ingest", "dbt build", "raw-input gate", "mart gate", "render reports", "total"):
        assert re.search(rf"^  {step}\s", summary, re.MULTILINE), step
    assert "FAILED" not in summary
    assert re.search(r"^  dbt build\s+ok\s+\S+\s+\d+ nodes: .*\d+ pass", summary, re.MULTILINE)
    assert (base / "reports" / CLIENT / "2026-10" / "report.json").is_file()


@pytest.mark.slow
def test_status_words_publishable_not_run_and_no_data(small_run):
    base, _ = small_run
    published = _roi(base, "status", "--month", "2026-10")
    assert published.returncode == 0 and published.stdout.startswith(f"{CLIENT:<28} publishable\n")

    never_run = _roi(base, "status", "--month", "2026-09")  # built, but its gates never ran
    assert never_run.returncode == 1
    assert never_run.stdout.splitlines()[0] == f"{CLIENT:<28} not run"
    assert "HELD" not in never_run.stdout
    assert "the quality gates have not run for 2026-09: `roi run --month 2026-09`" in never_run.stdout

    before = _roi(base, "status", "--month", "2025-01")  # before the two generated months
    assert before.returncode == 1
    assert before.stdout.splitlines()[0] == f"{CLIENT:<28} no data"
    assert f"the warehouse has no data for {CLIENT} in 2025-01 (it holds 2026-09 to 2026-10)" in before.stdout
    assert "HELD" not in before.stdout and "\x1b" not in before.stdout


@pytest.mark.slow
def test_colour_only_when_forced_and_never_with_no_color(small_run):
    base, _ = small_run
    forced = _roi(base, "status", "--month", "2026-10", FORCE_COLOR="1")
    assert "\x1b[" in forced.stdout, "a terminal (here: forced) gets colour"
    plain = _roi(base, "status", "--month", "2026-10", FORCE_COLOR="1", NO_COLOR="1")
    assert plain.returncode == 0 and "\x1b" not in plain.stdout
    assert plain.stdout.startswith(f"{CLIENT:<28} publishable\n")


@pytest.mark.slow
def test_verbose_adds_dbts_per_node_lines_without_colour_in_a_pipe(small_run):
    base, _ = small_run
    done = _roi(base, "build", "--verbose")
    assert done.returncode == 0, done.stdout[-4000:]
    assert DBT_NODE_LINE.search(done.stdout), done.stdout[:2000]
    assert "\x1b" not in done.stdout + done.stderr
    assert re.search(r"^dbt build: done in \S+ \(\d+ nodes: ", done.stdout, re.MULTILINE)


@pytest.mark.parametrize(
    "argv", [["run", "--month", "2026-10"], ["check", "--month", "2026-10"], ["report", "--month", "2026-10"]]
)
def test_on_postgres_the_commands_that_read_duckdbs_marts_refuse_before_any_work(argv, in_sample, monkeypatch, capsys):
    """With ROI_DBT_TARGET=postgres a build updates PostgreSQL's marts, not the DuckDB warehouse's
    that the gates and the renderer read: checking or publishing them would state stale figures
    as current (a reviewer saw 395 tasks published against 495 in PostgreSQL)."""
    monkeypatch.setenv("ROI_DBT_TARGET", "postgres")
    assert _exit_code(argv) == 2
    said = capsys.readouterr().out
    assert "ROI_DBT_TARGET=postgres" in said and "Nothing was done" in said
    assert not (in_sample / "warehouse.duckdb").exists()
    assert not (in_sample / "reports").exists()
