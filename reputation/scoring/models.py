from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from reputation.db import JSONType, UTCDateTime
from reputation.extensions import db
from reputation.tenancy.scope import TenantScoped


class TrustSnapshot(TenantScoped, db.Model):
    """A contractor's current assessment, as the last recompute left it."""

    __tablename__ = "trust_snapshots"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "contractor_id"], ["contractors.agency_id", "contractors.id"]
        ),
        # The contractor too, and the eligibility beside them, so that a band's contractors are
        # found, and counted, in the index alone, not in the snapshots' rows (kilobytes of JSON
        # each; contractors.service.search and search_total).
        Index(
            "ix_trust_snapshots_band",
            "agency_id",
            "band",
            "contractor_id",
            postgresql_include=["eligible"],
        ),
    )

    contractor_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    model_version: Mapped[str] = mapped_column(String(40))
    policy_version: Mapped[int] = mapped_column()
    # The latest change of evidence the computation saw; a later one makes the snapshot pending.
    evidence_watermark: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trust: Mapped[float] = mapped_column()
    belief: Mapped[float] = mapped_column()
    disbelief: Mapped[float] = mapped_column()
    uncertainty: Mapped[float] = mapped_column()
    r: Mapped[float] = mapped_column()
    s: Mapped[float] = mapped_column()
    band: Mapped[str] = mapped_column(String(30))
    eligible: Mapped[bool] = mapped_column()
    eligible_from: Mapped[date | None] = mapped_column()
    blockers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    next_steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    explanation: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    # Seven years of weekly points, ~50 kB of JSON: loaded when read (the trajectory), not with
    # every snapshot a list shows (25 of them are 1.2 MB to fetch and decode).
    projection: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, deferred=True)

    # Not stored: whether evidence changed since it was computed, set as it is read
    # (scoring.service.current_assessment).
    pending = False


class TrajectoryPoint(TenantScoped, db.Model):
    """The opinion at one moment of a contractor's history (TRUST_MODEL.md §6)."""

    __tablename__ = "trajectory_points"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "contractor_id"], ["contractors.agency_id", "contractors.id"]
        ),
    )

    contractor_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    trust: Mapped[float] = mapped_column()
    uncertainty: Mapped[float] = mapped_column()
    band: Mapped[str] = mapped_column(String(30))
