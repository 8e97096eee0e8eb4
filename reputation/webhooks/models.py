from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reputation.crypto import EncryptedString
from reputation.db import JSONType, UTCDateTime, utcnow
from reputation.extensions import db
from reputation.tenancy.models import TenantModel

# DESIGN.md "Webhooks", and `ping`, which only an endpoint's test sends.
EVENT_TYPES = (
    "contractor.created",
    "conduct_event.recorded",
    "conduct_event.retracted",
    "rehabilitation.recorded",
    "rehabilitation.verified",
    "trajectory.updated",
    "assessment.changed",
    "dispute.opened",
    "dispute.resolved",
    "statement.added",
)
PING = "ping"

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"


class WebhookEndpoint(TenantModel, db.Model):
    """Where an agency wants its events, which ones, and the secret that signs them."""

    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    # Empty: every type.
    event_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    headers: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    # Encrypted at rest (reputation/crypto.py); read and written in clear.
    secret: Mapped[str] = mapped_column(EncryptedString)
    # After a rotation the old secret signs too, until this moment.
    previous_secret: Mapped[str | None] = mapped_column(EncryptedString)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first failure since the last success: five days of nothing else disables the endpoint.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def wants(self, event_type: str) -> bool:
        return self.enabled and (not self.event_types or event_type in self.event_types)


class WebhookMessage(TenantModel, db.Model):
    """One event for one endpoint: its body and id never change, whatever the attempts."""

    __tablename__ = "webhook_messages"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "endpoint_id"], ["webhook_endpoints.agency_id", "webhook_endpoints.id"]
        ),
        # One message per event and endpoint, however often the event is fanned out.
        UniqueConstraint("agency_id", "endpoint_id", "outbox_id"),
        Index("ix_webhook_messages_endpoint", "agency_id", "endpoint_id", "created_at"),
        # The relay's scan for messages due an attempt, across agencies.
        Index(
            "ix_webhook_messages_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column()
    outbox_id: Mapped[uuid.UUID | None] = mapped_column()
    event_type: Mapped[str] = mapped_column(String(100))
    # The JSON text posted, exactly: what every attempt signs.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the relay when it hands the message to a job; the job clears it. Until then no other
    # job gets the message, and if the job is lost the message falls due again.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Every change checks and bumps it: a job whose lease ran out cannot write over a newer state.
    version: Mapped[int] = mapped_column(default=1)

    # Read by the delivery log, a page at a time (service.deliveries); the dispatcher writes
    # attempts on its own.
    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        viewonly=True, order_by="WebhookAttempt.attempted_at"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def webhook_id(self) -> str:
        """The `webhook-id` header: the same on every attempt, so receivers can deduplicate."""
        return f"msg_{self.id.hex}"


class WebhookAttempt(TenantModel, db.Model):
    """One try at delivering a message, as it went."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "message_id"],
            ["webhook_messages.agency_id", "webhook_messages.id"],
            ondelete="CASCADE",
        ),
        Index("ix_webhook_attempts_message", "agency_id", "message_id", "attempted_at"),
    )

    message_id: Mapped[uuid.UUID] = mapped_column()
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column()
    latency_ms: Mapped[float] = mapped_column()
    response_body: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(String(1000))
