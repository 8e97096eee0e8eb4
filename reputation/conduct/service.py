"""The rules of conduct events: record, retract, amend. Nothing is ever rewritten or deleted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from reputation import clock
from reputation.audit.service import record_audit
from reputation.conduct.models import ACTIVE, RETRACTED, SUPERSEDED, ConductEvent
from reputation.contractors.models import Contractor
from reputation.errors import Conflict, Invalid
from reputation.evidence import recorder
from reputation.extensions import db
from reputation.outbox.service import publish_event, recompute_after_commit
from reputation.trust.taxonomy import CONDUCT_KINDS


def event_data(event: ConductEvent) -> dict[str, Any]:
    """An event as webhooks carry it."""
    return {
        "id": str(event.id),
        "contractor_id": str(event.contractor_id),
        "kind": event.kind,
        "valence": event.valence,
        "severity": event.severity,
        "occurred_at": event.occurred_at.isoformat(),
        "status": event.status,
        "supersedes_id": str(event.supersedes_id) if event.supersedes_id else None,
    }


def _changed_by() -> str:
    return str(recorder()["recorded_by"])


def record_event(contractor: Contractor, facts: dict[str, Any]) -> ConductEvent:
    """Record a conduct event; the contractor's trust is recomputed once it commits."""
    kind = CONDUCT_KINDS[facts["kind"]]
    if facts.get("external_ref") is not None and find_by_external_ref(facts["external_ref"]):
        raise Conflict("An event with this external_ref exists already.", field="external_ref")
    event = ConductEvent(
        contractor_id=contractor.id,
        kind=kind.name,
        valence=kind.valence.value,
        severity=facts.get("severity") or kind.default_severity,
        occurred_at=facts["occurred_at"],
        summary=facts["summary"],
        details=facts.get("details", ""),
        evidence_urls=facts.get("evidence_urls", []),
        source=facts.get("source", "agency"),
        external_ref=facts.get("external_ref"),
        supersedes_id=facts.get("supersedes_id"),
        **recorder(),
    )
    db.session.add(event)
    db.session.flush()
    record_audit("conduct_event.recorded", "conduct_event", event.id, {"kind": event.kind})
    publish_event("conduct_event.recorded", event_data(event))
    recompute_after_commit(contractor.id)
    return event


def _current_version_or_409(event: ConductEvent, doing: str) -> None:
    if event.status == RETRACTED:
        raise Conflict(f"This event was retracted; a retracted event cannot be {doing}.")
    if event.status == SUPERSEDED:
        latest = latest_version(event)
        raise Conflict(
            f"This version was amended; {doing.removesuffix('ed')} the current one, {latest.id}.",
        )
    if event.status != ACTIVE:
        raise Conflict(f"This event is {event.status} and cannot be {doing}.")


def retract_event(event: ConductEvent, reason: str) -> ConductEvent:
    """Withdraw an event: it stops counting, and stays readable with the reason."""
    _current_version_or_409(event, "retracted")
    event.status = RETRACTED
    event.status_changed_at = clock.now()
    event.status_reason = reason
    event.status_changed_by = _changed_by()
    db.session.flush()
    record_audit("conduct_event.retracted", "conduct_event", event.id, {"reason": reason})
    publish_event("conduct_event.retracted", {**event_data(event), "reason": reason})
    recompute_after_commit(event.contractor_id)
    return event


def amend_event(event: ConductEvent, changes: dict[str, Any]) -> ConductEvent:
    """A new version of the event, superseding this one, which stays readable.

    An amendment keeps the event's valence: a negative event that proves positive is retracted
    and recorded anew, so the steps that addressed it stay meaningful.
    """
    _current_version_or_409(event, "amended")
    reason = changes.pop("reason", None)
    facts = {**event.facts(), **changes}
    if "kind" in changes and "severity" not in changes:
        facts["severity"] = CONDUCT_KINDS[changes["kind"]].default_severity
    if CONDUCT_KINDS[facts["kind"]].valence.value != event.valence:
        raise Invalid(
            "kind", "An amendment keeps the event's valence; retract it and record a new one."
        )
    event.status = SUPERSEDED
    event.status_changed_at = clock.now()
    event.status_reason = reason
    event.status_changed_by = _changed_by()
    db.session.flush()
    contractor = db.session.scalar(select(Contractor).where(Contractor.id == event.contractor_id))
    assert contractor is not None
    amended = record_event(contractor, {**facts, "supersedes_id": event.id})
    record_audit(
        "conduct_event.amended", "conduct_event", event.id, {"amended_by": str(amended.id)}
    )
    return amended


def find_by_external_ref(external_ref: str) -> ConductEvent | None:
    return db.session.scalar(select(ConductEvent).where(ConductEvent.external_ref == external_ref))


def latest_version(event: ConductEvent) -> ConductEvent:
    """The version that supersedes `event`, and the one that supersedes that, to the last."""
    while True:
        newer = db.session.scalar(
            select(ConductEvent).where(ConductEvent.supersedes_id == event.id)
        )
        if newer is None:
            return event
        event = newer


@dataclass
class EventWithHistory:
    """An event version read together with every version of its event."""

    event: ConductEvent
    history: list[ConductEvent]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.event, name)


def with_history(event: ConductEvent) -> EventWithHistory:
    return EventWithHistory(event, history(event))


def history(event: ConductEvent) -> list[ConductEvent]:
    """Every version of the event, the first recorded first."""
    first = event
    while first.supersedes_id is not None:
        older = db.session.scalar(
            select(ConductEvent).where(ConductEvent.id == first.supersedes_id)
        )
        assert older is not None
        first = older
    versions = [first]
    while True:
        newer = db.session.scalar(
            select(ConductEvent).where(ConductEvent.supersedes_id == versions[-1].id)
        )
        if newer is None:
            return versions
        versions.append(newer)


def search(contractor: Contractor, **filters: Any) -> Select[tuple[ConductEvent]]:
    """A contractor's events, the most recent first, by kind, valence, status and period."""
    statement = (
        select(ConductEvent)
        .where(ConductEvent.contractor_id == contractor.id)
        .order_by(ConductEvent.occurred_at.desc(), ConductEvent.id.desc())
    )
    for name in ("kind", "valence", "status"):
        if filters.get(name):
            statement = statement.where(getattr(ConductEvent, name) == filters[name])
    if filters.get("occurred_from"):
        statement = statement.where(ConductEvent.occurred_at >= filters["occurred_from"])
    if filters.get("occurred_to"):
        statement = statement.where(ConductEvent.occurred_at < filters["occurred_to"])
    return statement
