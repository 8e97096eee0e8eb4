"""The rules of statements and disputes: a contractor answers the events of their own records; the
agency resolves each dispute, or the scheduler overturns it at its deadline (TRUST_MODEL.md §1).

A person reaches an event only through the records linked to them, each in its own agency's
scope: an event of another record is not found, exactly as if it did not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from flask import has_request_context, url_for
from flask_babel import force_locale, format_date, format_datetime
from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, or_, select
from sqlalchemy.exc import IntegrityError

from reputation import clock
from reputation.actors import SYSTEM, current_actor
from reputation.audit.service import record_audit
from reputation.conduct import service as conduct
from reputation.conduct.models import ACTIVE, OVERTURNED, SUPERSEDED, ConductEvent
from reputation.conduct.schemas import StatementSchema
from reputation.contractors.models import Contractor
from reputation.disputes.models import (
    AMENDED,
    NOT_VERIFIED_IN_TIME,
    OPEN,
    RESOLUTION_PERIOD,
    RESOLVED,
    Dispute,
    Statement,
)
from reputation.disputes.models import OVERTURNED as OVERTURN
from reputation.disputes.schemas import DisputeSchema
from reputation.errors import Conflict, Invalid, NotFound
from reputation.extensions import db
from reputation.mail.service import deliverable, send_mail
from reputation.outbox.service import publish_event, recompute_after_commit
from reputation.persons import service as persons
from reputation.persons.models import Person
from reputation.roles import AGENCY_MANAGERS
from reputation.tenancy.lookup import find
from reputation.tenancy.models import Agency, User
from reputation.tenancy.scope import current_agency_id, system_scope

# When the agency is reminded of an open dispute, before its deadline (the furthest first).
REMINDERS = (timedelta(days=7), timedelta(days=1))
DEFAULT_LOCALE = "en"


# The contractor's side.


@contextmanager
def persons_event(person: Person, event_id: uuid.UUID) -> Iterator[ConductEvent]:
    """An event of one of the person's records, with the block scoped to that record's agency;
    NotFound when no record of theirs holds it, as if it did not exist."""
    for found in persons.links_of(person):
        with persons.within(found) as contractor:
            event = db.session.scalar(
                select(ConductEvent).where(
                    ConductEvent.agency_id == contractor.agency_id,
                    ConductEvent.contractor_id == contractor.id,
                    ConductEvent.id == event_id,
                )
            )
            if event is not None:
                yield event
                return
    raise NotFound(_("There is no such event in your records."))


@contextmanager
def persons_dispute(person: Person, dispute_id: uuid.UUID) -> Iterator[Dispute]:
    """A dispute of the person's, its event with it, scoped as `persons_event`."""
    for found in persons.links_of(person):
        with persons.within(found) as contractor:
            dispute = db.session.scalar(
                select(Dispute).where(
                    Dispute.agency_id == contractor.agency_id,
                    Dispute.contractor_id == contractor.id,
                    Dispute.id == dispute_id,
                )
            )
            if dispute is not None:
                yield with_events([dispute])[0]
                return
    raise NotFound(_("There is no such dispute in your records."))


def _answerable(event: ConductEvent) -> None:
    """Only the current version of an event that counts is answered: a retracted one counts for
    nothing already, and an amended one has a current version to answer instead."""
    if event.status == SUPERSEDED:
        current = conduct.latest_version(event)
        raise Conflict(
            _("This version was amended; answer the current one, %(id)s.", id=current.id),
            field="event_id",
        )
    if event.status != ACTIVE:
        raise Conflict(
            _("This event no longer counts (retracted or overturned): there is nothing to answer."),
            field="event_id",
        )


def add_statement(person: Person, event: ConductEvent, text: str) -> Statement:
    """The person's own account of an event, shown beside it wherever it is shown. A new one
    supersedes the one before, which stays on the record."""
    _answerable(event)
    statement = Statement(
        event_id=event.id, contractor_id=event.contractor_id, person_id=person.id, text=text
    )
    db.session.add(statement)
    db.session.flush()
    db.session.expire(event, ["statements"])
    record_audit("statement.added", "conduct_event", event.id, {"statement": str(statement.id)})
    publish_event("statement.added", StatementSchema().dump(statement))
    return statement


def open_dispute(
    person: Person, event: ConductEvent, reason: str, evidence_urls: list[str]
) -> Dispute:
    """Dispute an event: it shows as disputed, and keeps counting, until the agency resolves the
    dispute or, at the latest, RESOLUTION_PERIOD later, when it is overturned (§1)."""
    _answerable(event)
    if event.disputed:
        raise Conflict(_("This event is disputed already."), field="event_id")
    now = clock.now()
    dispute = Dispute(
        event_id=event.id,
        contractor_id=event.contractor_id,
        person_id=person.id,
        reason=reason,
        evidence_urls=evidence_urls,
        opened_at=now,
        deadline=now + RESOLUTION_PERIOD,
    )
    try:
        with db.session.begin_nested():  # two opened at once: the database lets one in
            db.session.add(dispute)
    except IntegrityError:
        raise Conflict(_("This event is disputed already."), field="event_id") from None
    db.session.expire(event, ["disputes"])
    dispute.event = event
    record_audit("dispute.opened", "dispute", dispute.id, {"event": str(event.id)})
    publish_event("dispute.opened", DisputeSchema().dump(dispute))
    return dispute


# The agency's side.


def queue(status: str | None = None, contractor_id: uuid.UUID | None = None) -> Select[Any]:
    """The agency's disputes: the open ones first, the nearest deadline first, then the
    resolved ones, the latest resolved first."""
    statement = (
        select(Dispute)
        .where(Dispute.agency_id == current_agency_id())
        .order_by(
            Dispute.status,  # "open" before "resolved"
            case((Dispute.status == OPEN, Dispute.deadline)),
            Dispute.resolved_at.desc(),
            Dispute.id,
        )
    )
    if status is not None:
        statement = statement.where(Dispute.status == status)
    if contractor_id is not None:
        statement = statement.where(Dispute.contractor_id == contractor_id)
    return statement


def with_events(disputes: Sequence[Dispute]) -> Sequence[Dispute]:
    """These disputes, each with `event` set to the version disputed; one query for them all."""
    if not disputes:
        return disputes
    events = {
        event.id: event
        for event in db.session.scalars(
            select(ConductEvent).where(
                ConductEvent.agency_id == current_agency_id(),
                ConductEvent.id.in_({dispute.event_id for dispute in disputes}),
            )
        )
    }
    for dispute in disputes:
        dispute.event = events[dispute.event_id]
    return disputes


def resolve(
    dispute: Dispute, outcome: str, reason: str, amendment: dict[str, Any] | None = None
) -> Dispute:
    """The agency's verdict: `upheld` (the event stands), `amended` (a new version of the event,
    with the fields of `amendment`, counts in its place) or `overturned` (the event stops
    counting from now on). The person is told why, by email."""
    db.session.refresh(dispute, with_for_update=True)  # the scheduler may be overturning it
    if dispute.status != OPEN:
        raise Conflict(_("This dispute is resolved already."))
    event = find(ConductEvent, dispute.event_id)
    assert event is not None  # a dispute's event exists (a foreign key)
    if outcome == AMENDED:
        dispute.amendment_id = _amend(event, amendment, reason).id
    elif amendment:
        raise Invalid("amendment", _("Only an amended outcome records an amendment."))
    elif outcome == OVERTURN:
        _overturn(event, reason)
    return _close(dispute, event, outcome, reason)


def _amend(event: ConductEvent, amendment: dict[str, Any] | None, reason: str) -> ConductEvent:
    if event.status != ACTIVE:
        raise Conflict(
            _("This version no longer counts (retracted or amended): it cannot be amended.")
        )
    if not amendment:
        raise Invalid("amendment", _("An amended outcome records the amendment: what changes."))
    try:
        return conduct.amend_event(event, {**amendment, "reason": reason})
    except Invalid as refused:
        field = f"amendment.{refused.field}" if refused.field else "amendment"
        raise Invalid(field, refused.detail) from None


def _overturn(event: ConductEvent, reason: str) -> None:
    """The event stops counting from this moment; before it, it counted (§1). A version that
    stopped counting otherwise meanwhile (retracted, amended) is left as it is."""
    if event.status != ACTIVE:
        return
    event.status = OVERTURNED
    event.status_changed_at = clock.now()
    event.status_reason = reason
    event.status_changed_by = current_actor().label


def _close(dispute: Dispute, event: ConductEvent, outcome: str, reason: str) -> Dispute:
    actor = current_actor()
    dispute.status, dispute.outcome, dispute.resolution_reason = RESOLVED, outcome, reason
    dispute.resolved_at = clock.now()
    dispute.resolved_by_type, dispute.resolved_by_id, dispute.resolved_by = (
        actor.kind,
        actor.id,
        actor.label,
    )
    db.session.flush()
    dispute.event = event
    record_audit("dispute.resolved", "dispute", dispute.id, {"outcome": outcome})
    publish_event("dispute.resolved", DisputeSchema().dump(dispute))
    recompute_after_commit(dispute.contractor_id)
    _tell_the_person(dispute, event)
    return dispute


# The deadlines, for the scheduler.


def falling_due(now: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """The open disputes of every agency whose deadline has passed, or whose next reminder is
    due, as (agency id, dispute id): one query of the deadlines' index, which finds nothing
    when nothing is due."""
    reminder_due = [
        and_(Dispute.reminders_sent <= sent, Dispute.deadline <= now + before)
        for sent, before in enumerate(REMINDERS)
    ]
    with system_scope():
        rows = db.session.execute(
            select(Dispute.agency_id, Dispute.id)
            .where(
                Dispute.status == OPEN,
                Dispute.deadline <= now + max(REMINDERS),
                or_(Dispute.deadline <= now, *reminder_due),
            )
            .order_by(Dispute.deadline)
            # Across agencies: the row-level security lets the system scope read the disputes
            # (migration 0015); each is then settled in its own agency's scope.
            .execution_options(tenant_unscoped=True)
        ).all()
    return [(agency_id, dispute_id) for agency_id, dispute_id in rows]


def settle(dispute_id: uuid.UUID, now: datetime) -> str | None:
    """What falls due for this dispute of the agency in scope: overturned past its deadline
    ("not verified in time", §1), else the agency reminded. Says which, or None when nothing
    was due: resolved meanwhile, or being settled by another scheduler."""
    statement = select(Dispute).where(
        Dispute.agency_id == current_agency_id(), Dispute.id == dispute_id, Dispute.status == OPEN
    )
    dispute = db.session.scalar(statement.with_for_update(skip_locked=True))
    if dispute is None:
        return None
    event = find(ConductEvent, dispute.event_id)
    assert event is not None
    if dispute.deadline <= now:
        _overturn(event, NOT_VERIFIED_IN_TIME)
        _close(dispute, event, OVERTURN, NOT_VERIFIED_IN_TIME)
        return "overturned"
    due = sum(1 for before in REMINDERS if dispute.deadline - before <= now)
    if due <= dispute.reminders_sent:
        return None
    dispute.reminders_sent = due
    _remind_the_agency(dispute, event)
    return "reminded"


# Mail.


def _tell_the_person(dispute: Dispute, event: ConductEvent) -> None:
    """The outcome and its reason, in the person's language, with a link to the record when
    the request that resolved it knows the service's address."""
    person = db.session.get(Person, dispute.person_id)
    agency = db.session.get(Agency, dispute.agency_id)
    assert person is not None and agency is not None
    with force_locale(person.locale or DEFAULT_LOCALE):
        about = {
            "agency": agency.name,
            "date": format_date(event.occurred_at),
            "summary": event.summary,
            "reason": dispute.resolution_reason,
        }
        if dispute.outcome == OVERTURN and dispute.resolved_by_type == SYSTEM.kind:
            outcome = _(
                "%(agency)s did not resolve it within 30 days, so the event is overturned: it "
                "no longer counts in your assessment.",
                **about,
            )
        elif dispute.outcome == OVERTURN:
            outcome = _(
                "The event is overturned: it no longer counts in your assessment. Their "
                "reason: %(reason)s",
                **about,
            )
        elif dispute.outcome == AMENDED:
            outcome = _(
                "They amended the event; the amended version counts in its place. Their "
                "reason: %(reason)s",
                **about,
            )
        else:
            outcome = _("The event stands as recorded. Their reason: %(reason)s", **about)
        text = _(
            "Hello,\n\nYour dispute of the event that %(agency)s recorded on %(date)s "
            "(%(summary)s) is resolved.",
            **about,
        )
        text += "\n\n" + outcome
        if has_request_context():
            link = url_for(
                "portal.person_record_page", record_id=dispute.contractor_id, _external=True
            )
            text += "\n\n" + _("Your record and its assessment: %(link)s", link=link)
        send_mail(person.email, _("%(agency)s has resolved your dispute", **about), text)


def _remind_the_agency(dispute: Dispute, event: ConductEvent) -> None:
    """Tell the agency's owners and admins, and the staff member who recorded the event, that
    the dispute is overturned unless resolved by its deadline; each in their language."""
    contractor = find(Contractor, dispute.contractor_id)
    assert contractor is not None
    recorder = event.recorded_by_id if event.recorded_by_type == "user" else None
    staff = db.session.scalars(
        select(User).where(
            User.agency_id == current_agency_id(),
            User.active.is_(True),
            or_(User.role.in_(AGENCY_MANAGERS), User.id == recorder),
        )
    )
    for member in (member for member in staff if deliverable(member.email)):
        with force_locale(member.locale or DEFAULT_LOCALE):
            about = {
                "contractor": contractor.name,
                "date": format_date(event.occurred_at),
                "summary": event.summary,
                "opened": format_date(dispute.opened_at),
                "deadline": format_datetime(dispute.deadline),
                "reason": dispute.reason,
            }
            send_mail(
                member.email,
                _("A dispute is overturned on %(deadline)s unless resolved", **about),
                _(
                    "Hello,\n\n%(contractor)s disputed the event of %(date)s (%(summary)s) on "
                    "%(opened)s. Unless your agency resolves the dispute by %(deadline)s (UTC), "
                    "the event is overturned: it stops counting in their assessment.\n\nTheir "
                    "reason: %(reason)s\n\nThe disputes to resolve are in the portal, under "
                    "Disputes.",
                    **about,
                ),
            )
