"""Sending mail: recorded with the write that causes it, sent by the `mail` job after the commit.

A write never waits on a mail server and never fails because of one: `send_mail` only adds an
outbox row, and the job that sends it is retried, with back-off, while the server is unreachable
or answers "try later" (workers/relay.py).
"""

from __future__ import annotations

import logging
import smtplib
from email.utils import format_datetime, make_msgid, parseaddr

from flask import current_app

from reputation import clock, jobs
from reputation.config import ConfigurationError
from reputation.mail.smtp import compose, parse_mail_url, refused_for_good, send
from reputation.outbox.models import OutboxMessage
from reputation.outbox.service import enqueue_after_commit

log = logging.getLogger(__name__)


def send_mail(to: str, subject: str, text: str) -> OutboxMessage:
    """Send a plain-text message to `to` once the current transaction commits.

    The caller renders `subject` and `text` in the recipient's language. The message's
    Message-ID and Date are fixed here, so every attempt of the job sends the same message and a
    mail client can recognise a copy sent twice. Raises ValueError for a recipient that is not
    one address: the caller's own validation should have refused it.
    """
    fields = {
        "to": to,
        "subject": subject,
        "text": text,
        "message_id": make_msgid(domain=_sender_domain()),
        "date": format_datetime(clock.now(), usegmt=True),
    }
    compose(current_app.config["MAIL_FROM"], **fields)  # refused now rather than in the worker
    return enqueue_after_commit(jobs.SEND_MAIL, **fields)


def deliverable(address: str) -> bool:
    """Whether a message can be addressed to `address`. The API's email pattern admits a few
    that the email standard reads otherwise (a parenthesis starts a comment): a service refuses
    those where a person typed them, and leaves them out of a list of recipients."""
    try:
        compose("sender@localhost", address, "", "", "<check@localhost>", "")
    except ValueError:
        return False
    return True


def deliver(to: str, subject: str, text: str, message_id: str, date: str) -> bool:
    """Send one message over SMTP now (the `mail` job). Returns False when the server refused it
    for good, which is logged; raises when it may yet go through, so that RQ tries again later.
    """
    url = current_app.config["MAIL_URL"]
    if not url:
        raise ConfigurationError("MAIL_URL is not set; the message waits for it in its retries")
    message = compose(current_app.config["MAIL_FROM"], to, subject, text, message_id, date)
    try:
        send(parse_mail_url(url), message)
    except smtplib.SMTPException as error:
        if not refused_for_good(error):
            raise
        log.warning("mail %s refused for good, not retried: %s", message_id, error)
        return False
    return True


def _sender_domain() -> str:
    # Message-IDs are named after the service's own domain, as RFC 5322 suggests.
    return parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2]
