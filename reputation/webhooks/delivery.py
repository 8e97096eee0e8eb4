"""One delivery attempt over HTTP, and when to try again after a failure (DESIGN.md "Webhooks").

The client is the standard library's `http.client`: it never follows redirects, and its connect
step is ours, so the SSRF guard checks the very address the socket connects to.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import ssl
import threading
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


def _connect_to_a_public_address(
    host: str, port: int, timeout: float, allow_private: bool
) -> socket.socket:
    """A socket connected to one of the host's addresses, each checked before it is tried."""
    error: OSError | None = None
    for address in resolve(host, port, allow_private):
        try:
            sock = socket.create_connection((str(address), port), timeout)
        except OSError as refused:
            error = refused
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise error or OSError(f"{host} has no address to connect to")


class _GuardedHTTPConnection(http.client.HTTPConnection):
    """Connects only to a public address of the host, checked as it connects (no rebinding)."""

    allow_private = False
    raw_socket: socket.socket | None = None

    def connect(self) -> None:
        self.sock = self.raw_socket = _connect_to_a_public_address(
            self.host, self.port, self.timeout, self.allow_private
        )


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    allow_private = False
    raw_socket: socket.socket | None = None

    def connect(self) -> None:
        self.raw_socket = _connect_to_a_public_address(
            self.host, self.port, self.timeout, self.allow_private
        )
        # The certificate is checked against the host name, not the address.
        self.sock = ssl.create_default_context().wrap_socket(
            self.raw_socket, server_hostname=self.host
        )


def _retry_after(value: str | None) -> timedelta | None:
    """Retry-After as seconds or an HTTP date; None when it is neither (or absurd)."""
    value = (value or "").strip()
    if value.isascii() and value.isdigit() and len(value) <= 9:
        return timedelta(seconds=int(value))
    try:
        moment = parsedate_to_datetime(value)
        return max(timedelta(0), moment - datetime.now(moment.tzinfo))
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; a receiver may send anything.
    return text.replace("\x00", "\ufffd")


def post(url: str, body: str, headers: dict[str, str], allow_private: bool) -> Outcome:
    """POST `body` to `url` once: 15 s at most in all, no redirects, at most 16 KiB of the
    answer read. Whatever the receiver does, the answer is an Outcome, never an exception."""
    started = time.monotonic()

    def elapsed_ms() -> float:
        return round((time.monotonic() - started) * 1000, 1)

    try:
        scheme, host, port = parse_url(url, allow_private)
    except ForbiddenAddress as error:
        return Outcome(None, elapsed_ms(), "", str(error))
    connection_class = _GuardedHTTPSConnection if scheme == "https" else _GuardedHTTPConnection
    connection = connection_class(host, port, timeout=TIMEOUT_SECONDS)
    connection.allow_private = allow_private
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # One deadline for the whole attempt: a receiver that drips its headers or its body a byte
    # at a time is cut off when it passes, whatever each read's own timeout would allow.
    out_of_time = threading.Event()

    def cut_off() -> None:
        out_of_time.set()
        if connection.raw_socket is not None:
            with contextlib.suppress(OSError):
                connection.raw_socket.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(TIMEOUT_SECONDS, cut_off)
    watchdog.daemon = True
    watchdog.start()
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
            chunk = response.read1(RESPONSE_CAP - len(received))
            if not chunk:
                break
            received += chunk
        if out_of_time.is_set():
            raise TimeoutError(f"the receiver took more than {TIMEOUT_SECONDS:.0f} s")
        return Outcome(
            response.status,
            elapsed_ms(),
            _clean(received.decode("utf-8", "replace")),
            None if 200 <= response.status < 300 else f"HTTP {response.status}",
            _retry_after(response.getheader("Retry-After")),
        )
    except Exception as failure:
        reason = (
            TimeoutError(f"the receiver took more than {TIMEOUT_SECONDS:.0f} s")
            if out_of_time.is_set()
            else failure
        )
        return Outcome(None, elapsed_ms(), "", _clean(f"{type(reason).__name__}: {reason}")[:1000])
    finally:
        watchdog.cancel()
        connection.close()  # the rest of an answer over the cap is never read
