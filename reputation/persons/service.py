"""The rules of contractors' own accounts: an agency invites a contractor by email; the one-time
link creates the person's account, or lets an existing one link that agency's record; a person
reaches only the records linked to them, each within its own agency's scope."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_login import login_user
from sqlalchemy import select

from reputation import clock
from reputation.audit.service import record_audit
from reputation.conduct import service as conduct
from reputation.contractors.models import Contractor
from reputation.decisions.service import decisions_of
from reputation.errors import Conflict, Gone, Invalid, NotFound
from reputation.evidence import recorder
from reputation.extensions import db
from reputation.mail.service import deliverable, send_mail
from reputation.persons.models import Invitation, Person, PersonLink
from reputation.references.addresses import remember_address
from reputation.rehabilitation import service as rehabilitation
from reputation.scoring import service as scoring
from reputation.tenancy.lookup import find_by_token, token_hash
from reputation.tenancy.models import Agency
from reputation.tenancy.scope import act_as_person, agency_scope, enter_agency
from reputation.tenancy.service import (
    check_password,
    new_session_token,
    password_hasher,
    verifies,
)

INVITATION_LIFETIME = timedelta(days=7)


def invite(contractor: Contractor) -> Invitation:
    """Email the contractor a one-time link to their record, valid INVITATION_LIFETIME. Earlier
    links stay valid until used or expired: whichever arrives first works."""
    if not contractor.email:
        raise Invalid("email", _("The contractor has no email address to send the invitation to."))
    if not deliverable(contractor.email):
        raise Invalid("email", _("No message can be sent to the contractor's email address."))
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        contractor_id=contractor.id,
        email=contractor.email,
        token_hash=token_hash(token),
        expires_at=clock.now() + INVITATION_LIFETIME,
        **recorder(),
    )
    db.session.add(invitation)
    db.session.flush()
    agency = db.session.get(Agency, contractor.agency_id)
    assert agency is not None
    link = url_for("portal.invitation_page", token=token, _external=True)
    send_mail(
        contractor.email,
        _("%(agency)s invites you to see your record", agency=agency.name),
        _(
            "Hello %(name)s,\n\n%(agency)s keeps a record of your work with them: the events "
            "they noted, what you did to make amends, and the assessment they draw from it. You "
            "can see all of it, add your own account of any event, dispute one, and bring new "
            "evidence.\n\nFollow this link within 7 days to create your account or to add this "
            "record to the one you have:\n%(link)s\n\nThe link works once. If you did not expect "
            "this message, you can ignore it.",
            name=contractor.name,
            agency=agency.name,
            link=link,
        ),
    )
    record_audit("invitation.created", "contractor", contractor.id, {"email": contractor.email})
    return invitation


def open_invitation(token: str) -> Invitation:
    """The invitation this token names, with the rest of the request scoped to its agency: a
    404 for a token that names none, a 410 for one used or expired."""
    invitation = find_by_token(Invitation, token)
    if invitation is None:
        raise NotFound("invitation")
    if invitation.used_at is not None:
        raise Gone(_("This link has been used already. Sign in to see your records."))
    if invitation.expires_at <= clock.now():
        raise Gone(_("This link has expired. Ask the agency to send you a new one."))
    enter_agency(invitation.agency_id)
    return invitation


def sign_up(token: str, password: str) -> Person:
    """A new account for the invited contractor, with the invitation's record linked to it,
    signed in. The email is the one the agency wrote to: following the link proves it."""
    invitation = open_invitation(token)
    check_password(password)
    if _person_by_email(invitation.email) is not None:
        raise Conflict(
            _("An account with this email exists already: sign in, then follow the link again."),
            field="token",
        )
    person = Person(
        email=invitation.email,
        password_hash=password_hasher().hash(password),
        session_token=new_session_token(),
    )
    db.session.add(person)
    db.session.flush()
    start_session(person)
    _link(person, invitation)
    return person


def sign_in(email: str, password: str) -> Person | None:
    """The person these credentials name, signed in; or None."""
    person = _person_by_email(email.strip().lower())
    hasher = password_hasher()
    if person is None:
        hasher.hash(password)  # the same time as a real check: timing does not tell who exists
        return None
    if not verifies(hasher, person.password_hash, password):
        return None
    if hasher.check_needs_rehash(person.password_hash):
        person.password_hash = hasher.hash(password)
    person.last_login_at = clock.now()
    start_session(person)
    return person


def link(person: Person, token: str) -> PersonLink:
    """Add the record an invitation names to a signed-in person's records."""
    return _link(person, open_invitation(token))


def start_session(person: Person) -> None:
    """The person signed in, and the address they signed in from remembered: a referee's
    answer sent from it is a warning sign (references.service)."""
    login_user(person)
    g.person = person
    act_as_person(person.id)
    remember_address(person.id, request.remote_addr)


def links_of(person: Person) -> list[PersonLink]:
    """The records linked to the person, in every agency, the earliest linked first."""
    return list(
        db.session.scalars(
            select(PersonLink)
            .where(PersonLink.person_id == person.id)
            .order_by(PersonLink.linked_at, PersonLink.contractor_id)
            .execution_options(tenant_unscoped=True)
        )
    )


def link_of(person: Person, contractor_id: uuid.UUID) -> PersonLink:
    """The person's link to this record: a 404, as if it did not exist, when it is not theirs."""
    found = db.session.scalar(
        select(PersonLink)
        .where(PersonLink.person_id == person.id, PersonLink.contractor_id == contractor_id)
        .execution_options(tenant_unscoped=True)
    )
    if found is None:
        raise NotFound("record")
    return found


@contextmanager
def within(found: PersonLink) -> Iterator[Contractor]:
    """The linked record's contractor, with the block scoped to the record's agency."""
    with agency_scope(found.agency_id):
        contractor = db.session.get(Contractor, (found.agency_id, found.contractor_id))
        assert contractor is not None  # a link's contractor exists (a foreign key)
        yield contractor


def _link(person: Person, invitation: Invitation) -> PersonLink:
    existing = db.session.get(PersonLink, (invitation.agency_id, invitation.contractor_id))
    if existing is not None and existing.person_id != person.id:
        raise Conflict(_("This record is linked to another account."), field="token")
    invitation.used_at = clock.now()
    if existing is not None:
        return existing
    found = PersonLink(contractor_id=invitation.contractor_id, person_id=person.id)
    db.session.add(found)
    record_audit(
        "person.linked", "contractor", invitation.contractor_id, {"person": str(person.id)}
    )
    return found


def _person_by_email(email: str) -> Person | None:
    return db.session.scalar(select(Person).where(Person.email == email))


def record_of(found: PersonLink, full: bool) -> dict[str, Any]:
    """What the agency holds about the person in one linked record, as the agency's own API
    shows it: the contractor and the assessment; with `full`, the evidence, the trajectory and
    the decisions too."""
    with within(found) as contractor:
        agency = db.session.get(Agency, found.agency_id)
        record: dict[str, Any] = {
            "id": contractor.id,
            "agency": agency,
            "contractor": contractor,
            "linked_at": found.linked_at,
            "assessment": scoring.current_assessment(contractor),
        }
        if full:
            snapshot = scoring.snapshot_of(contractor)
            record |= {
                "events": list(db.session.scalars(conduct.search(contractor))),
                "steps": list(db.session.scalars(rehabilitation.search(contractor))),
                "trajectory": {
                    "points": scoring.trajectory_points(contractor, None, None),
                    "projection": snapshot.projection if snapshot else [],
                    "current": record["assessment"],
                },
                "decisions": list(db.session.scalars(decisions_of(contractor))),
            }
        return record


def end_sessions(person: Person) -> None:
    """Sign the person out everywhere: a copy of the session cookie stops working too."""
    person.session_token = new_session_token()
