"""The rules of conduct events: record, retract, amend. Nothing is ever rewritten or deleted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select

from reputation import clock
from reputation.audit.service import record_audit
from reputation.conduct.models import ACTIVE, RETRACTED, SUPERSEDED, ConductEvent
from reputation.conduct.schemas import EventSchema
from reputation.contractors.models import Contractor
from reputation.errors import Conflict, Invalid
from reputation.evidence import recorder
from reputation.extensions import db
from reputation.ids import new_id
from reputation.outbox.service import publish_event, recompute_after_commit
from reputation.tenancy.lookup import find
from reputation.tenancy.scope import current_agency_id
from reputation.trust.taxonomy import CONDUCT_KINDS

# The event as the API shows it, for the outbox: one instance for every dump, since building a
# schema copies its fields (and its nested schemas') each time.
EVENT_SCHEMA = EventSchema()


def _changed_by() -> str:
    return str(recorder()["recorded_by"])


def record_event(contractor: Contractor, facts: dict[str, Any]) -> ConductEvent:
    """Record a conduct event; the contractor's trust is recomputed once it commits."""
    kind = CONDUCT_KINDS[facts["kind"]]
    if facts.get("external_ref") is not None and find_by_external_ref(facts["external_ref"]):
        raise Conflict("An event with this external_ref exists already.", field="external_ref")
    # Every column the API shows is set here, so the event is shown (to the outbox and in the
    # answer) without a flush: its INSERT goes with the others at commit.
    event = ConductEvent(
        id=new_id(),
        recorded_at=clock.now(),
        status=ACTIVE,
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
    record_audit("conduct_event.recorded", "conduct_event", event.id, {"kind": event.kind})
    publish_event("conduct_event.recorded", EVENT_SCHEMA.dump(event))
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
    # The event as the API shows it, and `reason` as this event type always carried it.
    publish_event("conduct_event.retracted", {**EVENT_SCHEMA.dump(event), "reason": reason})
    recompute_after_commit(event.contractor_id)
    return event


def amend_event(event: ConductEvent, changes: dict[str, Any]) -> ConductEvent:
    """A new version of the event, superseding this one, which stays readable.

    An amendment changes at least one of the recorded facts. It keeps the event's valence: a
    negative event that proves positive is retracted and recorded anew, so the steps that
    addressed it stay meaningful.
    """
    _current_version_or_409(event, "amended")
    reason = changes.pop("reason", None)
    facts = {**event.facts(), **changes}
    if "kind" in changes and "severity" not in changes:
        facts["severity"] = CONDUCT_KINDS[changes["kind"]].default_severity
    if facts == event.facts():
        # A version identical to the one it supersedes would say nothing, yet move the history.
        raise Invalid(None, "An amendment changes at least one field.")
    if CONDUCT_KINDS[facts["kind"]].valence.value != event.valence:
        raise Invalid(
            "kind", "An amendment keeps the event's valence; retract it and record a new one."
        )
    event.status = SUPERSEDED
    event.status_changed_at = clock.now()
    event.status_reason = reason
    event.status_changed_by = _changed_by()
    db.session.flush()
    contractor = find(Contractor, event.contractor_id)
    assert contractor is not None
    amended = record_event(contractor, {**facts, "supersedes_id": event.id})
    record_audit(
        "conduct_event.amended", "conduct_event", event.id, {"amended_by": str(amended.id)}
    )
    return amended


def find_by_external_ref(external_ref: str) -> ConductEvent | None:
    return db.session.scalar(
        select(ConductEvent).where(
            ConductEvent.agency_id == current_agency_id(),
            ConductEvent.external_ref == external_ref,
        )
    )


def latest_version(event: ConductEvent) -> ConductEvent:
    """The version that supersedes `event`, and the one that supersedes that, to the last."""
    return history(event)[-1]


def with_history(event: ConductEvent) -> ConductEvent:
    """The event with `history` set, for a read that shows every version."""
    event.history = history(event)
    return event


def history(event: ConductEvent) -> list[ConductEvent]:
    """Every version of the event, the first recorded first, in one query: the versions it
    supersedes, walked back, and those that supersede it, walked forward."""
    agency, Event = event.agency_id, ConductEvent
    older = (
        select(Event.id, Event.supersedes_id)
        .where(Event.agency_id == agency, Event.id == event.id)
        .cte("older", recursive=True)
    )
    older = older.union_all(
        select(Event.id, Event.supersedes_id).where(
            Event.agency_id == agency, Event.id == older.c.supersedes_id
        )
    )
    newer = (
        select(Event.id)
        .where(Event.agency_id == agency, Event.id == event.id)
        .cte("newer", recursive=True)
    )
    newer = newer.union_all(
        select(Event.id).where(Event.agency_id == agency, Event.supersedes_id == newer.c.id)
    )
    versions = db.session.scalars(
        select(Event).where(
            Event.agency_id == agency,
            or_(Event.id.in_(select(older.c.id)), Event.id.in_(select(newer.c.id))),
        )
    ).all()
    # In the chain's own order, from the first version on: recording times may tie.
    ids = {version.id for version in versions}
    successor = {version.supersedes_id: version for version in versions}
    chain = [next(version for version in versions if version.supersedes_id not in ids)]
    while chain[-1].id in successor:
        chain.append(successor[chain[-1].id])
    return chain


def search(contractor: Contractor, **filters: Any) -> Select[tuple[ConductEvent]]:
    """A contractor's events, the most recent first, by kind, valence, status and period."""
    statement = (
        select(ConductEvent)
        .where(
            ConductEvent.agency_id == contractor.agency_id,
            ConductEvent.contractor_id == contractor.id,
        )
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
