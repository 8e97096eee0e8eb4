from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g, has_request_context
from sqlalchemy import Select, select

from reputation.actors import current_actor
from reputation.audit.models import AuditEntry
from reputation.extensions import db
from reputation.tenancy.scope import current_agency_id


def record_audit(
    action: str, object_type: str, object_id: object, details: dict[str, Any] | None = None
) -> AuditEntry:
    """Add an audit row for `action` on an object to the current transaction.

    The actor is the request's principal or person, or "system" for jobs and operators'
    commands.
    """
    actor = current_actor()
    entry = AuditEntry(
        actor_type=actor.kind,
        actor_id=str(actor.id) if actor.id else None,
        actor_label=actor.label if actor.kind != "system" else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=details or {},
        request_id=g.get("request_id") if has_request_context() else None,
    )
    db.session.add(entry)
    return entry


def search_audit(
    *,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[tuple[AuditEntry]]:
    """The agency's audit entries matching every filter given, newest first: an exact action,
    object or actor, and a period from `since` (included) to `until` (excluded)."""
    statement = (
        select(AuditEntry)
        .where(AuditEntry.agency_id == current_agency_id())
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )
    exact = (
        (AuditEntry.action, action),
        (AuditEntry.object_type, object_type),
        (AuditEntry.object_id, object_id),
        (AuditEntry.actor_id, actor_id),
    )
    for column, value in exact:
        if value is not None:
            statement = statement.where(column == value)
    if since is not None:
        statement = statement.where(AuditEntry.at >= since)
    if until is not None:
        statement = statement.where(AuditEntry.at < until)
    return statement
