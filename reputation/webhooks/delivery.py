"""One delivery attempt over HTTP, and when to try again after a failure (DESIGN.md "Webhooks").

The client is the standard library's `http.client`: it never follows redirects, and its connect
step is ours, so the SSRF guard checks the very address the socket connects to.
"""

from __future__ import annotations

import http.client
import random
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

from reputation.webhooks.addresses import ForbiddenAddress, parse_url, resolve

TIMEOUT_SECONDS = 15.0
RESPONSE_CAP = 16 * 1024
USER_AGENT = "reputation-webhooks/1"

# After the n-th failed attempt, wait RETRY_SCHEDULE[n - 1] (±20%): 41.6 hours in all.
RETRY_SCHEDULE = tuple(
    timedelta(seconds=s)
    for s in (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600, 14 * 3600)
)
JITTER = 0.2
# A Retry-After longer than this is read as this: a receiver cannot park a message for a year.
LONGEST_RETRY_AFTER = timedelta(hours=14)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: float
    response_body: str
    error: str | None
    retry_after: timedelta | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signatures(webhook_id: str, timestamp: datetime, body: str, secrets: list[str]) -> str:
    """The `webhook-signature` header: one `v1,…` per secret, space-separated."""
    return " ".join(Webhook(secret).sign(webhook_id, timestamp, body) for secret in secrets)


def next_attempt_after(
    attempts: int, outcome: Outcome, rng: random.Random | None = None
) -> timedelta | None:
    """How long to wait after the `attempts`-th failed attempt; None when the schedule is spent.

    A 429 or 503 with `Retry-After` is honoured instead of the schedule (within the schedule's
    length, so the message still ends).
    """
    if attempts > len(RETRY_SCHEDULE):
        return None
    if outcome.retry_after is not None and outcome.status_code in (429, 503):
        return min(outcome.retry_after, LONGEST_RETRY_AFTER)
    base = RETRY_SCHEDULE[attempts - 1]
    return base * (rng or random).uniform(1 - JITTER, 1 + JITTER)


class _GuardedHTTPConnection(http.client.HTTPConnection):
    """Connects only to a public address of the host, checked as it connects (no rebinding)."""

    allow_private = False

    def connect(self) -> None:
        address = resolve(self.host, self.port, self.allow_private)[0]
        self.sock = socket.create_connection((str(address), self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    allow_private = False

    def connect(self) -> None:
        address = resolve(self.host, self.port, self.allow_private)[0]
        sock = socket.create_connection((str(address), self.port), self.timeout)
        # The certificate is checked against the host name, not the address.
        self.sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)


def _retry_after(value: str | None) -> timedelta | None:
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(timedelta(0), moment - datetime.now(moment.tzinfo))


def post(url: str, body: str, headers: dict[str, str], allow_private: bool) -> Outcome:
    """POST `body` to `url` once: 15 s at most, no redirects, at most 16 KiB of the answer read."""
    started = time.monotonic()
    deadline = started + TIMEOUT_SECONDS

    def elapsed_ms() -> float:
        return round((time.monotonic() - started) * 1000, 1)

    try:
        scheme, host, port = parse_url(url, allow_private)
        connection_class = _GuardedHTTPSConnection if scheme == "https" else _GuardedHTTPConnection
        connection = connection_class(host, port, timeout=TIMEOUT_SECONDS)
        connection.allow_private = allow_private
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    except ForbiddenAddress as error:
        return Outcome(None, elapsed_ms(), "", str(error))
    try:
        connection.request(
            "POST",
            path,
            body=body.encode(),
            headers={**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        response = connection.getresponse()
        received = bytearray()
        while len(received) < RESPONSE_CAP:
            # A receiver that drips its answer still gets 15 s in all, not 15 s per byte.
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the receiver took more than 15 s")
            if connection.sock is not None:
                connection.sock.settimeout(remaining)
            chunk = response.read1(RESPONSE_CAP - len(received))
            if not chunk:
                break
            received += chunk
        return Outcome(
            response.status,
            elapsed_ms(),
            received.decode("utf-8", "replace"),
            None if 200 <= response.status < 300 else f"HTTP {response.status}",
            _retry_after(response.getheader("Retry-After")),
        )
    except ForbiddenAddress as error:
        return Outcome(None, elapsed_ms(), "", str(error))
    except (OSError, http.client.HTTPException) as error:
        return Outcome(None, elapsed_ms(), "", f"{type(error).__name__}: {error}"[:1000])
    finally:
        connection.close()  # the rest of an answer over the cap is never read
