"""Delivering one alert message through Airflow's notifiers; routes and quiet hours.

Channels (each a route of a client, ``alerts:`` in its file, see :func:`route_for`):

- ``email``: the SMTP provider's ``SmtpNotifier`` through the connection ``roi_smtp``
  (``AIRFLOW_CONN_ROI_SMTP``), the one the reports go out through;
- ``slack``: the Slack provider's ``SlackWebhookNotifier`` through the named connection
  (type ``slackwebhook``; the webhook URL or token is its password);
- ``teams``: Microsoft Teams has no Airflow provider: a JSON POST (an Adaptive Card, the
  payload Teams incoming webhooks and Workflows accept) to the URL held by the named
  connection (its password, or else its host), with ``httpx``.

Secrets (webhook URLs, SMTP passwords) live only in Airflow connections; a failure names
the channel and the connection, never the URL. Templates are never rendered from a
message: the notifiers are called with their final text.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from roi_pipeline.config import ClientConfig, QuietHours

SMTP_CONN_ID = "roi_smtp"
#: The consultancy's own alert address(es), comma-separated: the route of every client
#: whose file names none.
DEFAULT_EMAIL_ENV = "ROI_ALERT_EMAIL"


class NotifyFailed(RuntimeError):
    """A channel did not accept a message (the message names channel and connection only)."""


@dataclass(frozen=True)
class Route:
    email: tuple[str, ...] = ()
    slack: str | None = None
    teams: str | None = None

    def channels(self) -> list[str]:
        return [name for name, on in (("email", self.email), ("slack", self.slack), ("teams", self.teams)) if on]


def route_for(client: ClientConfig, environ: dict[str, str] | None = None) -> Route:
    """The client's own channels; none configured: e-mail to ``ROI_ALERT_EMAIL`` (else nowhere)."""
    rules = client.alerts
    if rules.email or rules.slack or rules.teams:
        return Route(tuple(rules.email), rules.slack, rules.teams)
    env = os.environ if environ is None else environ
    default = tuple(a.strip() for a in env.get(DEFAULT_EMAIL_ENV, "").split(",") if a.strip())
    return Route(email=default)


def quiet_until(quiet: QuietHours | None, tz_name: str, now: datetime) -> datetime | None:
    """When quiet hours end (UTC), if ``now`` is inside them in the client's zone; else ``None``."""
    if quiet is None:
        return None
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tz_name)
    local = now.astimezone(tz)
    start, end = (time.fromisoformat(quiet.start), time.fromisoformat(quiet.end))
    clock = local.time().replace(tzinfo=None)
    inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tz).astimezone(UTC)


@dataclass(frozen=True)
class Message:
    client_id: str
    client_name: str
    event: str  # "opened" | "resolved"
    kind: str
    subject: str
    summary: str
    at: str

    @property
    def title(self) -> str:
        label = {"failure_spike": "failure spike", "workflow_silent": "daily workflow silent",
                 "guarantee_at_risk": "guarantee at risk", "source_stale": "extraction stale"}.get(self.kind, self.kind)  # fmt: skip
        head = "ROI alert" if self.event == "opened" else "ROI alert resolved"
        return f"[{head}] {self.client_name}: {label} ({self.subject})"

    @property
    def text(self) -> str:
        if self.event == "opened":
            return f"{self.summary}\nOpen since {self.at}."
        return f"Cleared at {self.at}: {self.summary}"


def send(message: Message, channel: str, route: Route) -> None:
    """Deliver ``message`` through one channel of ``route``; raises :class:`NotifyFailed`."""
    try:
        if channel == "email":
            _email(message, route.email)
        elif channel == "slack":
            _slack(message, route.slack or "")
        elif channel == "teams":
            _teams(message, route.teams or "")
        else:
            raise ValueError(f"unknown channel {channel!r}")
    except NotifyFailed:
        raise
    except Exception as exc:  # the providers raise their own types
        conn = {"email": SMTP_CONN_ID, "slack": route.slack, "teams": route.teams}.get(channel)
        # an SMTP error names the server's answer; a webhook error may quote its URL (a secret)
        why = f"{type(exc).__name__}: {exc}" if channel == "email" else type(exc).__name__
        raise NotifyFailed(f"{message.client_id}: alert not sent by {channel} (connection {conn!r}): {why}") from exc


def _email(message: Message, to: tuple[str, ...]) -> None:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    body = "<p>" + "<br>".join(html.escape(line) for line in message.text.splitlines()) + "</p>"
    SmtpNotifier(to=list(to), subject=message.title, html_content=body, smtp_conn_id=SMTP_CONN_ID).notify(
        {}
    )  # the final text: no template is rendered


def _slack(message: Message, conn_id: str) -> None:
    try:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier
    except ImportError as exc:  # pragma: no cover - pinned in requirements.lock
        raise NotifyFailed("Slack alerts need apache-airflow-providers-slack (in requirements.lock)") from exc
    SlackWebhookNotifier(slack_webhook_conn_id=conn_id, text=f"*{message.title}*\n{message.text}").notify({})


def teams_payload(message: Message) -> dict[str, Any]:
    """An Adaptive Card in the envelope Teams incoming webhooks (and Workflows) accept."""
    card = {
        "type": "AdaptiveCard", "version": "1.4",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "body": [{"type": "TextBlock", "text": message.title, "weight": "Bolder", "wrap": True},
                 {"type": "TextBlock", "text": message.text, "wrap": True}],
    }  # fmt: skip
    return {
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
    }


def _teams(message: Message, conn_id: str) -> None:
    import httpx
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    url = conn.password if conn.password and "://" in conn.password else conn.host
    if not url or "://" not in url:
        raise NotifyFailed(f"connection {conn_id!r} holds no webhook URL (put it in the password)")
    timeout = float(conn.extra_dejson.get("timeout", 30))
    response = httpx.post(url, json=teams_payload(message), timeout=timeout)
    if response.status_code >= 300:
        raise NotifyFailed(
            f"{message.client_id}: Teams webhook (connection {conn_id!r}) answered {response.status_code}"
        )
