"""One message over SMTP with the standard library, and the MAIL_URL that says where to send it.

No Flask here: the configuration checks MAIL_URL with the same parser the worker sends with.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

# Each step of the exchange (connect, a command, its reply) may take this long.
TIMEOUT_SECONDS = 30.0
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    """Where mail goes: `smtp://[user:pass@]host[:port][?starttls=1]`, or `smtps://` for TLS
    from the first byte."""

    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None


def parse_mail_url(url: str) -> SmtpServer:
    """The server a MAIL_URL names; ValueError saying what is wrong with a malformed one."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("the scheme is smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("there is no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError("there is nothing after the host and port but ?starttls=1")
    port = parts.port or DEFAULT_PORTS[parts.scheme]  # ValueError for a port out of range
    starttls = _starttls(parts.query)
    if starttls and parts.scheme == "smtps":
        raise ValueError("smtps:// is TLS already; starttls=1 is for smtp://")
    username = unquote(parts.username) if parts.username else None
    if username and parts.scheme == "smtp" and not starttls:
        # A password in clear over the network is refused rather than sent.
        raise ValueError("a password needs TLS: add ?starttls=1 or use smtps://")
    return SmtpServer(
        host=parts.hostname,
        port=port,
        implicit_tls=parts.scheme == "smtps",
        starttls=starttls,
        username=username,
        password=unquote(parts.password) if parts.password else None,
    )


def _starttls(query: str) -> bool:
    # An unknown option or value is refused: a typo must not quietly send mail in clear.
    options = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    if set(options) - {"starttls"}:
        raise ValueError("the only option is starttls=1")
    values = options.get("starttls", ["0"])
    if len(values) != 1 or values[0] not in ("0", "1"):
        raise ValueError("starttls is 1 or 0")
    return values[0] == "1"


def compose(
    sender: str, to: str, subject: str, text: str, message_id: str, date: str
) -> EmailMessage:
    """A plain-text message in UTF-8. ValueError for a recipient that is not one address, or for
    a header with a line break in it (which would let it write headers of its own)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    addresses = message["To"].addresses
    if len(addresses) != 1 or not addresses[0].domain or message["To"].defects:
        raise ValueError(f"{to!r} is not one email address")
    message["Subject"] = subject
    message["Date"] = date
    message["Message-ID"] = message_id
    message.set_content(text)
    return message


def send(server: SmtpServer, message: EmailMessage) -> None:
    """Hand `message` to `server`. Raises OSError when the server cannot be reached and
    smtplib's errors when it refuses (see `refused_for_good`)."""
    context = ssl.create_default_context()
    client = (
        smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT_SECONDS, context=context)
        if server.implicit_tls
        else smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)
    )
    with client:
        if server.starttls:
            client.starttls(context=context)
        if server.username:
            client.login(server.username, server.password or "")
        client.send_message(message)


def refused_for_good(error: smtplib.SMTPException) -> bool:
    """Whether the server refused this very message for good: a 5xx reply to its recipient or to
    its content would be the same tomorrow. A 4xx asks to try later; a refusal of the sender or
    of the login is the service's configuration, which an operator may put right in the meantime.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPDataError) and error.smtp_code >= 500
