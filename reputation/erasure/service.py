"""The rules of erasure requests (GDPR Art 17): a person asks an agency to erase its record of
them; the agency's owners are told, and one of them carries the request out or refuses it with
a reason; the person is told the outcome.

Carrying it out deletes, in that agency only, every row of every tenant table about the
contractor (persons.export finds them by their `contractor_id`, so the tables that later
features add are covered), and anonymises the contractor's own row rather than deleting it:
the erasure requests and the audit log point at that id, and an agency's systems that synced it
find an erased, archived contractor with nothing personal left rather than an id that has
vanished. The audit log keeps every row, since it records that the erasure happened, but what
its rows said about the contractor is blanked: their details, and the contractor's own email
where they acted themselves.

This is the one exception to append-only evidence (DESIGN.md "Writes"). On PostgreSQL the
evidence's triggers refuse every DELETE; the service names the contractor being erased in the
transaction-local setting `app.erasure`, and the triggers of migration 0017 let through the
deletes of that contractor's rows, and the blanking of audit rows, only while it is set.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from flask import has_request_context, url_for
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy import CursorResult, Select, Table, case, delete, select, text, update
from sqlalchemy.exc import IntegrityError

from reputation import clock
from reputation.actors import current_actor
from reputation.audit.models import AuditEntry
from reputation.audit.service import record_audit
from reputation.contractors.models import Contractor
from reputation.erasure.models import CARRIED_OUT, REFUSED, REQUESTED, ErasureRequest
from reputation.errors import Conflict, Invalid
from reputation.extensions import db
from reputation.mail.service import deliverable, send_mail
from reputation.persons.export import contractor_tables
from reputation.persons.models import Person
from reputation.roles import Role
from reputation.tenancy.lookup import find
from reputation.tenancy.models import Agency, User
from reputation.tenancy.scope import current_agency_id

# What an erased contractor's row is called from then on.
ERASED_NAME = "Erased"
ARCHIVED = "archived"
# The tables about a contractor that an erasure keeps: the requests are the record that the
# agency was asked, and what it did.
KEPT = frozenset({ErasureRequest.__tablename__})
DEFAULT_LOCALE = "en"
# Ids per statement when blanking the audit rows that name them: well under SQLite's limit of
# bound values.
IDS_PER_STATEMENT = 500

_SET_ERASURE = text("SELECT set_config('app.erasure', :contractor_id, true)")


# The person's side.


def request_erasure(person: Person, contractor: Contractor, reason: str | None) -> ErasureRequest:
    """Ask the agency to erase its record of the person: recorded, audited, and mailed to each
    of the agency's active owners, who alone decide. One open request per record (a Conflict)."""
    if latest_request(contractor, REQUESTED) is not None:
        raise Conflict(_("You have asked for this record's erasure already."), field="record_id")
    erasure = ErasureRequest(
        contractor_id=contractor.id, person_id=person.id, reason=(reason or "").strip() or None
    )
    try:
        with db.session.begin_nested():  # two sent at once: the database lets one in
            db.session.add(erasure)
    except IntegrityError:
        raise Conflict(
            _("You have asked for this record's erasure already."), field="record_id"
        ) from None
    record_audit("erasure.requested", "erasure_request", erasure.id, _about(contractor))
    _tell_the_owners(erasure, contractor)
    return erasure


def requests_of(contractor: Contractor) -> list[ErasureRequest]:
    """The record's erasure requests, the latest first."""
    return list(db.session.scalars(_of(contractor)))


def latest_request(contractor: Contractor, status: str | None = None) -> ErasureRequest | None:
    """The record's latest erasure request (of this status, if given), or None."""
    statement = _of(contractor)
    if status is not None:
        statement = statement.where(ErasureRequest.status == status)
    return db.session.scalar(statement.limit(1))


def _of(contractor: Contractor) -> Select[tuple[ErasureRequest]]:
    return (
        select(ErasureRequest)
        .where(
            ErasureRequest.agency_id == contractor.agency_id,
            ErasureRequest.contractor_id == contractor.id,
        )
        .order_by(ErasureRequest.requested_at.desc(), ErasureRequest.id)
    )


# The agency's side.


def queue(status: str | None = None) -> Select[tuple[ErasureRequest]]:
    """The agency's erasure requests: the open ones first, the oldest first (the law gives a
    month), then the decided ones, the latest decided first."""
    statement = (
        select(ErasureRequest)
        .where(ErasureRequest.agency_id == current_agency_id())
        .order_by(
            case((ErasureRequest.status == REQUESTED, 0), else_=1),
            case((ErasureRequest.status == REQUESTED, ErasureRequest.requested_at)),
            ErasureRequest.decided_at.desc(),
            ErasureRequest.id,
        )
    )
    if status is not None:
        statement = statement.where(ErasureRequest.status == status)
    return statement


def carry_out(erasure: ErasureRequest) -> ErasureRequest:
    """Erase the agency's record of the person: every row about the contractor goes, the
    contractor's own row is anonymised, the person's link to it ends, and the audit log keeps
    that it happened, not what it said of them. Audited, and the person told by email."""
    _lock_open(erasure)
    contractor = find(Contractor, erasure.contractor_id)
    assert contractor is not None  # a request's contractor exists (a foreign key)
    erased = _erase(contractor, erasure.person_id)
    _decide(erasure, CARRIED_OUT, None)
    record_audit(
        "erasure.carried_out", "erasure_request", erasure.id, {**_about(contractor), "rows": erased}
    )
    _tell_the_person(erasure)
    return erasure


def refuse(erasure: ErasureRequest, reason: str) -> ErasureRequest:
    """Refuse the request, with the reason the person is sent (a legal obligation to keep the
    record, say). Audited; the record stays as it is."""
    if not reason.strip():
        raise Invalid("reason", _("Say why the request is refused: the contractor is told."))
    _lock_open(erasure)
    _decide(erasure, REFUSED, reason.strip())
    contractor = find(Contractor, erasure.contractor_id)
    assert contractor is not None
    record_audit("erasure.refused", "erasure_request", erasure.id, _about(contractor))
    _tell_the_person(erasure)
    return erasure


def _lock_open(erasure: ErasureRequest) -> None:
    """Hold the request while it is decided: two owners deciding at once decide once."""
    db.session.refresh(erasure, with_for_update=True)
    if erasure.status != REQUESTED:
        raise Conflict(_("This request is decided already."))


def _decide(erasure: ErasureRequest, status: str, reason: str | None) -> None:
    actor = current_actor()
    erasure.status = status
    erasure.decided_by_id, erasure.decided_by = actor.id, actor.label
    erasure.decided_at = clock.now()
    erasure.decision_reason = reason
    db.session.flush()


def _about(contractor: Contractor) -> dict[str, Any]:
    return {"contractor": str(contractor.id)}


# The erasure itself.


def _erase(contractor: Contractor, person_id: uuid.UUID) -> dict[str, int]:
    """Delete the contractor's rows from every table about them, children before parents,
    blank what the audit log said of them, and anonymise their row. Says how many rows of each
    table went."""
    tables = [table for table in contractor_tables() if table.name not in KEPT]
    db.session.flush()
    with _erasing(contractor.id):
        _blank_audit(contractor, _ids_of(contractor, tables), person_id)
        erased = {table.name: _delete(table, contractor) for table in reversed(tables)}
    # What the session held of the deleted rows (the contractor's tags among them) is gone.
    db.session.expire_all()
    contractor.name = ERASED_NAME
    contractor.email = None
    contractor.external_ref = None
    contractor.status = ARCHIVED
    contractor.updated_at = clock.now()
    db.session.flush()
    return {name: count for name, count in erased.items() if count}


@contextmanager
def _erasing(contractor_id: uuid.UUID) -> Iterator[None]:
    """Within the block, on PostgreSQL, the evidence's triggers let this contractor's rows be
    deleted (migration 0017). The setting ends with the transaction whatever happens; a block
    that fails leaves the transaction to be rolled back, so it is only cleared after success."""
    if db.session.get_bind().dialect.name != "postgresql":
        yield  # SQLite has no such triggers
        return
    db.session.execute(_SET_ERASURE, {"contractor_id": str(contractor_id)})
    yield
    db.session.execute(_SET_ERASURE, {"contractor_id": ""})


def _ids_of(contractor: Contractor, tables: list[Table]) -> list[str]:
    """The contractor's id and those of their rows, as the audit log names objects."""
    ids = [str(contractor.id)]
    for table in tables:
        if "id" in table.c:
            ids += [
                str(row_id)
                for row_id in db.session.scalars(
                    select(table.c.id).where(*_rows_of(table, contractor))
                )
            ]
    return ids


def _blank_audit(contractor: Contractor, object_ids: list[str], person_id: uuid.UUID) -> None:
    """The agency's audit rows keep their action, actor, object and time; those about these
    objects lose their details, and those where the person acted lose the person's email (their
    account's id stays, which shows the request was theirs)."""
    in_agency = AuditEntry.agency_id == contractor.agency_id
    for start in range(0, len(object_ids), IDS_PER_STATEMENT):
        chunk = object_ids[start : start + IDS_PER_STATEMENT]
        _update_audit(in_agency, AuditEntry.object_id.in_(chunk), details={})
    _update_audit(
        in_agency,
        AuditEntry.actor_type == "person",
        AuditEntry.actor_id == str(person_id),
        actor_label="",
    )


def _update_audit(*where: Any, **values: Any) -> None:
    db.session.execute(
        update(AuditEntry)
        .where(*where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _delete(table: Table, contractor: Contractor) -> int:
    result = db.session.execute(delete(table).where(*_rows_of(table, contractor)))
    return cast(CursorResult[Any], result).rowcount


def _rows_of(table: Table, contractor: Contractor) -> tuple[Any, ...]:
    return (table.c.agency_id == contractor.agency_id, table.c.contractor_id == contractor.id)


# Mail.


def _tell_the_owners(erasure: ErasureRequest, contractor: Contractor) -> None:
    """Each active owner of the agency, in their language: the request, its reason, and where
    to decide it when the request that made it knows the service's address."""
    agency = db.session.get(Agency, erasure.agency_id)
    assert agency is not None
    owners = db.session.scalars(
        select(User).where(
            User.agency_id == erasure.agency_id, User.active.is_(True), User.role == Role.OWNER
        )
    )
    for owner in (owner for owner in owners if deliverable(owner.email)):
        with force_locale(owner.locale or DEFAULT_LOCALE):
            about = {"contractor": contractor.name, "agency": agency.name}
            body = _(
                "Hello,\n\n%(contractor)s asks %(agency)s to erase its record of them (GDPR "
                "Art 17). Only an owner of the agency may carry the request out or refuse it, "
                "with a reason; the contractor is told which, by email. Answer within a month.",
                **about,
            )
            if erasure.reason:
                body += "\n\n" + _("Their reason: %(reason)s", reason=erasure.reason)
            if has_request_context():
                link = url_for(
                    "portal.erasure_request_page", erasure_request_id=erasure.id, _external=True
                )
                body += "\n\n" + _("The request: %(link)s", link=link)
            send_mail(
                owner.email, _("%(contractor)s asks for their record's erasure", **about), body
            )


def _tell_the_person(erasure: ErasureRequest) -> None:
    """The outcome, in the person's language; a refusal with its reason and a link back to the
    record, which stays theirs to see."""
    person = db.session.get(Person, erasure.person_id)
    agency = db.session.get(Agency, erasure.agency_id)
    assert person is not None and agency is not None
    with force_locale(person.locale or DEFAULT_LOCALE):
        about = {
            "agency": agency.name,
            "date": format_date(erasure.requested_at),
            "reason": erasure.decision_reason,
        }
        if erasure.status == CARRIED_OUT:
            subject = _("%(agency)s has erased its record of you", **about)
            body = _(
                "Hello,\n\n%(agency)s has carried out your request of %(date)s: its record of "
                "you is erased, with everything it held about you, and it is no longer linked "
                "to your account. The agency keeps only the fact that it erased a record at "
                "your request, and when.",
                **about,
            )
        else:
            subject = _("%(agency)s has refused to erase its record of you", **about)
            body = _(
                "Hello,\n\n%(agency)s has refused your request of %(date)s to erase its record "
                "of you. Their reason: %(reason)s\n\nThe record stays as it was; you can still "
                "see it and answer it. If you think the refusal is wrong, you may complain to "
                "your data protection authority.",
                **about,
            )
            if has_request_context():
                link = url_for(
                    "portal.person_record_page", record_id=erasure.contractor_id, _external=True
                )
                body += "\n\n" + _("Your record: %(link)s", link=link)
        send_mail(person.email, subject, body)
