from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from reputation.db import JSONType, UTCDateTime, utcnow
from reputation.extensions import db
from reputation.tenancy.models import TenantModel


class AuditEntry(TenantModel, db.Model):
    """One action on one object. Append-only: on PostgreSQL a trigger refuses UPDATE and DELETE."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_agency_at", "agency_id", "at"),
        Index("ix_audit_entries_agency_object", "agency_id", "object_type", "object_id"),
    )

    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "user", "api_key" or "system"; the actor's id and a label that survives renames.
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
