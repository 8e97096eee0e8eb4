from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reputation.db import JSONType, UTCDateTime, utcnow
from reputation.evidence import RecordedBy
from reputation.extensions import db
from reputation.tenancy.models import TenantModel


class PolicyVersion(TenantModel, RecordedBy, db.Model):
    """One version of an agency's policy: its overrides of the defaults. Never changed."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("agency_id", "version"),)

    version: Mapped[int] = mapped_column()
    overrides: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PolicySimulation(TenantModel, RecordedBy, db.Model):
    """A proposed policy run over the agency's contractors, and what it would change."""

    __tablename__ = "policy_simulations"

    overrides: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(db.String(20), default="queued")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
