"""`Idempotency-Key` on POST: a retried request gets the stored response and writes nothing twice.

The record of a key is written in the same transaction as the request's own writes, so the two
commit together or not at all. A concurrent duplicate loses the race on the primary key, rolls
back its writes, and answers with the winner's stored response. Keys are scoped to the principal
that sent them and kept for `IDEMPOTENCY_TTL_SECONDS`; only successful (2xx) responses are
stored, since a failed request wrote nothing and may simply be sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

from flask import Response, current_app, g, request
from sqlalchemy import String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from reputation import clock
from reputation.api.problems import ApiError, problem
from reputation.db import JSONType, UTCDateTime, utcnow
from reputation.extensions import db
from reputation.tenancy.scope import TenantScoped

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyRecord(TenantScoped, db.Model):
    __tablename__ = "idempotency_records"

    principal: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column()
    body: Mapped[str] = mapped_column(db.Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def _fingerprint() -> str:
    """What makes two requests the same: credentials' authority, method, path, query and body.

    Keyed with SECRET_KEY, so a stored fingerprint says nothing about a body (which may hold a
    password) to someone who reads the database. The principal's role and scopes are part of it:
    a replay never outlives a change of what the caller may do.
    """
    principal = g.principal
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), digestmod=hashlib.sha256)
    authority = f"{principal.role}|{','.join(sorted(principal.scopes))}"
    for part in (authority.encode(), request.method.encode(), request.path.encode()):
        digest.update(part + b"\0")
    digest.update(request.query_string + b"\0")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def redact_on_replay(*fields: str) -> None:
    """Keep these response fields (a secret shown once) out of the stored copy; a replay shows
    them as null and says so in `Idempotent-Redacted`."""
    g.idempotency_redact = fields


def _lookup(principal: str, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.principal == principal,
            IdempotencyRecord.key == key,
            IdempotencyRecord.expires_at > clock.now(),
        )
    )


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.body, status=record.status_code, headers=record.headers)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _conflict() -> Response:
    return problem(
        409,
        f"This {HEADER} was already used with another request (body, path or the credentials' "
        "rights); use a new key for a new request.",
        title="Idempotency key reused",
    )


def replay_or_continue() -> Response | None:
    """Before a POST's view runs: answer a repeated key, refuse a reused one, or note it."""
    key = request.headers.get(HEADER)
    principal = g.get("principal")
    if request.method != "POST" or key is None or principal is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(
            400,
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
            field=HEADER,
            location="headers",
        )
    fingerprint = _fingerprint()
    record = _lookup(principal.key, key)
    if record is not None:
        return _replay(record) if record.fingerprint == fingerprint else _conflict()
    g.idempotency = (principal.key, key, fingerprint)
    return None


def remember(response: Response) -> None:
    """Add the response of a successful keyed POST to the request's transaction."""
    pending = g.pop("idempotency", None)
    if pending is None or not 200 <= response.status_code < 300:
        return
    principal, key, fingerprint = pending
    now = clock.now()
    body = response.get_data(as_text=True)
    headers = {
        name: value
        for name, value in response.headers.items()
        if name in ("Content-Type", "Location", "ETag")
    }
    redacted = g.pop("idempotency_redact", ())
    if redacted:
        body = json.dumps({**json.loads(body), **dict.fromkeys(redacted)})
        headers["Idempotent-Redacted"] = ", ".join(redacted)
    # An expired record of the same key gives way to the new one; a live one, committed by a
    # concurrent twin since our look-up, stays and makes this commit fail on the primary key.
    db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.principal == principal,
            IdempotencyRecord.key == key,
            IdempotencyRecord.expires_at <= now,
        )
    )
    db.session.add(
        IdempotencyRecord(
            principal=principal,
            key=key,
            fingerprint=fingerprint,
            status_code=response.status_code,
            body=body,
            headers=headers,
            expires_at=now + timedelta(seconds=current_app.config["IDEMPOTENCY_TTL_SECONDS"]),
        )
    )


def answer_for_lost_race() -> Response | None:
    """After a keyed POST failed to commit: the response of the request that won, if any."""
    key = request.headers.get(HEADER)
    principal = g.get("principal")
    if request.method != "POST" or not key or principal is None:
        return None
    record = _lookup(principal.key, key)
    if record is None:
        return None
    return _replay(record) if record.fingerprint == _fingerprint() else _conflict()


def purge_expired() -> int:
    """Delete expired records (all agencies: run in system scope). Returns how many."""
    result = db.session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= clock.now())
    )
    return result.rowcount or 0
