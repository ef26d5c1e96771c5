"""The command line: every subcommand documents itself; generate -> validate -> ingest works."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from roi_pipeline.cli import build_parser, main

SUBCOMMANDS = [
    "paths",
    "generate",
    "validate",
    "extract",
    "landed",
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
    assert "acme.yaml: field timezone: unknown IANA time zone 'Nowhere/Land'" in out


def test_the_console_script_runs():
    done = subprocess.run(
        [sys.executable, "-m", "roi_pipeline.cli", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "usage: roi" in done.stdout
