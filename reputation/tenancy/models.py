"""Agencies, staff users and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reputation.db import JSONType, UTCDateTime, utcnow
from reputation.extensions import db
from reputation.ids import new_id
from reputation.roles import Role
from reputation.tenancy.scope import TenantScoped


class Agency(db.Model):
    """A recruitment agency: the tenant. Every other row belongs to exactly one."""

    __tablename__ = "agencies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TenantModel(TenantScoped):
    """Columns of every tenant-owned table: the primary key is (agency_id, id).

    Carrying agency_id in the key lets composite foreign keys forbid a row of one agency from
    pointing at another's, and is what a distributed PostgreSQL (Citus) needs to co-locate an
    agency's rows.
    """

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id, sort_order=-1)


class User(TenantModel, db.Model):
    """A member of an agency's staff."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("agency_id", "email"),)

    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    # What the session cookie carries; a new one on every password change ends every session.
    session_token: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The portal's language for this person; None: their browser's Accept-Language.
    locale: Mapped[str | None] = mapped_column(String(10))

    # Flask-Login
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.agency_id}:{self.session_token}"


class ApiKey(TenantModel, db.Model):
    """A credential for an agency's own systems. Only its SHA-256 is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (
        UniqueConstraint("agency_id", "key_hash"),
        # Authentication looks a key up by its hash before the agency is known.
        Index("ix_api_keys_key_hash", "key_hash"),
        ForeignKeyConstraint(["agency_id", "created_by_id"], ["users.agency_id", "users.id"]),
    )

    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSONType)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
