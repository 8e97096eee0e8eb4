from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Computed, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reputation.db import UTCDateTime, utcnow
from reputation.extensions import db
from reputation.tenancy.models import TenantModel
from reputation.tenancy.scope import TenantScoped

STATUSES = ("active", "archived")
# What a search for text matches (service.search): the name, email and external reference,
# lowercased by the database as the search lowercases them, between separators a search that
# does not contain one cannot match across.
SEARCH_SEPARATOR = "|"
SEARCH_TEXT = (
    f"lower(name) || '{SEARCH_SEPARATOR}' || lower(coalesce(email, ''))"
    f" || '{SEARCH_SEPARATOR}' || lower(coalesce(external_ref, ''))"
)


class Contractor(TenantModel, db.Model):
    """A contractor as one agency knows them. The same person at two agencies is two rows."""

    __tablename__ = "contractors"
    __table_args__ = (
        UniqueConstraint("agency_id", "external_ref"),
        Index("ix_contractors_agency_name", "agency_id", "name"),
        Index("ix_contractors_agency_email", "agency_id", "email"),
    )

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    # The agency's own id for the contractor (its ATS's), unique within the agency.
    external_ref: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic locking: the ETag of a contractor, and a stale write's 412.
    version: Mapped[int] = mapped_column(default=1)
    # Written by PostgreSQL with the row (computed as it is read on SQLite). A search reads every
    # contractor of the agency: under row-level security PostgreSQL puts no LIKE in an index
    # condition (LIKE is not leakproof), so no index can serve `%…%`; one LIKE over this column
    # costs several times less than three lower() calls (bench/portal.py).
    search_text: Mapped[str] = mapped_column(Text, Computed(SEARCH_TEXT), deferred=True)

    # Loaded when read; lists load them for a whole page at once (service.search).
    tag_rows: Mapped[list[ContractorTag]] = relationship(
        cascade="all, delete-orphan", order_by="ContractorTag.tag"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


class ContractorTag(TenantScoped, db.Model):
    """A tag or skill of a contractor; a table of its own so lists filter by tag on any database."""

    __tablename__ = "contractor_tags"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "contractor_id"],
            ["contractors.agency_id", "contractors.id"],
            ondelete="CASCADE",
        ),
        Index("ix_contractor_tags_agency_tag", "agency_id", "tag"),
    )

    contractor_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)
