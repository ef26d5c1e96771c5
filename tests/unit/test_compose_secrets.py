"""The docker compose deployment refuses to start without its secrets.

No Docker engine runs where the tests do, so docker-compose.yaml is read the way compose
interpolates it (``${VAR:?message}`` fails when VAR is unset or empty, ``${VAR:-default}``
falls back, ``${VAR}`` is taken as is), with the variables .env.example leaves for the
user to fill in.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.dags.harness import ROOT

SECRETS = ("AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY", "AIRFLOW_FERNET_KEY", "POSTGRES_PASSWORD")
REFERENCE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:\?|:-|\?|-)(?P<arg>[^}]*))?\}")


class Refused(Exception):
    """What ``docker compose up`` prints and stops on."""


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable interpolation, for the forms docker-compose.yaml uses."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        value = env.get(name)
        if op == ":?" and not value:
            raise Refused(f"required variable {name} is missing a value: {arg}")
        if op == ":-" and not value:
            return arg
        return value or ""

    return REFERENCE.sub(one, text)


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip().strip("'\"")
    return values


def test_compose_refuses_to_start_while_a_secret_is_empty():
    compose = (ROOT / "docker-compose.yaml").read_text(encoding="utf-8")
    example = env_example()
    assert set(SECRETS) <= set(example), ".env.example lists every secret to fill in"
    filled = {**example, **{name: f"generated-{name.lower()}" for name in SECRETS}}
    resolved = interpolate(compose, filled)
    for name in SECRETS:
        assert f"generated-{name.lower()}" in resolved
        for empty in ({k: v for k, v in filled.items() if k != name}, {**filled, name: ""}):
            with pytest.raises(Refused, match=rf"{name} is missing a value: set {name} in \.env"):
                interpolate(compose, empty)


def test_env_example_says_how_to_generate_each_secret():
    """Each secret is named above a command that prints a usable value (run here as written)."""
    from cryptography.fernet import Fernet

    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    block = text[text.index("# docker compose (Airflow deployment)") :]
    commands = re.findall(
        r"^#\s+(?P<names>[A-Z_, ]+)(?:\s\(.*)?:?\n(?:#.*\n)*?#\s+python -c \"([^\"]+)\"$", block, re.M
    )
    generated = {}
    for names, code in commands:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        for name in re.findall(r"[A-Z_]+", names):
            generated[name] = out
    assert set(generated) == set(SECRETS)
    Fernet(generated["AIRFLOW_FERNET_KEY"].encode())  # a valid key, or this raises
    for name in set(SECRETS) - {"AIRFLOW_FERNET_KEY"}:
        assert re.fullmatch(r"[A-Za-z0-9_-]{32,}", generated[name]), name  # safe inside the database URL
