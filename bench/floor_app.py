"""The floor of an event write: bare Flask and psycopg, served by gunicorn with the service's own
configuration (deploy/gunicorn.conf.py), as bench/events_http.py runs it beside the service.

    DATABASE_URL=postgresql://… gunicorn -c deploy/gunicorn.conf.py --chdir bench floor_app:app

POST /api/v1/contractors/<id>/events does the least an authenticated, tenant-isolated write can:
it hashes the API key, looks the hash up (under the same row-level security as the service, as
the same database role), and INSERTs the event in the key's agency, in one transaction; nothing
else (no validation beyond JSON, no audit, no outbox, no webhooks, no metrics, no limits). Each
gunicorn thread keeps its own connection. GET /healthz answers without the database.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from typing import Any

import psycopg
from flask import Flask, jsonify, request

app = Flask(__name__)
DATABASE_URL = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
_local = threading.local()


def connection() -> psycopg.Connection[Any]:
    """This thread's connection, opened on first use and again after a failure closed it."""
    current = getattr(_local, "connection", None)
    if current is None or current.closed:
        current = _local.connection = psycopg.connect(DATABASE_URL)
    return current


@app.post("/api/v1/contractors/<uuid:contractor_id>/events")
def record_event(contractor_id: uuid.UUID) -> Any:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return jsonify(detail="no API key"), 401
    key_hash = hashlib.sha256(token.strip().encode()).hexdigest()
    body = request.get_json()
    event_id = uuid.uuid4()
    database = connection()
    with database.transaction():
        database.execute("SELECT set_config('app.api_key_hash', %s, true)", [key_hash])
        key = database.execute(
            "SELECT agency_id FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL",
            [key_hash],
        ).fetchone()
        if key is None:
            return jsonify(detail="unknown API key"), 401
        database.execute("SELECT set_config('app.agency_id', %s, true)", [str(key[0])])
        database.execute(
            "INSERT INTO conduct_events (agency_id, id, contractor_id, kind, valence, severity,"
            " occurred_at, recorded_at, summary, details, evidence_urls, source, status,"
            " recorded_by_type, recorded_by) VALUES (%s, %s, %s, %s, 'negative', 2, %s, now(),"
            " %s, '', '[]', 'agency', 'active', 'api_key', 'floor')",
            [key[0], event_id, contractor_id, body["kind"], body["occurred_at"], body["summary"]],
        )
    return jsonify(id=str(event_id)), 201


@app.get("/healthz")
def healthz() -> Any:
    return jsonify(status="ok")
