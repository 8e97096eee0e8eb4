"""The rules of references and of the evidence a contractor brings themselves.

The agency's staff or the contractor ask a referee; the referee gets a one-time link, valid
REFERENCE_LIFETIME, to a form that needs no account; their answer records a pending `reference`
step (source `referee`), which the agency's staff verify or reject like any other. A reference
is worth a verified step's weight (TRUST_MODEL.md §2), so the signs that the contractor wrote it
themselves are recorded with it and shown to the staff before they verify: an address that is the
contractor's own, shares their domain or is a free-mail one anyone can open in any name; an
answer sent from an address the contractor signed in from; an answer within a minute of the
request.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import g, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import Select, select, update

from reputation import clock
from reputation.audit.service import record_audit
from reputation.conduct.models import ACTIVE, RETRACTED, ConductEvent
from reputation.contractors.models import Contractor
from reputation.errors import Conflict, Gone, Invalid, NotFound
from reputation.evidence import recorder
from reputation.extensions import db
from reputation.mail.service import deliverable, send_mail
from reputation.persons.models import Person, PersonLink
from reputation.references.addresses import signed_in_from
from reputation.references.models import (
    FREE_MAIL,
    OWN_EMAIL,
    QUICK_ANSWER,
    SAME_DOMAIN,
    SESSION_ADDRESS,
    ReferenceRequest,
)
from reputation.rehabilitation import service as rehabilitation
from reputation.rehabilitation.models import RehabilitationStep
from reputation.tenancy.lookup import find_by_token, token_hash
from reputation.tenancy.models import Agency
from reputation.tenancy.scope import enter_agency
from reputation.trust.taxonomy import Valence

REFERENCE_LIFETIME = timedelta(days=14)
# An answer sooner than this after the request was more likely typed by whoever asked for it.
QUICK = timedelta(minutes=1)
# Requests waiting for an answer, per contractor: more than anyone's referees, too few for the
# service to become a way of mailing strangers.
MAX_WAITING = 10

# Addresses anyone may open in any name. Families with a domain per country (gmx.de, yahoo.fr,
# hotmail.co.uk…) are matched by their first label followed by a short suffix.
FREE_MAIL_DOMAINS = frozenset(
    {
        "163.com",
        "aol.com",
        "fastmail.com",
        "free.fr",
        "gmail.com",
        "googlemail.com",
        "hey.com",
        "icloud.com",
        "laposte.net",
        "libero.it",
        "mac.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "orange.fr",
        "pm.me",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "sfr.fr",
        "t-online.de",
        "tutanota.com",
        "wanadoo.fr",
        "web.de",
        "yandex.com",
        "yandex.ru",
        "ymail.com",
        "zoho.com",
    }
)
FREE_MAIL_FAMILIES = frozenset({"gmx", "hotmail", "live", "outlook", "yahoo"})


def request_reference(contractor: Contractor, facts: dict[str, Any]) -> ReferenceRequest:
    """Email a referee a one-time link to vouch for the contractor, asked by whoever acts (the
    agency's staff or key, or the contractor). `facts`: referee_name, referee_email,
    relationship, and the incident the reference should speak to (addresses_event_id), if any.
    The warning signs the referee's address shows already come back with the request."""
    event = _addressed_event(contractor, facts.get("addresses_event_id"))
    email = facts["referee_email"]
    if not deliverable(email):
        raise Invalid("referee_email", _("No message can be sent to this address."))
    _check_waiting(contractor, email)
    token = secrets.token_urlsafe(32)
    now = clock.now()
    reference = ReferenceRequest(
        contractor_id=contractor.id,
        addresses_event_id=event.id if event else None,
        referee_name=facts["referee_name"],
        referee_email=email,
        relationship=facts["relationship"],
        token_hash=token_hash(token),
        sent_at=now,
        expires_at=now + REFERENCE_LIFETIME,
        fraud_signals=email_signals(email, _emails_of(contractor)),
        **recorder(),
    )
    db.session.add(reference)
    db.session.flush()
    _send_request(reference, contractor, event, token)
    record_audit(
        "reference.requested",
        "contractor",
        contractor.id,
        {"request": str(reference.id), "referee_email": email},
    )
    return reference


def open_request(token: str, answering: bool = False) -> ReferenceRequest:
    """The request this token names, with the rest of the request scoped to its agency: a 404
    for a token that names none; a 410 for one expired, and for one answered already (a 409
    when `answering`: the form sent again records nothing)."""
    reference = find_by_token(ReferenceRequest, token)
    if reference is None:
        raise NotFound("reference request")
    if reference.answered_at is not None:
        if answering:
            raise Conflict(_("This reference was sent already: it is recorded once."))
        raise Gone(
            _(
                "This link has been used already: your reference is recorded and the agency "
                "has it. Thank you. To add something, write to the person who asked you."
            )
        )
    if reference.expires_at <= clock.now():
        raise Gone(
            _(
                "This link has expired: it worked for 14 days. If you still wish to give a "
                "reference, ask the person who asked you to send a new request."
            )
        )
    enter_agency(reference.agency_id)
    return reference


def answer(
    reference: ReferenceRequest, answers: dict[str, Any], address: str | None
) -> ReferenceRequest:
    """Record a referee's answers, sent from `address`, as a pending `reference` step of the
    contractor, with the warning signs found; once only, even when the form is sent twice at
    the same moment (a 409 for the second). `answers`: relationship, known_from, known_until
    (ISO dates, the latter None while it lasts), would_work_again (yes, no or unsure),
    repair (when an incident is named) and comments."""
    now = clock.now()
    claimed = db.session.execute(
        update(ReferenceRequest)
        .where(
            ReferenceRequest.agency_id == reference.agency_id,
            ReferenceRequest.id == reference.id,
            ReferenceRequest.answered_at.is_(None),
        )
        .values(answered_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(_("This reference was sent already: it is recorded once."))
    contractor = db.session.get(Contractor, (reference.agency_id, reference.contractor_id))
    assert contractor is not None  # the request's foreign key holds it
    g.referee = f"{reference.referee_name} <{reference.referee_email}>"[:254]  # who records it
    step = rehabilitation.record_step(
        contractor,
        {
            "kind": "reference",
            "occurred_at": now,
            "addresses_event_id": _still_addressed(reference),
            "description": _description(reference, answers),
            "source": "referee",
        },
    )
    reference.answered_at = now
    reference.answers = answers
    reference.step_id = step.id
    reference.fraud_signals = _answer_signals(reference, contractor, address, now)
    record_audit(
        "reference.answered",
        "rehabilitation_step",
        step.id,
        {
            "request": str(reference.id),
            "signals": [signal["code"] for signal in reference.fraud_signals],
        },
    )
    return reference


def bring_evidence(contractor: Contractor, facts: dict[str, Any]) -> RehabilitationStep:
    """A step the contractor records about themselves (source `contractor`), pending until the
    agency's staff verify it like any other. A reference is not among them: it comes from a
    referee, through `request_reference`."""
    if facts["kind"] == "reference":
        raise Invalid("kind", _("A reference comes from a referee: ask one for it."))
    return rehabilitation.record_step(contractor, {**facts, "source": "contractor"})


def requests_of(contractor: Contractor) -> Select[tuple[ReferenceRequest]]:
    """The contractor's reference requests, the latest first."""
    return (
        select(ReferenceRequest)
        .where(
            ReferenceRequest.agency_id == contractor.agency_id,
            ReferenceRequest.contractor_id == contractor.id,
        )
        .order_by(ReferenceRequest.sent_at.desc(), ReferenceRequest.id.desc())
    )


def request_of_step(step: RehabilitationStep) -> ReferenceRequest | None:
    """The request whose answer made this step, if a referee's answer made it."""
    return db.session.scalar(
        select(ReferenceRequest).where(
            ReferenceRequest.agency_id == step.agency_id, ReferenceRequest.step_id == step.id
        )
    )


def email_signals(email: str, own: set[str]) -> list[dict[str, Any]]:
    """The warning signs of a referee's address, given the contractor's own addresses
    (lower-cased): the same address, the same organisation's domain, a free-mail domain. A
    free-mail domain shared with the contractor says nothing more than free mail does."""
    address = email.lower()
    domain = _domain(address)
    signals = []
    if address in own:
        signals.append(_signal(OWN_EMAIL, email=address))
    else:
        shared = sorted(
            theirs
            for theirs in {_domain(mine) for mine in own}
            if _same_organisation(domain, theirs) and not is_free_mail(theirs)
        )
        if shared:
            signals.append(_signal(SAME_DOMAIN, domain=shared[0]))
    if is_free_mail(domain):
        signals.append(_signal(FREE_MAIL, domain=domain))
    return signals


def is_free_mail(domain: str) -> bool:
    """Whether anyone may open an address at `domain` in any name (FREE_MAIL_DOMAINS, or a
    family's country domain: gmx.de, yahoo.co.uk)."""
    first, _dot, suffix = domain.partition(".")
    if domain in FREE_MAIL_DOMAINS:
        return True
    return (
        first in FREE_MAIL_FAMILIES
        and bool(suffix)
        and all(0 < len(label) <= 3 for label in suffix.split("."))
    )


def _signal(code: str, **details: Any) -> dict[str, Any]:
    return {"code": code, "details": details}


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


def _same_organisation(one: str, other: str) -> bool:
    """The same domain, or one a subdomain of the other (mail.acme.example and acme.example)."""
    return one == other or one.endswith(f".{other}") or other.endswith(f".{one}")


def _person_of(contractor: Contractor) -> Person | None:
    found = db.session.get(PersonLink, (contractor.agency_id, contractor.id))
    return db.session.get(Person, found.person_id) if found is not None else None


def _emails_of(contractor: Contractor) -> set[str]:
    """The contractor's own addresses, lower-cased: the agency's record's and, once linked,
    their account's."""
    person = _person_of(contractor)
    emails = {contractor.email, person.email if person is not None else None}
    return {email.lower() for email in emails if email}


def _answer_signals(
    reference: ReferenceRequest, contractor: Contractor, address: str | None, now: datetime
) -> list[dict[str, Any]]:
    """Every warning sign of an answer, the address's read again (the contractor may have linked
    their account since the request), then where and when the answer came from."""
    signals = email_signals(reference.referee_email, _emails_of(contractor))
    person = _person_of(contractor)
    if person is not None and signed_in_from(person.id, address):
        signals.append(_signal(SESSION_ADDRESS, address=address))
    elapsed = now - reference.sent_at
    if elapsed < QUICK:
        signals.append(_signal(QUICK_ANSWER, seconds=max(0, int(elapsed.total_seconds()))))
    return signals


def _addressed_event(contractor: Contractor, event_id: Any) -> ConductEvent | None:
    """The incident a reference is asked to speak to: a current, negative event of the
    contractor (a step may address only such a one)."""
    if event_id is None:
        return None
    event = db.session.get(ConductEvent, (contractor.agency_id, event_id))
    if event is None or event.contractor_id != contractor.id:
        raise Invalid("addresses_event_id", _("No event with this id for this contractor."))
    if event.valence != Valence.NEGATIVE:
        raise Invalid("addresses_event_id", _("A reference speaks to an incident only."))
    if event.status != ACTIVE:
        raise Invalid(
            "addresses_event_id",
            _("This event no longer counts as it is: it was retracted, amended or overturned."),
        )
    return event


def _still_addressed(reference: ReferenceRequest) -> Any:
    """The incident the step addresses: the one named, unless it was retracted meanwhile
    (the referee's answer is recorded all the same)."""
    if reference.addresses_event_id is None:
        return None
    event = db.session.get(ConductEvent, (reference.agency_id, reference.addresses_event_id))
    return None if event is None or event.status == RETRACTED else event.id


def _check_waiting(contractor: Contractor, email: str) -> None:
    waiting = db.session.scalars(
        requests_of(contractor).where(
            ReferenceRequest.answered_at.is_(None), ReferenceRequest.expires_at > clock.now()
        )
    ).all()
    if any(reference.referee_email.lower() == email.lower() for reference in waiting):
        raise Conflict(
            _("A request to this referee is waiting for their answer already."),
            field="referee_email",
        )
    if len(waiting) >= MAX_WAITING:
        raise Conflict(
            _(
                "%(count)d requests are waiting for an answer already: wait for an answer, or "
                "for a request to expire.",
                count=MAX_WAITING,
            )
        )


def _send_request(
    reference: ReferenceRequest, contractor: Contractor, event: ConductEvent | None, token: str
) -> None:
    """The referee's email, in the asker's language: who asks, about whom, and the link."""
    agency = db.session.get(Agency, contractor.agency_id)
    assert agency is not None
    words = {
        "referee": reference.referee_name,
        "name": contractor.name,
        "agency": agency.name,
        "relationship": reference.relationship,
        "link": url_for("portal.referee_page", token=token, _external=True),
    }
    if reference.recorded_by_type == "person":
        subject = _("%(name)s asks you for a reference", **words)
        opening = _(
            "Hello %(referee)s,\n\n%(name)s asks you for a reference for %(agency)s, a "
            "recruitment agency, which will read it before deciding whether to work with them "
            "again. They describe you as: %(relationship)s.",
            **words,
        )
    else:
        subject = _("%(agency)s asks you for a reference about %(name)s", **words)
        opening = _(
            "Hello %(referee)s,\n\n%(agency)s, a recruitment agency, asks you for a reference "
            "about %(name)s, which it will read before deciding whether to work with them again. "
            "It describes you as: %(relationship)s.",
            **words,
        )
    incident = ""
    if event is not None:
        incident = _(
            "They would like you to say, in particular, what %(name)s did to make amends after "
            "the incident of %(date)s.",
            name=contractor.name,
            date=format_date(event.occurred_at, "long"),
        )
    closing = _(
        "Follow this link within 14 days to answer; it takes a few minutes, needs no account, "
        "and works once:\n%(link)s\n\nIf you do not know %(name)s, or would rather not answer, "
        "you can ignore this message.",
        **words,
    )
    send_mail(
        reference.referee_email,
        subject,
        "\n\n".join(part for part in (opening, incident, closing) if part),
    )


def _description(reference: ReferenceRequest, answers: dict[str, Any]) -> str:
    """The step's description: the referee's answers in sentences, in the referee's language."""
    words = {
        "name": reference.referee_name,
        "email": reference.referee_email,
        "relationship": answers["relationship"],
        "start": answers["known_from"],
        "end": answers["known_until"],
    }
    lines = [
        _(
            "Reference from %(name)s (%(email)s), %(relationship)s, from %(start)s to %(end)s.",
            **words,
        )
        if answers["known_until"]
        else _("Reference from %(name)s (%(email)s), %(relationship)s, since %(start)s.", **words)
    ]
    working_again = {
        "yes": _("Would work with them again: yes."),
        "no": _("Would work with them again: no."),
        "unsure": _("Would work with them again: not sure."),
    }
    lines.append(working_again[answers["would_work_again"]])
    if answers.get("repair"):
        lines.append(
            _("What they did to repair the incident: %(repair)s", repair=answers["repair"])
        )
    if answers.get("comments"):
        lines.append(_("In the referee's words: %(comments)s", comments=answers["comments"]))
    return "\n".join(lines)
