"""The one HTTP client every extractor uses: timeouts, retries, rate limits, no secrets shown.

- every call has a timeout (connect / read / write / pool);
- 429, 5xx, timeouts, dropped connections and unparseable JSON bodies are retried with
  exponential backoff and jitter (tenacity), waiting what the vendor asks for when it says:
  ``Retry-After`` (seconds or HTTP date; HubSpot, Harvest, n8n), HubSpot's
  ``X-HubSpot-RateLimit-Interval-Milliseconds``, Toggl's ``X-Toggl-Quota-Resets-In`` (Toggl
  answers 402 when the hourly quota is spent); a wait longer than ``max_wait`` fails at once;
- when a response says the rate budget is spent (``X-HubSpot-RateLimit-Remaining: 0``,
  ``X-Toggl-Quota-Remaining: 0``) the next call waits first instead of being refused;
- 401 / 403 raise :class:`AuthError` at once (a revoked token is not transient);
- messages name the method and path, never a header, and pass through ``redact``.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from roi_pipeline.extract.connections import redact

log = logging.getLogger("roi_pipeline.extract")


class ApiError(Exception):
    """A call that failed for good (after retries, or a non-retryable status)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class AuthError(ApiError):
    """401 / 403: the token was refused (revoked, expired, or missing a scope)."""


class _Retryable(Exception):
    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass
class HttpPolicy:
    """Timeouts and retry behaviour; tests inject ``sleep`` / ``transport`` and small values."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    attempts: int = 6
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    #: A vendor asking to wait longer than this fails the call instead of blocking the run.
    max_wait: float = 900.0
    sleep: Callable[[float], None] = time.sleep
    transport: httpx.BaseTransport | None = None
    user_agent: str = "roi-pipeline-extract/0.1"
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.read_timeout, connect=self.connect_timeout)


def _retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(0.0, (when - now).total_seconds())
    interval = headers.get("x-hubspot-ratelimit-interval-milliseconds")
    if interval and interval.isdigit():
        return int(interval) / 1000
    resets = headers.get("x-toggl-quota-resets-in")
    if resets and resets.strip().isdigit():
        return float(resets)
    return None


def _budget_spent_wait(headers: Mapping[str, str]) -> float | None:
    if headers.get("x-hubspot-ratelimit-remaining", "").strip() == "0":
        interval = headers.get("x-hubspot-ratelimit-interval-milliseconds", "")
        return int(interval) / 1000 if interval.isdigit() else 1.0
    if headers.get("x-toggl-quota-remaining", "").strip() == "0":
        resets = headers.get("x-toggl-quota-resets-in", "")
        return float(resets) if resets.strip().isdigit() else None
    return None


class ApiClient:
    """A JSON API at ``base_url`` with fixed auth headers; ``secrets`` are redacted everywhere."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str],
        secrets: list[str],
        policy: HttpPolicy,
        label: str,
        auth: httpx.Auth | tuple[str, str] | None = None,
    ):
        self.policy = policy
        self.label = label
        self.secrets = list(secrets)
        self.requests = 0
        self._pending_wait: float | None = None
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"User-Agent": policy.user_agent, "Accept": "application/json", **headers},
            auth=auth,
            timeout=policy.timeout(),
            transport=policy.transport,
            follow_redirects=False,  # a redirect would resend the token to another host
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return exc.retry_after
        return wait_exponential_jitter(
            multiplier=self.policy.backoff_initial, max=self.policy.backoff_max, jitter=self.policy.backoff_initial
        )(state)

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.warning(
            "%s: %s; retrying in %.1f s (attempt %d of %d)",
            self.label,
            redact(str(exc), self.secrets),
            wait,
            state.attempt_number + 1,
            self.policy.attempts,
        )

    def request_json(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> tuple[Any, httpx.Headers]:
        """Call and parse the JSON body; returns ``(body, headers)`` or raises :class:`ApiError`."""
        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_after_attempt(self.policy.attempts),
            wait=self._wait,
            sleep=self.policy.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._once, method, path, params, json)
        except _Retryable as exc:
            raise ApiError(
                f"{self.label}: {redact(str(exc), self.secrets)} (gave up after {self.policy.attempts} attempts)",
                exc.status,
            ) from None

    def _once(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> tuple[Any, httpx.Headers]:
        where = f"{method} {path}"
        if self._pending_wait:
            wait, self._pending_wait = self._pending_wait, None
            log.info("%s: rate budget spent, waiting %.1f s", self.label, wait)
            self.policy.sleep(wait)
        self.requests += 1
        try:
            response = self._client.request(method, path, params=params, json=body)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timeout on {where} ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"connection error on {where} ({type(exc).__name__})") from None
        status = response.status_code
        if status in (401, 403):
            raise AuthError(f"{self.label}: HTTP {status} on {where}: the credentials were refused", status)
        if status == 429 or status >= 500 or (status == 402 and "x-toggl-quota-resets-in" in response.headers):
            wait = _retry_after(response.headers, self.policy.now())
            if wait is not None and wait > self.policy.max_wait:
                raise ApiError(
                    f"{self.label}: HTTP {status} on {where}: the vendor asks to wait {wait:.0f} s "
                    f"(more than the {self.policy.max_wait:.0f} s allowed); try again later",
                    status,
                )
            raise _Retryable(f"HTTP {status} on {where}", status, wait)
        if status >= 400:
            snippet = redact(response.text[:300], self.secrets).replace("\n", " ")
            raise ApiError(f"{self.label}: HTTP {status} on {where}: {snippet}", status)
        try:
            data = response.json()
        except ValueError:
            raise _Retryable(f"malformed JSON body from {where} ({len(response.content)} bytes)", status) from None
        self._pending_wait = _budget_spent_wait(response.headers)
        if self._pending_wait is not None and self._pending_wait > self.policy.max_wait:
            self._pending_wait = None  # the next call will be refused and fail with a clear message
        return data, response.headers
