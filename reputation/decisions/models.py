from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from reputation.db import JSONType, UTCDateTime, utcnow
from reputation.evidence import RecordedBy
from reputation.extensions import db
from reputation.tenancy.models import TenantModel

DECISIONS = ("engage", "decline", "probation")


class Decision(TenantModel, RecordedBy, db.Model):
    """Append-only: a changed mind is a new decision."""

    __tablename__ = "decisions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "contractor_id"], ["contractors.agency_id", "contractors.id"]
        ),
        Index("ix_decisions_contractor", "agency_id", "contractor_id", "decided_at"),
    )

    contractor_id: Mapped[uuid.UUID] = mapped_column()
    decision: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The assessment current when the decision was made, as GET …/assessment showed it.
    assessment: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
