"""A person (a contractor's own account), the records of agencies linked to it, and the one-time
invitations that link them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from reputation.db import UTCDateTime, utcnow
from reputation.evidence import RecordedBy
from reputation.extensions import db
from reputation.ids import new_id
from reputation.tenancy.models import TenantModel
from reputation.tenancy.scope import TenantScoped


class Person(db.Model):
    """A contractor's own account. It belongs to no agency: one person may link the records of
    several, and only they can see those records side by side."""

    __tablename__ = "persons"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # What the session cookie carries; a new one on every password change ends every session.
    session_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The pages' language; None: the browser's Accept-Language.
    locale: Mapped[str | None] = mapped_column(String(10))

    # Flask-Login
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"person:{self.session_token}"


class PersonLink(TenantScoped, db.Model):
    """An agency's record of a contractor, linked to the person it is about (at most one)."""

    __tablename__ = "person_links"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "contractor_id"], ["contractors.agency_id", "contractors.id"]
        ),
        Index("ix_person_links_person", "person_id"),
    )

    contractor_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invitation(TenantModel, RecordedBy, db.Model):
    """A one-time link, sent by email, that lets a contractor reach their record. Only the
    SHA-256 of its token is stored."""

    __tablename__ = "invitations"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "contractor_id"], ["contractors.agency_id", "contractors.id"]
        ),
        # Found by its token from any agency; not unique, which only the agency could be (a
        # token is 256 random bits: two never meet).
        Index("ix_invitations_token", "token_hash"),
    )

    contractor_id: Mapped[uuid.UUID] = mapped_column()
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
