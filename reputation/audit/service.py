from __future__ import annotations

from typing import Any

from flask import g, has_request_context

from reputation.audit.models import AuditEntry
from reputation.extensions import db


def record_audit(
    action: str, object_type: str, object_id: object, details: dict[str, Any] | None = None
) -> AuditEntry:
    """Add an audit row for `action` on an object to the current transaction.

    The actor is the request's principal, or "system" for jobs and operators' commands.
    """
    principal = g.get("principal")
    entry = AuditEntry(
        actor_type=principal.kind if principal else "system",
        actor_id=str(principal.id) if principal else None,
        actor_label=principal.label if principal else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=details or {},
        request_id=g.get("request_id") if has_request_context() else None,
    )
    db.session.add(entry)
    return entry
