"""A request for a reference (the one-time link a referee follows, what they answered, and the
warning signs found on the way), and the addresses a person signed in from, which a referee's
answer is compared with."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reputation.db import JSONType, UTCDateTime, utcnow
from reputation.evidence import RecordedBy
from reputation.extensions import db
from reputation.tenancy.models import TenantModel

# What a warning sign says, in `ReferenceRequest.fraud_signals` (each with its details).
OWN_EMAIL = "own_email"  # the referee's address is the contractor's own
FREE_MAIL = "free_mail"  # the referee writes from a free-mail address: anyone can open one
SAME_DOMAIN = "same_domain"  # the referee's address shares the contractor's own domain
SESSION_ADDRESS = "session_address"  # answered from an address the contractor signed in from
QUICK_ANSWER = "quick_answer"  # answered within a minute of the request being sent
SIGNALS = (OWN_EMAIL, FREE_MAIL, SAME_DOMAIN, SESSION_ADDRESS, QUICK_ANSWER)


class ReferenceRequest(TenantModel, RecordedBy, db.Model):
    """A referee asked, by the agency's staff or the contractor (RecordedBy), to vouch for a
    contractor through a one-time link. Only the SHA-256 of its token is stored. Answered, it
    holds the answers and the pending `reference` step they made."""

    __tablename__ = "reference_requests"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "contractor_id"], ["contractors.agency_id", "contractors.id"]
        ),
        ForeignKeyConstraint(
            ["agency_id", "addresses_event_id"],
            ["conduct_events.agency_id", "conduct_events.id"],
        ),
        ForeignKeyConstraint(
            ["agency_id", "step_id"],
            ["rehabilitation_steps.agency_id", "rehabilitation_steps.id"],
        ),
        # An answer makes one step; the staff's page finds the request by it.
        UniqueConstraint("agency_id", "step_id"),
        # Found by its token from any agency, as an invitation is.
        Index("ix_reference_requests_token", "token_hash"),
        Index("ix_reference_requests_contractor", "agency_id", "contractor_id", "sent_at"),
    )

    contractor_id: Mapped[uuid.UUID] = mapped_column()
    addresses_event_id: Mapped[uuid.UUID | None] = mapped_column()
    referee_name: Mapped[str] = mapped_column(String(200))
    referee_email: Mapped[str] = mapped_column(String(254))
    relationship: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    step_id: Mapped[uuid.UUID | None] = mapped_column()
    # [{"code": one of SIGNALS, "details": {...}}], shown to the agency before it verifies.
    fraud_signals: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)


class PersonAddress(db.Model):
    """An address a person signed in or signed up from, first and last seen. It belongs to no
    agency, as the person does; erasing the person erases these."""

    __tablename__ = "person_addresses"

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    # An IPv6 address in full, with an IPv4 one inside it, is at most 45 characters.
    address: Mapped[str] = mapped_column(String(45), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
