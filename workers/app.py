"""The Flask app as the worker processes use it."""

from __future__ import annotations

import os

from flask import Flask

from reputation.app import create_app
from reputation.extensions import db

_app: Flask | None = None
_pid: int | None = None


def worker_app() -> Flask:
    """This process's app. After a fork, the inherited connection pools are dropped, not shared."""
    global _app, _pid
    if _app is None:
        _app = create_app()
    if _pid != os.getpid():
        with _app.app_context():
            db.engine.dispose(close=False)
        _app.extensions.pop("redis", None)
        _pid = os.getpid()
    return _app


def use_app(app: Flask) -> None:
    """Run this process's jobs with `app` (an embedding program's, or a test's)."""
    global _app, _pid
    _app, _pid = app, os.getpid()
