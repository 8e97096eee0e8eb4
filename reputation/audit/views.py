from __future__ import annotations

from typing import Any

from sqlalchemy import select

from reputation.api.blueprint import Blueprint
from reputation.api.pagination import page_schema, paginate
from reputation.audit.models import AuditEntry
from reputation.audit.schemas import AuditEntrySchema, AuditQuerySchema
from reputation.tenancy.auth import audit_reader

audit = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The audit log")

_EXACT_FILTERS = ("action", "object_type", "object_id", "actor_id")


@audit.route("", methods=["GET"])
@audit_reader
@audit.arguments(AuditQuerySchema, location="query")
@audit.response(200, page_schema(AuditEntrySchema))
def list_entries(query: dict[str, Any]) -> Any:
    """Who did what to which object, newest first."""
    statement = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    for name in _EXACT_FILTERS:
        if name in query:
            statement = statement.where(getattr(AuditEntry, name) == query[name])
    if "since" in query:
        statement = statement.where(AuditEntry.at >= query["since"])
    if "until" in query:
        statement = statement.where(AuditEntry.at < query["until"])
    return paginate(statement, query["page"], query["per_page"])
