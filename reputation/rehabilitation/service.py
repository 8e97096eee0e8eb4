"""The rules of rehabilitation steps: what a step may address, and who verifies it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, select

from reputation import clock
from reputation.audit.service import record_audit
from reputation.conduct.models import RETRACTED, ConductEvent
from reputation.contractors.models import Contractor
from reputation.errors import Conflict, Invalid
from reputation.evidence import recorder
from reputation.extensions import db
from reputation.outbox.service import publish_event, recompute_after_commit
from reputation.rehabilitation.models import PENDING, RehabilitationStep
from reputation.rehabilitation.schemas import StepSchema
from reputation.tenancy.auth import Principal
from reputation.tenancy.scope import current_agency_id
from reputation.trust.taxonomy import Valence


class AddressedEvent(Protocol):
    """What the check of a step reads of the event the step addresses."""

    @property
    def contractor_id(self) -> uuid.UUID: ...
    @property
    def valence(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...


def _check_addressed_event(
    contractor: Contractor, event_id: uuid.UUID, facts: dict[str, Any]
) -> None:
    event = db.session.get(ConductEvent, (contractor.agency_id, event_id))
    check_addressed_event(contractor.id, event, facts["occurred_at"])


def check_addressed_event(
    contractor_id: uuid.UUID, event: AddressedEvent | None, occurred_at: datetime
) -> None:
    """A step addresses a negative, unretracted event of the same contractor that came before.

    `event` is anything with the event's columns: an import checks a whole batch of steps
    against events it read in one query (imports.batches)."""
    if event is None or event.contractor_id != contractor_id:
        raise Invalid("addresses_event_id", "No event with this id for this contractor.")
    if event.valence != Valence.NEGATIVE:
        raise Invalid("addresses_event_id", "A step addresses a negative event only.")
    if event.status == RETRACTED:
        raise Invalid("addresses_event_id", "This event was retracted.")
    if event.occurred_at >= occurred_at:
        raise Invalid(
            "addresses_event_id", "A step addresses an event that occurred before the step."
        )


def record_step(contractor: Contractor, facts: dict[str, Any]) -> RehabilitationStep:
    """Record a step, pending until the agency's staff verify or reject it."""
    if facts.get("addresses_event_id") is not None:
        _check_addressed_event(contractor, facts["addresses_event_id"], facts)
    external_ref = facts.get("external_ref")
    if external_ref is not None and find_by_external_ref(external_ref) is not None:
        raise Conflict("A step with this external_ref exists already.", field="external_ref")
    step = RehabilitationStep(
        contractor_id=contractor.id,
        kind=facts["kind"],
        occurred_at=facts["occurred_at"],
        addresses_event_id=facts.get("addresses_event_id"),
        unsolicited=facts.get("unsolicited", False),
        description=facts.get("description", ""),
        evidence_urls=facts.get("evidence_urls", []),
        source=facts.get("source", "agency"),
        external_ref=external_ref,
        status=PENDING,
        **recorder(),
    )
    db.session.add(step)
    db.session.flush()
    record_audit("rehabilitation.recorded", "rehabilitation_step", step.id, {"kind": step.kind})
    publish_event("rehabilitation.recorded", StepSchema().dump(step))
    recompute_after_commit(contractor.id)
    return step


def verify_step(
    step: RehabilitationStep, decision: str, note: str | None, by: Principal
) -> RehabilitationStep:
    """A staff member's verdict on a pending step, recorded with who and when; it is final."""
    if step.status != PENDING:
        raise Conflict(f"This step was {step.status} already, by {step.verified_by}.")
    step.status = decision
    step.verified_by = by.label
    step.verified_by_id = by.id
    step.verified_at = clock.now()
    step.verification_note = note
    db.session.flush()
    record_audit(f"rehabilitation.{decision}", "rehabilitation_step", step.id, {"note": note or ""})
    publish_event("rehabilitation.verified", StepSchema().dump(step))
    recompute_after_commit(step.contractor_id)
    return step


def find_by_external_ref(external_ref: str) -> RehabilitationStep | None:
    return db.session.scalar(
        select(RehabilitationStep).where(
            RehabilitationStep.agency_id == current_agency_id(),
            RehabilitationStep.external_ref == external_ref,
        )
    )


def search(contractor: Contractor, **filters: Any) -> Select[tuple[RehabilitationStep]]:
    statement = (
        select(RehabilitationStep)
        .where(
            RehabilitationStep.agency_id == contractor.agency_id,
            RehabilitationStep.contractor_id == contractor.id,
        )
        .order_by(RehabilitationStep.occurred_at.desc(), RehabilitationStep.id.desc())
    )
    for name in ("kind", "status"):
        if filters.get(name):
            statement = statement.where(getattr(RehabilitationStep, name) == filters[name])
    return statement
