"""The Redis connection and RQ queues, as the web app and the workers both see them."""

from __future__ import annotations

from flask import current_app
from redis import Redis
from rq import Queue


def redis_connection() -> Redis:
    """The app's Redis connection (one pool per process)."""
    connection: Redis | None = current_app.extensions.get("redis")
    if connection is None:
        connection = Redis.from_url(
            current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
        )
        current_app.extensions["redis"] = connection
    return connection


def queue(name: str) -> Queue:
    return Queue(name, connection=redis_connection())
