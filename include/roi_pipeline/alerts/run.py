"""One alert check (what the hourly ``roi_alerts`` DAG runs): detect, record, tell.

For each client, holding the lock of its record: apply the detection (:func:`store.reconcile`),
then deliver every message not yet delivered on every channel of the client's route, unless
the client is in its quiet hours (then they wait for the next check after the quiet hours,
nothing is dropped). The record is written after each delivery, so a retry or the next
check never repeats one. A client whose delivery fails does not stop the others; the check
raises at the end, naming them, and the retry sends only what is still missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from roi_pipeline.alerts import store
from roi_pipeline.alerts.detect import KINDS, detect
from roi_pipeline.alerts.notify import Message, NotifyFailed, Route, quiet_until, route_for, send
from roi_pipeline.config import ClientConfig, load_clients
from roi_pipeline.settings import Locations

log = logging.getLogger("roi_pipeline.alerts")

Sender = Callable[[Message, str, Route], None]


class AlertsFailed(RuntimeError):
    """Some alert messages could not be delivered; they are sent by the next check or retry."""


def check_alerts(
    *,
    now: datetime,
    clients: Sequence[str] | None = None,
    locations: Locations | None = None,
    sender: Sender = send,
    environ: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run one check at ``now`` (the run's logical date: never the wall clock)."""
    from roi_pipeline.report.publish import locked

    loc = locations or Locations.from_env()
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    loaded = load_clients(loc.clients_dir, only=list(clients) if clients else None)
    for error in loaded.errors:
        log.error("client file not loaded, its alerts are not checked: %s", error)
    found = detect(loaded.clients, now=now, locations=loc)
    for note in found.notes:
        log.info("%s", note)
    summary: dict[str, Any] = {"now": store.iso(now), "clients": {}, "notes": found.notes,
                               "config_errors": [str(e) for e in loaded.errors]}  # fmt: skip
    failures: list[str] = []
    for client in loaded.clients:
        if not client.alerts.enabled:
            continue
        path = store.state_path(loc.reports_dir, client.client_id)
        with locked(path):
            outcome = _client_check(client, found, path, now, sender, environ, failures)
        summary["clients"][client.client_id] = outcome
    if failures:
        raise AlertsFailed("; ".join(failures))
    return summary


def _client_check(client: ClientConfig, found, path, now, sender, environ, failures) -> dict[str, Any]:
    cid = client.client_id
    incidents = store.read_state(path)
    mine = [f for f in found.findings if f.client_id == cid]
    evaluated = {kind for kind in KINDS if (cid, kind) in found.evaluated}
    opened, resolved = store.reconcile(incidents, mine, evaluated, now)
    for key in opened:
        log.warning("ALERT %s %s: %s", cid, key, incidents[key]["summary"])
    for key in resolved:
        log.info("resolved %s %s", cid, key)
    store.write_state(path, cid, incidents)

    route = route_for(client, environ)
    channels = route.channels()
    sent: list[str] = []
    held = quiet_until(client.alerts.quiet_hours, client.timezone, now)
    if not channels:
        if opened:
            log.warning("%s: no alert route (set alerts: in the client file or ROI_ALERT_EMAIL); recorded only", cid)
    elif held is None:
        sent = _deliver(client, incidents, route, channels, sender, path, failures, now)
    done = [k for k, i in incidents.items() if i["status"] == "resolved"
            and all(c in i["sent"]["resolved"] for c in channels)]  # fmt: skip
    store.append_history(path, [{"client_id": cid, "key": k, **incidents[k]} for k in done])
    for key in done:
        del incidents[key]
    store.write_state(path, cid, incidents)
    return {
        "opened": opened,
        "resolved": resolved,
        "open": sorted(k for k, i in incidents.items() if i["status"] == "open"),
        "sent": sent,
        "held_until": None if held is None or not _pending(incidents, channels) else store.iso(held),
    }


def _pending(incidents: dict[str, dict[str, Any]], channels: list[str]) -> bool:
    return any(
        c not in i["sent"][event]
        for i in incidents.values()
        for event in ("opened", "resolved")
        if event == "opened" or i["status"] == "resolved"
        for c in channels
    )


def _deliver(client, incidents, route, channels, sender, path, failures, now) -> list[str]:
    """Every message still owed on every channel, oldest incident first; returns what went out."""
    out = []
    order = sorted(incidents.items(), key=lambda kv: (kv[1]["opened_at"], kv[0]))
    for key, incident in order:
        events = ["opened"] + (["resolved"] if incident["status"] == "resolved" else [])
        for channel in channels:
            for event in events:
                if channel in incident["sent"][event]:
                    continue
                at = incident["opened_at"] if event == "opened" else incident["resolved_at"]
                message = Message(client.client_id, client.name, event, incident["kind"], incident["subject"],
                                  incident["summary"], at)  # fmt: skip
                try:
                    sender(message, channel, route)
                except NotifyFailed as exc:
                    log.error("%s", exc)
                    failures.append(str(exc))
                    break  # no "resolved" on a channel that never got "opened"
                incident["sent"][event][channel] = store.iso(now)  # the check's time (the run's logical date)
                store.write_state(path, client.client_id, incidents)
                out.append(f"{event} {key} by {channel}")
    return out
