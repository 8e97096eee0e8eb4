from __future__ import annotations

from typing import Any

from reputation.api.blueprint import Blueprint
from reputation.api.pagination import page_schema, paginate
from reputation.audit.schemas import AuditEntrySchema, AuditQuerySchema
from reputation.audit.service import search_audit
from reputation.tenancy.auth import audit_reader

audit = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The audit log")


@audit.route("", methods=["GET"])
@audit_reader
@audit.arguments(AuditQuerySchema, location="query")
@audit.response(200, page_schema(AuditEntrySchema))
def list_entries(query: dict[str, Any]) -> Any:
    """Who did what to which object, newest first."""
    page, per_page = query.pop("page"), query.pop("per_page")
    return paginate(search_audit(**query), page, per_page)
