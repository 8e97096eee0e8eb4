"""A real SMTP server for the suite (aiosmtpd on 127.0.0.1): the service sends its mail there and
a test reads what arrived. A pytest plugin, registered by tests/conftest.py, which gives the
server's URL to the app and to the service's processes as MAIL_URL.

    def test_...(app, mailbox):
        ...
        run_jobs(app, redis_url)
        (message,) = mailbox.wait_for(to="sam@example.com")
        assert message["Subject"] == "..."
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


class Mailbox:
    """An SMTP server that keeps every message it accepts, and can be told to refuse."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.url = f"smtp://127.0.0.1:{self.port}"
        self._received: list[tuple[list[str], EmailMessage]] = []
        self._refusals: dict[str, str] = {}
        self._arrival = threading.Condition()
        self._server: Controller | None = None

    def start(self) -> None:
        # A fixed name spares a DNS lookup of this machine's own name.
        self._server = Controller(
            self, hostname="127.0.0.1", port=self.port, server_hostname="mailbox.test"
        )
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def messages(self) -> list[EmailMessage]:
        """Every message accepted since the test began, in order of arrival."""
        with self._arrival:
            return [message for _, message in self._received]

    def wait_for(self, to: str, timeout: float = 10.0) -> list[EmailMessage]:
        """The messages accepted for `to`, once there is at least one; fails the test if none
        arrives within `timeout` seconds (a worker in another process may still be sending)."""
        deadline = time.monotonic() + timeout
        with self._arrival:
            while not (found := self._for(to)):
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no mail for {to} within {timeout} s", pytrace=False)
                self._arrival.wait(left)
            return found

    def _for(self, to: str) -> list[EmailMessage]:
        return [message for recipients, message in self._received if to.lower() in recipients]

    @contextmanager
    def down(self) -> Iterator[None]:
        """A mail outage: nothing listens on the server's port until the block ends."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    @contextmanager
    def refusing(self, address: str, reply: str) -> Iterator[None]:
        """Within the block the server answers `reply` ("550 5.1.1 No such user", "450 …") when
        a message is addressed to `address`."""
        self._refusals[address.lower()] = reply
        try:
            yield
        finally:
            del self._refusals[address.lower()]

    def empty(self) -> None:
        with self._arrival:
            self._received.clear()
        self._refusals.clear()

    # aiosmtpd's handler hooks, run on the server's thread.

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        refusal = self._refusals.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, _class=EmailMessage, policy=policy.default)
        recipients = [address.lower() for address in envelope.rcpt_tos]
        with self._arrival:
            self._received.append((recipients, message))
            self._arrival.notify_all()
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def mail_server() -> Iterator[Mailbox]:
    """The suite's SMTP server, listening from the first test that needs it to the last."""
    server = Mailbox()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(mail_server: Mailbox) -> Mailbox:
    """The suite's SMTP server, empty and accepting every recipient as the test begins."""
    mail_server.empty()
    return mail_server
