"""Agencies, staff and keys for tests, made through the same services the API uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from flask import Flask

from reputation.extensions import db
from reputation.roles import Role
from reputation.tenancy import service
from reputation.tenancy.models import User
from reputation.tenancy.scope import agency_scope

PASSWORD = "a long test password"


@dataclass
class Tenant:
    slug: str
    agency_id: uuid.UUID
    users: dict[str, uuid.UUID] = field(default_factory=dict)  # role -> user id
    read_key: str = ""
    write_key: str = ""
    key_ids: dict[str, uuid.UUID] = field(default_factory=dict)  # "read"/"write" -> key id

    def email(self, role: str) -> str:
        return f"{role}@{self.slug}.test"


def make_tenant(app: Flask, slug: str) -> Tenant:
    with app.app_context():
        agency = service.create_agency(slug.title(), slug, f"owner@{slug}.test", PASSWORD)
        tenant = Tenant(slug=slug, agency_id=agency.id)
        with agency_scope(agency.id):
            for role in (Role.ADMIN, Role.RECRUITER, Role.VIEWER):
                service.create_user(tenant.email(role), role, PASSWORD)
            reader = service.create_api_key("reader", ["read"])
            writer = service.create_api_key("writer", ["write"])
            tenant.read_key, tenant.write_key = reader.secret, writer.secret
            tenant.key_ids = {"read": reader.key.id, "write": writer.key.id}
            db.session.flush()
            tenant.users = {user.role: user.id for user in db.session.scalars(db.select(User))}
        db.session.commit()
    return tenant


def make_evidence(app: Flask, tenant: Tenant) -> dict[str, uuid.UUID]:
    """A contractor of `tenant` with a negative event and a pending step addressing it."""
    from datetime import UTC, datetime

    from reputation.conduct.service import record_event
    from reputation.contractors.service import create_contractor
    from reputation.rehabilitation.service import record_step

    with app.app_context(), agency_scope(tenant.agency_id):
        contractor = create_contractor("Sam Contractor", "sam@example.com", f"ats-{tenant.slug}")
        event = record_event(
            contractor,
            {
                "kind": "ghosting",
                "occurred_at": datetime(2025, 3, 1, tzinfo=UTC),
                "summary": "Stopped answering during the final interview round",
            },
        )
        step = record_step(
            contractor,
            {
                "kind": "acknowledgement",
                "occurred_at": datetime(2025, 4, 1, tzinfo=UTC),
                "addresses_event_id": event.id,
            },
        )
        ids = {"contractor_id": contractor.id, "event_id": event.id, "step_id": step.id}
        db.session.commit()
    return ids


def make_import(app: Flask, tenant: Tenant) -> uuid.UUID:
    """An import of `tenant`, queued."""
    from io import BytesIO

    from reputation.imports.service import create_import

    with app.app_context(), agency_scope(tenant.agency_id):
        record = create_import("tiny.csv", "csv", BytesIO(b"record,external_ref,name\n"))
        import_id = record.id
        db.session.commit()
    return import_id


def make_simulation(app: Flask, tenant: Tenant) -> uuid.UUID:
    """A policy simulation of `tenant`, queued."""
    from reputation.policy.service import start_simulation

    with app.app_context(), agency_scope(tenant.agency_id):
        simulation_id = start_simulation({"eligibility_threshold": 0.4}).id
        db.session.commit()
    return simulation_id


def make_export(app: Flask, tenant: Tenant) -> uuid.UUID:
    """An export of `tenant`'s contractors, queued."""
    from reputation.exports.service import start_export

    with app.app_context(), agency_scope(tenant.agency_id):
        export_id = start_export("contractors", "csv").id
        db.session.commit()
    return export_id


def make_webhook(app: Flask, tenant: Tenant) -> dict[str, uuid.UUID]:
    """A webhook endpoint of `tenant` (on a public address) with a ping message waiting for it."""
    from sqlalchemy import select

    from reputation.webhooks.models import WebhookMessage
    from reputation.webhooks.service import create_endpoint, send_test

    with app.app_context(), agency_scope(tenant.agency_id):
        endpoint = create_endpoint({"url": "https://93.184.216.34/hook"})
        send_test(endpoint)
        db.session.flush()
        message_id = db.session.scalar(select(WebhookMessage.id))
        ids = {"endpoint_id": endpoint.id, "message_id": message_id}
        db.session.commit()
    return ids


def make_invitation(app: Flask, tenant: Tenant, contractor_id: uuid.UUID) -> str:
    """An open invitation to a contractor of `tenant`; its token."""
    import secrets
    from datetime import timedelta

    from reputation import clock
    from reputation.persons.models import Invitation
    from reputation.tenancy.lookup import token_hash

    token = secrets.token_urlsafe(32)
    with app.app_context(), agency_scope(tenant.agency_id):
        db.session.add(
            Invitation(
                contractor_id=contractor_id,
                email="sam@example.com",
                token_hash=token_hash(token),
                expires_at=clock.now() + timedelta(days=7),
                recorded_by_type="system",
                recorded_by="system",
            )
        )
        db.session.commit()
    return token


def make_dispute(app: Flask, tenant: Tenant) -> uuid.UUID:
    """An open dispute of `tenant`: a contractor of their own, linked to a person's account,
    disputes a negative event."""
    from datetime import UTC, datetime

    from reputation.conduct.service import record_event
    from reputation.contractors.service import create_contractor
    from reputation.disputes.service import open_dispute
    from reputation.persons.models import Person, PersonLink
    from reputation.tenancy.service import new_session_token

    with app.app_context(), agency_scope(tenant.agency_id):
        email = f"dee@{tenant.slug}.example"
        contractor = create_contractor("Dee Disputer", email, f"ats-dispute-{tenant.slug}")
        event = record_event(
            contractor,
            {
                "kind": "rudeness",
                "occurred_at": datetime(2025, 5, 1, tzinfo=UTC),
                "summary": "Raised their voice at the client's standup",
            },
        )
        person = Person(email=email, password_hash="-", session_token=new_session_token())
        db.session.add(person)
        db.session.flush()
        db.session.add(PersonLink(contractor_id=contractor.id, person_id=person.id))
        dispute_id = open_dispute(person, event, "It was the client who shouted.", []).id
        db.session.commit()
    return dispute_id


def make_erasure_request(app: Flask, tenant: Tenant) -> uuid.UUID:
    """An open erasure request of `tenant`: a contractor of their own, linked to a person's
    account, asks for their record's erasure."""
    from reputation.contractors.service import create_contractor
    from reputation.erasure.service import request_erasure
    from reputation.persons.models import Person, PersonLink
    from reputation.tenancy.service import new_session_token

    with app.app_context(), agency_scope(tenant.agency_id):
        email = f"eve@{tenant.slug}.example"
        contractor = create_contractor("Eve Eraser", email, f"ats-erasure-{tenant.slug}")
        person = Person(email=email, password_hash="-", session_token=new_session_token())
        db.session.add(person)
        db.session.flush()
        db.session.add(PersonLink(contractor_id=contractor.id, person_id=person.id))
        request_id = request_erasure(person, contractor, "I no longer work in the field.").id
        db.session.commit()
    return request_id


def objects_of(app: Flask, tenant: Tenant, role: str = "recruiter", scope: str = "write") -> dict:
    """An object of `tenant` for every kind of id a path of the API can name (the staff member
    of `role`, the API key of `scope`), as the strings a path holds.

    A new path parameter needs a line here: the cross-tenant walk and the fuzzer fail on any
    they do not know.
    """
    evidence = make_evidence(app, tenant)
    return {
        "user_id": str(tenant.users[role]),
        "key_id": str(tenant.key_ids[scope]),
        **{name: str(value) for name, value in evidence.items()},
        # A contractor's own pages name the record by the agency's contractor id.
        "record_id": str(evidence["contractor_id"]),
        "token": make_invitation(app, tenant, evidence["contractor_id"]),
        "import_id": str(make_import(app, tenant)),
        "simulation_id": str(make_simulation(app, tenant)),
        "export_id": str(make_export(app, tenant)),
        **{name: str(value) for name, value in make_webhook(app, tenant).items()},
        "dispute_id": str(make_dispute(app, tenant)),
        "erasure_request_id": str(make_erasure_request(app, tenant)),
    }
