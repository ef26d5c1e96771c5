"""Credentials: one Airflow connection per client and source, and nothing else.

Naming convention: ``roi_<client_id>_<source>`` with hyphens turned into underscores
(``northwind-dental`` + HubSpot -> ``roi_northwind_dental_hubspot``), overridable per source in
the client's extract settings. Airflow reads ``AIRFLOW_CONN_<ID upper-cased>`` from the
environment, as JSON or URI (see ``.env.example`` and docs/connecting.md).

:func:`resolve_connection` is the one adapter: inside Airflow (the Task SDK is already
imported) it asks Airflow (``airflow.sdk.Connection.get``: metadata DB, secrets backends and
env vars, with Airflow's own secret masking); elsewhere it parses the ``AIRFLOW_CONN_*``
variable itself, so the package imports and tests without Airflow, and only falls back to
importing Airflow when the variable is absent. The secret never leaves :class:`Credentials`
except as an HTTP header: it is left out of ``repr`` and every error message is passed
through :func:`redact`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


class ConnectionNotFound(LookupError):
    pass


def default_connection_id(client_id: str, source: str) -> str:
    return f"roi_{client_id}_{source}".replace("-", "_").lower()


def env_var_name(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


@dataclass(frozen=True)
class Credentials:
    """What an extractor needs from a connection. ``secret`` is never shown."""

    conn_id: str
    host: str | None = None
    login: str | None = None
    secret: str | None = field(default=None, repr=False)
    port: int | None = None
    schema: str | None = None
    conn_type: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def token(self) -> str | None:
        """The API token: the password, else ``extra.token`` / ``extra.api_key``."""
        for value in (self.secret, self.extra.get("token"), self.extra.get("api_key")):
            if value:
                return str(value)
        return None

    def secrets(self) -> list[str]:
        """Every value that must never be shown (for :func:`redact`)."""
        values = [self.secret, self.extra.get("token"), self.extra.get("api_key")]
        return [str(v) for v in values if v]

    def base_url(self) -> str | None:
        """``host`` as a base URL (``https://`` unless the connection says http)."""
        if not self.host:
            return None
        if "://" in self.host:
            url = self.host.rstrip("/")
        else:
            # Airflow's HTTP connections keep the scheme in ``schema``; default https.
            scheme = self.schema if (self.schema or "").lower() in ("http", "https") else "https"
            url = f"{scheme}://{self.host.strip('/')}"
        if self.port and urlsplit(url).port is None:
            parts = urlsplit(url)
            url = f"{parts.scheme}://{parts.hostname}:{self.port}{parts.path}"
        return url.rstrip("/")


def redact(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def parse_connection(conn_id: str, value: str) -> Credentials:
    """Parse an ``AIRFLOW_CONN_*`` value: JSON (Airflow >= 2.3) or URI, by Airflow's rules.

    The same reading as ``airflow.sdk`` ``Connection.from_json`` / ``from_uri``
    (tests/unit/test_extract_runner.py checks the two agree on every form), written here
    because importing any part of Airflow initialises its configuration (writing
    ``$AIRFLOW_HOME/airflow.cfg``) and replaces the process's logging: ``roi extract`` outside
    Airflow would change its output for a parse. Inside Airflow, Airflow's own is used
    (:func:`_from_airflow`). An error never quotes the value: it holds the secret.
    """
    value = value.strip()
    if value.startswith("{"):
        try:
            data = json.loads(value)
            extra = data.get("extra") or {}
            if isinstance(extra, str):
                extra = json.loads(extra) if extra.strip() else {}
        except (json.JSONDecodeError, AttributeError) as exc:
            # the message must not quote the value: it holds the secret
            raise ValueError(f"connection {conn_id!r}: {env_var_name(conn_id)} is not valid JSON") from exc
        port = data.get("port")
        try:
            port = int(port) if port else None
        except ValueError:
            raise ValueError(f"connection {conn_id!r}: the port in {env_var_name(conn_id)} is not a number") from None
        return Credentials(
            conn_id=conn_id,
            host=data.get("host"),
            login=data.get("login"),
            secret=data.get("password"),
            port=port,
            schema=data.get("schema"),
            conn_type=_conn_type(data.get("conn_type")),
            extra=dict(extra),
        )
    return _parse_uri(conn_id, value)


def _conn_type(conn_type: str | None) -> str | None:
    """Airflow's spelling of a connection type: ``postgresql`` is ``postgres``, ``-`` is ``_``."""
    if not conn_type:
        return conn_type
    return "postgres" if conn_type == "postgresql" else conn_type.replace("-", "_")


def _parse_uri(conn_id: str, uri: str) -> Credentials:
    schemes = uri.count("://")
    if schemes == 0:
        raise ValueError(f"connection {conn_id!r}: {env_var_name(conn_id)} is neither JSON nor a URI")
    if schemes > 2:
        raise ValueError(f"connection {conn_id!r}: {env_var_name(conn_id)} is not a valid connection URI")
    conn_type, rest = uri.split("://", 1)
    host_protocol = None
    if schemes == 2:  # "http://https://host": the host keeps its own protocol (Airflow's rule)
        host_protocol, rest = rest.split("://", 1)
        if "@" in host_protocol or ":" in host_protocol:
            raise ValueError(f"connection {conn_id!r}: {env_var_name(conn_id)} is not a valid connection URI")
    parts = urlsplit("//" + rest)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    # Airflow: the JSON in ``__extra__`` is the whole extra; without it, the query parameters are
    try:
        extra: dict[str, Any] = json.loads(query["__extra__"] or "{}") if "__extra__" in query else query
    except json.JSONDecodeError:
        raise ValueError(f"connection {conn_id!r}: __extra__ in {env_var_name(conn_id)} is not valid JSON") from None
    host = unquote(parts.hostname or "")
    if "/" in host:  # a quoted path in the host: urlsplit lower-cases and cuts it, Airflow keeps it
        host = parts.netloc.rsplit("@", 1)[-1].split(":", 1)[0]
        host = unquote(host)
    if host and host_protocol:
        host = f"{host_protocol}://{host}"
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"connection {conn_id!r}: the port in {env_var_name(conn_id)} is not a number") from None
    return Credentials(
        conn_id=conn_id,
        host=host or None,
        login=unquote(parts.username) if parts.username else None,
        secret=unquote(parts.password) if parts.password else None,
        port=port,
        schema=unquote(parts.path[1:]) if parts.path[1:] else None,
        conn_type=_conn_type(conn_type),
        extra=extra,
    )


def _from_airflow(conn_id: str) -> Credentials | None:
    try:
        from airflow.sdk import Connection  # Airflow 3 Task SDK
    except ImportError:
        return None
    try:
        conn = Connection.get(conn_id)
    except Exception as exc:  # AirflowNotFoundException and backend errors: not found here
        if type(exc).__name__ == "AirflowNotFoundException":
            return None
        raise ConnectionNotFound(f"connection {conn_id!r}: Airflow could not read it ({type(exc).__name__})") from None
    if conn is None:
        return None
    return Credentials(
        conn_id=conn_id,
        host=conn.host,
        login=conn.login,
        secret=conn.password,
        port=conn.port,
        schema=conn.schema,
        conn_type=conn.conn_type,
        extra=dict(conn.extra_dejson or {}),
    )


def resolve_connection(
    conn_id: str, *, environ: Mapping[str, str] | None = None, use_airflow: bool | None = None
) -> Credentials:
    """The connection ``conn_id``; raises :class:`ConnectionNotFound` naming it (never its value).

    ``use_airflow``: True = ask Airflow only; False = the environment only; None (default) =
    ``ROI_EXTRACT_CONNECTIONS`` (``env`` / ``airflow``) if set, else Airflow first when running
    inside Airflow (``airflow.sdk`` already imported), else the environment first and Airflow
    (metadata DB / secrets backend) only if the variable is unset.
    """
    env = os.environ if environ is None else environ
    inside_airflow = "airflow.sdk" in sys.modules
    if use_airflow is None:  # ROI_EXTRACT_CONNECTIONS=env|airflow pins the lookup (default: auto)
        use_airflow = {"env": False, "airflow": True}.get(env.get("ROI_EXTRACT_CONNECTIONS", "auto").lower())

    def from_env() -> Credentials | None:
        value = env.get(env_var_name(conn_id))
        return parse_connection(conn_id, value) if value else None

    if use_airflow is True:
        order = [_from_airflow]
    elif use_airflow is False:
        order = [lambda _id: from_env()]
    elif inside_airflow:
        order = [_from_airflow, lambda _id: from_env()]
    else:
        order = [lambda _id: from_env(), _from_airflow]
    for lookup in order:
        found = lookup(conn_id)
        if found is not None:
            return found
    raise ConnectionNotFound(
        f"connection {conn_id!r} is not defined (set {env_var_name(conn_id)} or add it in Airflow)"
    )
