"""`flask --app wsgi demo seed`: a demo agency to try the service with.

The agency gets a dozen contractors whose histories tell the stories the taxonomy comes from
(TRUST_MODEL.md §2): a burned bridge, a misrepresentation rebuilt, a ghoster who came back, a
mistake owned at once, a steady professional, an incident aged out, and a few ordinary ones. They
are written through the same services as any write, by the demo owner, so the audit log, the
outbox and the history read as they would for real evidence. Every contractor, event and step
carries a `demo-…` external_ref: a second run finds them and adds nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import click
from flask import g
from flask.cli import AppGroup
from sqlalchemy import select, update

from reputation import clock
from reputation.conduct import service as conduct
from reputation.conduct.models import ACTIVE, ConductEvent
from reputation.contractors import service as contractors
from reputation.contractors.models import Contractor
from reputation.decisions.service import decisions_of, record_decision
from reputation.extensions import db
from reputation.outbox.service import recomputes_coalesced
from reputation.persons.models import Person, PersonLink
from reputation.rehabilitation import service as rehabilitation
from reputation.rehabilitation.models import PENDING, REJECTED, VERIFIED
from reputation.roles import Role, Scope
from reputation.scoring.service import current_assessment, recompute
from reputation.tenancy import service
from reputation.tenancy.auth import Principal, user_principal
from reputation.tenancy.models import ApiKey, User
from reputation.tenancy.scope import agency_scope
from reputation.tenancy.service import new_session_token, password_hasher

demo_cli = AppGroup("demo", help="A demo agency for local runs.")

DEMO_SLUG = "demo"
DEMO_OWNER = "owner@demo.example"
DEMO_KEY_NAME = "demo"
DEMO_REF = "demo-"
# The demo contractor who has their own account (the CV misrepresentation rebuilt).
DEMO_PERSON_REF = "demo-priya-raman"


@dataclass(frozen=True)
class Event:
    """A conduct event of a story, `days_ago` before the seeding."""

    ref: str
    kind: str
    days_ago: float
    summary: str
    severity: int | None = None  # the kind's default
    details: str = ""
    source: str = "agency"


@dataclass(frozen=True)
class Amendment:
    """A new version of the story's event `event`, with `changes` to its facts."""

    event: str
    ref: str
    changes: dict[str, Any]
    reason: str


@dataclass(frozen=True)
class Retraction:
    event: str
    reason: str


@dataclass(frozen=True)
class Step:
    """A rehabilitation step addressing the story's event `addresses` (a ref), which came before.

    `verdict` is the staff's: verified or rejected; None leaves the step pending."""

    ref: str
    kind: str
    days_ago: float
    addresses: str
    description: str
    verdict: str | None = VERIFIED
    note: str | None = None
    unsolicited: bool = False
    source: str = "agency"


@dataclass(frozen=True)
class Story:
    ref: str
    name: str
    email: str
    tags: tuple[str, ...]
    events: tuple[Event, ...] = ()
    amendments: tuple[Amendment, ...] = ()
    retractions: tuple[Retraction, ...] = ()
    steps: tuple[Step, ...] = ()
    # (decision, reason), recorded once the assessment the decider saw is computed.
    decision: tuple[str, str] | None = None

    @property
    def external_ref(self) -> str:
        return f"{DEMO_REF}{self.ref}"

    def ref_of(self, item: str) -> str:
        return f"{DEMO_REF}{self.ref}-{item}"


STORIES: tuple[Story, ...] = (
    # A burned bridge: unethical conduct, slow or no road back.
    Story(
        "victor-hale", "Victor Hale", "victor.hale@example.com", ("finance", "sap"),
        events=(
            Event("commitment-2021", "commitment_kept", 1500,
                  "Delivered the quarterly close automation on time"),
            Event("client-data", "unethical_conduct", 420,
                  "Copied the client's supplier list to pitch a competitor",
                  details="The client's security team traced the export to his account; he "
                  "admitted it when asked."),
        ),
        steps=(
            Step("apology", "acknowledgement", 300, "client-data",
                 "Wrote to the client's CFO and to us, apologising without excuses."),
            Step("outreach", "outreach", 60, "client-data",
                 "Asked for a call to discuss how to make it right, with no job on the table.",
                 verdict=None, unsolicited=True),
        ),
        decision=("decline", "The client relationship is too recent a wound; revisit next year."),
    ),
    # A CV misrepresentation rebuilt: acknowledgement, remediation, probation.
    Story(
        "priya-raman", "Priya Raman", "priya.raman@example.com", ("data", "python"),
        events=(
            Event("cv-degree", "misrepresentation", 900,
                  "CV listed a master's degree she had not completed",
                  details="The university confirmed she left before the final year."),
            Event("delivery", "commitment_kept", 120,
                  "Delivered the reporting pipeline on the agreed date"),
        ),
        steps=(
            Step("apology", "acknowledgement", 870, "cv-degree",
                 "Acknowledged the false claim in a meeting and withdrew the CV herself."),
            Step("corrected-cv", "remediation", 800, "cv-degree",
                 "Sent a corrected CV with every claim backed by a certificate or a referee."),
            Step("trial", "probation_completed", 330, "cv-degree",
                 "Completed a three-month trial engagement at a reduced rate without incident.",
                 note="Confirmed with the client's delivery lead."),
        ),
        decision=("engage", "Verified repair and a clean trial; put forward for the data role."),
    ),
    # A ghoster who came back and now answers every solicitation.
    Story(
        "tom-becker", "Tom Becker", "tom.becker@example.com", ("frontend", "react"),
        events=(
            Event("final-round", "ghosting", 520,
                  "Stopped answering before the final interview round"),
            Event("answer-1", "responsive", 330, "Answered a role offer: not available until May"),
            Event("answer-2", "responsive", 240, "Answered within the day: interested, sent rates"),
            Event("answer-3", "responsive", 150, "Declined a role politely, suggested a colleague"),
            Event("answer-4", "responsive", 75, "Answered at once: available from next month"),
            Event("answer-5", "responsive", 20, "Answered a check-in with an updated CV"),
        ),
        steps=(
            Step("apology", "acknowledgement", 450, "final-round",
                 "Called to apologise for disappearing; no excuse, just a family emergency "
                 "handled badly."),
            Step("outreach", "outreach", 440, "final-round",
                 "Reached out before any job was on the table to ask how to rebuild trust.",
                 unsolicited=True),
        ),
    ),
    # A costly mistake owned at once.
    Story(
        "amara-okafor", "Amara Okafor", "amara.okafor@example.com", ("devops", "postgresql"),
        events=(
            Event("migration", "costly_mistake", 150,
                  "A migration she ran locked the client's orders table for two hours",
                  details="Checkout was down during the morning peak."),
            Event("owned", "mistake_owned", 149.9,
                  "Raised the incident herself within minutes and led the rollback"),
        ),
        steps=(
            Step("post-mortem", "acknowledgement", 149, "migration",
                 "Wrote a blameless post-mortem that named her own mistake first."),
            Step("fix", "remediation", 140, "migration",
                 "Added lock timeouts and a migration check to the pipeline, unbilled."),
        ),
    ),
    # A steady professional with a long engagement.
    Story(
        "lena-fischer", "Lena Fischer", "lena.fischer@example.com", ("java", "architecture"),
        events=(
            Event("kept-1", "commitment_kept", 700, "Delivered the payments API as estimated"),
            Event("kept-2", "commitment_kept", 380, "Finished the audit remediation a week early"),
            Event("praise", "client_commendation", 200,
                  "The client's CTO wrote to thank her for mentoring the team", source="client"),
            Event("engagement", "long_term_engagement", 45,
                  "Three years with the same client, renewed twice"),
        ),
    ),
    # A seven-year-old incident that has aged out.
    Story(
        "marcus-webb", "Marcus Webb", "marcus.webb@example.com", ("qa", "automation"),
        events=(
            Event("shouting", "rudeness", 2700,
                  "Shouted at a client's tester during a release night", severity=3),
            Event("kept", "commitment_kept", 300, "Delivered the regression suite as promised"),
            Event("answer", "responsive", 40, "Answered a solicitation the same day"),
        ),
    ),
    # An event retracted: recorded against the wrong person.
    Story(
        "jordan-ellis", "Jordan Ellis", "jordan.ellis@example.com", ("mobile", "kotlin"),
        events=(
            Event("no-show", "ghosting", 80, "Did not show up for the client interview"),
            Event("kept", "commitment_kept", 250, "Shipped the Android release on schedule"),
            Event("praise", "client_commendation", 90, "Client praised the app's crash-free launch",
                  source="client"),
        ),
        retractions=(
            Retraction("no-show",
                       "Recorded against the wrong person: the no-show was another candidate "
                       "named Jordan Ellis."),
        ),
    ),
    # An amended event: the history shows both versions.
    Story(
        "sofia-marin", "Sofia Marin", "sofia.marin@example.com", ("project-management",),
        events=(
            Event("go-live", "broken_commitment", 120, "Missed the go-live by a week", severity=3),
            Event("kept", "commitment_kept", 30, "Ran the follow-up release on the planned date"),
        ),
        amendments=(
            Amendment("go-live", "go-live-v2",
                      {"summary": "Missed the go-live by two days", "severity": 2},
                      "The client's project log shows two days' delay, not a week."),
        ),
        steps=(
            Step("apology", "acknowledgement", 100, "go-live-v2",
                 "Apologised to the client's PM and explained the slip.", verdict=None),
        ),
    ),
    # A blame-shifter in caution, whose apology was rejected.
    Story(
        "derek-stone", "Derek Stone", "derek.stone@example.com", ("backend", "go"),
        events=(
            Event("kept", "commitment_kept", 400, "Delivered the billing service on time"),
            Event("blame", "blame_shifting", 45,
                  "Blamed the QA team for a bug he had merged untested", severity=3),
        ),
        steps=(
            Step("apology", "acknowledgement", 20, "blame",
                 "An apology email to the team lead.", verdict=REJECTED,
                 note="The apology blamed the QA team again; not an acknowledgement."),
        ),
    ),
    # Steps recorded and awaiting verification.
    Story(
        "nina-kowalski", "Nina Kowalski", "nina.kowalski@example.com", ("design", "ux"),
        events=(
            Event("rude-email", "rudeness", 200,
                  "Sent an insulting email to the client's product owner"),
        ),
        steps=(
            Step("outreach", "outreach", 30, "rude-email",
                 "Asked us, unprompted, how to repair things with the client.",
                 verdict=None, unsolicited=True),
            Step("listening", "listening", 10, "rude-email",
                 "Met the product owner, heard how the email landed, agreed a plan.",
                 verdict=None, source="contractor"),
        ),
    ),
    # Too little evidence to say.
    Story(
        "ravi-patel", "Ravi Patel", "ravi.patel@example.com", ("security",),
        events=(Event("answer", "responsive", 60, "Answered a first solicitation: not now"),),
    ),
    # A rude outburst repaired through listening and a reference.
    Story(
        "elena-petrova", "Elena Petrova", "elena.petrova@example.com", ("data", "scala"),
        events=(
            Event("outburst", "rudeness", 540, "Lost her temper with a colleague in a stand-up"),
            Event("warning", "early_warning", 380,
                  "Warned three weeks ahead that she could not take the next phase"),
        ),
        steps=(
            Step("apology", "acknowledgement", 520, "outburst",
                 "Apologised to the colleague and the team in person."),
            Step("listening", "listening", 500, "outburst",
                 "Sat down with the colleague and agreed how to raise disagreements."),
            Step("reference", "reference", 200, "outburst",
                 "A reference from that same colleague for her next engagement.",
                 source="referee"),
        ),
    ),
)  # fmt: skip


@demo_cli.command("seed")
def seed() -> None:
    """Create the demo agency and its stories if they are missing; print a fresh password and
    API key for it.

    Each run sets a new owner password and replaces the previous demo key, so the printed
    credentials are always the ones that work.
    """
    password = secrets.token_urlsafe(12)
    agency = service.find_agency(DEMO_SLUG)
    if agency is None:
        agency = service.create_agency("Demo Agency", DEMO_SLUG, DEMO_OWNER, password)
    with agency_scope(agency.id):
        owner = db.session.scalar(select(User).where(User.email == DEMO_OWNER))
        if owner is None:
            owner = service.create_user(DEMO_OWNER, Role.OWNER, password)
        service.set_password(owner, password)
        db.session.execute(
            update(ApiKey)
            .where(ApiKey.name == DEMO_KEY_NAME, ApiKey.revoked_at.is_(None))
            .values(revoked_at=clock.now())
        )
        issued = service.create_api_key(DEMO_KEY_NAME, [Scope.WRITE])
        db.session.commit()
        seeded = seed_stories(user_principal(owner))
        person = seed_person(next(c for c in seeded if c.external_ref == DEMO_PERSON_REF), password)
    click.echo(f"Demo agency:   {DEMO_SLUG}")
    click.echo(f"Owner login:   {DEMO_OWNER} / {password}")
    click.echo(f"API key:       {issued.secret}")
    click.echo(f"Contractors:   {len(seeded)} demo contractors")
    click.echo(f"Contractor's own login, at /me/sign-in: {person.email} / {password}")


def seed_person(contractor: Contractor, password: str) -> Person:
    """The contractor's own account, linked to their record, with this password: the other side
    of the product, as the contractor sees it. Commits."""
    person = db.session.scalar(select(Person).where(Person.email == contractor.email))
    if person is None:
        person = Person(email=contractor.email, session_token=new_session_token())
        db.session.add(person)
    person.password_hash = password_hasher().hash(password)
    db.session.flush()
    if db.session.get(PersonLink, (contractor.agency_id, contractor.id)) is None:
        db.session.add(PersonLink(contractor_id=contractor.id, person_id=person.id))
    db.session.commit()
    return person


def seed_stories(by: Principal) -> list[Contractor]:
    """Write the demo stories into the agency in scope, as `by` recorded them; what exists
    already (found by external_ref) is left as it is. Commits.

    The recomputes go through the outbox as for any write; the contractors whose score is not
    computed yet are also recomputed here, so the first page shows bands before the workers run.
    The decisions come last, so that each records the assessment its decider saw.
    """
    now = clock.now()
    with _recorded_by(by):
        with recomputes_coalesced():
            seeded = [_seed_evidence(story, now, by) for story in STORIES]
        db.session.commit()
        for contractor in seeded:
            if current_assessment(contractor).pending:
                recompute(contractor)
                db.session.commit()
        for story, contractor in zip(STORIES, seeded, strict=True):
            if story.decision is not None and db.session.scalar(decisions_of(contractor)) is None:
                record_decision(contractor, *story.decision)
        db.session.commit()
    return seeded


@contextmanager
def _recorded_by(principal: Principal) -> Iterator[None]:
    """The evidence and the audit say who recorded it (evidence.recorder, audit.record_audit)."""
    previous = g.get("principal")
    g.principal = principal
    try:
        yield
    finally:
        g.principal = previous


def _seed_evidence(story: Story, now: datetime, by: Principal) -> Contractor:
    """The story's contractor and evidence, each written unless its external_ref exists."""
    contractor = contractors.find_by_external_ref(story.external_ref)
    if contractor is None:
        contractor = contractors.create_contractor(
            story.name, story.email, story.external_ref, list(story.tags)
        )
    events = {told.ref: _seed_event(story, contractor, told, now) for told in story.events}
    for amendment in story.amendments:
        amended = conduct.find_by_external_ref(story.ref_of(amendment.ref))
        if amended is None and events[amendment.event].status == ACTIVE:
            amended = conduct.amend_event(
                events[amendment.event],
                {
                    **amendment.changes,
                    "external_ref": story.ref_of(amendment.ref),
                    "reason": amendment.reason,
                },
            )
        if amended is not None:
            events[amendment.ref] = amended
    for retraction in story.retractions:
        if events[retraction.event].status == ACTIVE:
            conduct.retract_event(events[retraction.event], retraction.reason)
    for planned in story.steps:
        _seed_step(story, contractor, planned, events[planned.addresses], now, by)
    return contractor


def _seed_event(story: Story, contractor: Contractor, told: Event, now: datetime) -> ConductEvent:
    found = conduct.find_by_external_ref(story.ref_of(told.ref))
    if found is not None:
        return found
    return conduct.record_event(
        contractor,
        {
            "kind": told.kind,
            "severity": told.severity,
            "occurred_at": now - timedelta(days=told.days_ago),
            "summary": told.summary,
            "details": told.details,
            "source": told.source,
            "external_ref": story.ref_of(told.ref),
        },
    )


def _seed_step(
    story: Story,
    contractor: Contractor,
    planned: Step,
    addresses: ConductEvent,
    now: datetime,
    by: Principal,
) -> None:
    step = rehabilitation.find_by_external_ref(story.ref_of(planned.ref))
    if step is None:
        step = rehabilitation.record_step(
            contractor,
            {
                "kind": planned.kind,
                "occurred_at": now - timedelta(days=planned.days_ago),
                "addresses_event_id": addresses.id,
                "unsolicited": planned.unsolicited,
                "description": planned.description,
                "source": planned.source,
                "external_ref": story.ref_of(planned.ref),
            },
        )
    if planned.verdict is not None and step.status == PENDING:
        rehabilitation.verify_step(step, planned.verdict, planned.note, by)
