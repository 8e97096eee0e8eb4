"""Conduct events: recorded with the taxonomy's defaults, never rewritten, retracted or amended
with the history kept."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import func, select

from reputation import clock
from reputation.audit.models import AuditEntry
from reputation.conduct.models import ConductEvent
from reputation.extensions import db
from reputation.outbox.models import OutboxMessage
from reputation.tenancy.scope import agency_scope
from reputation.webhooks.models import WebhookMessage
from tests.conftest import Api, login
from tests.factories import PASSWORD

EVENT = {
    "kind": "broken_commitment",
    "occurred_at": "2025-02-03T10:00:00Z",
    "summary": "Promised the report for Friday; it came the next Wednesday, unannounced",
}


@pytest.fixture
def recruiter(app, tenants):
    return login(app, "acme", "recruiter@acme.test", PASSWORD)


@pytest.fixture
def contractor(recruiter):
    return recruiter.post("contractors", {"name": "Robin Roe"}).json


def record(recruiter, contractor, **fields):
    response = recruiter.post(f"contractors/{contractor['id']}/events", {**EVENT, **fields})
    assert response.status_code == 201, response.json
    return response.json


def test_event_takes_valence_and_default_severity_from_its_kind(recruiter, contractor):
    event = record(recruiter, contractor)
    assert (event["valence"], event["severity"], event["status"]) == ("negative", 2, "active")
    assert event["recorded_by"] == "recruiter@acme.test"
    praised = record(recruiter, contractor, kind="client_commendation", severity=4)
    assert (praised["valence"], praised["severity"]) == ("positive", 4)


def test_unknown_kind_is_422_listing_the_allowed_kinds(recruiter, contractor):
    response = recruiter.post(
        f"contractors/{contractor['id']}/events", {**EVENT, "kind": "lateness"}
    )
    assert response.status_code == 422
    detail = response.json["errors"][0]["detail"]
    assert "ghosting" in detail and "unethical_conduct" in detail


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"severity": 0}, "severity"),
        ({"severity": 6}, "severity"),
        ({"occurred_at": "1969-12-31T23:59:59Z"}, "occurred_at"),
        ({"occurred_at": "2025-02-03T10:00:00"}, "occurred_at"),  # no time zone
        ({"summary": ""}, "summary"),
        ({"evidence_urls": ["javascript:alert(1)"]}, "evidence_urls.0"),
        ({"source": "rumour"}, "source"),
    ],
)
def test_invalid_event_is_422_and_records_nothing(recruiter, contractor, fields, field):
    response = recruiter.post(f"contractors/{contractor['id']}/events", {**EVENT, **fields})
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json["errors"]}
    assert recruiter.get(f"contractors/{contractor['id']}/events").json["total"] == 0


def test_future_event_is_422_but_a_little_clock_skew_is_not(recruiter, contractor):
    path = f"contractors/{contractor['id']}/events"
    soon = (clock.now() + timedelta(minutes=2)).isoformat()
    later = (clock.now() + timedelta(hours=1)).isoformat()
    assert recruiter.post(path, {**EVENT, "occurred_at": soon}).status_code == 201
    assert recruiter.post(path, {**EVENT, "occurred_at": later}).status_code == 422


def test_retraction_needs_a_reason_and_keeps_the_event_readable(recruiter, contractor):
    event = record(recruiter, contractor)
    without = recruiter.post(f"events/{event['id']}/retract", {})
    assert without.status_code == 422
    assert without.json["errors"][0]["field"] == "reason"
    retracted = recruiter.post(f"events/{event['id']}/retract", {"reason": "Wrong contractor"})
    assert retracted.status_code == 200
    assert (retracted.json["status"], retracted.json["status_reason"]) == (
        "retracted",
        "Wrong contractor",
    )
    again = recruiter.post(f"events/{event['id']}/retract", {"reason": "twice"})
    assert again.status_code == 409
    read = recruiter.get(f"events/{event['id']}").json
    assert (read["summary"], read["status"]) == (EVENT["summary"], "retracted")


def test_amendment_supersedes_and_history_shows_every_version(recruiter, contractor):
    first = record(recruiter, contractor)
    second = recruiter.post(
        f"events/{first['id']}/amend", {"severity": 3, "reason": "Client escalated"}
    )
    assert second.status_code == 201
    assert (second.json["supersedes_id"], second.json["severity"]) == (first["id"], 3)
    assert second.json["summary"] == EVENT["summary"]  # carried over
    third = recruiter.post(
        f"events/{second.json['id']}/amend", {"summary": "Report came 5 days late"}
    )
    assert third.status_code == 201

    history = recruiter.get(f"events/{first['id']}").json["history"]
    assert [v["id"] for v in history] == [first["id"], second.json["id"], third.json["id"]]
    assert [v["status"] for v in history] == ["superseded", "superseded", "active"]
    assert [v["severity"] for v in history] == [2, 3, 3]
    assert history[0]["status_reason"] == "Client escalated"

    stale = recruiter.post(f"events/{first['id']}/amend", {"severity": 5})
    assert stale.status_code == 409
    assert third.json["id"] in stale.json["detail"]
    listed = recruiter.get(f"contractors/{contractor['id']}/events?status=active").json
    assert [e["id"] for e in listed["items"]] == [third.json["id"]]


def test_retracted_event_cannot_be_amended_and_amendment_keeps_valence(recruiter, contractor):
    event = record(recruiter, contractor)
    flipped = recruiter.post(f"events/{event['id']}/amend", {"kind": "commitment_kept"})
    assert flipped.status_code == 422
    assert flipped.json["errors"][0]["field"] == "kind"
    recruiter.post(f"events/{event['id']}/retract", {"reason": "Duplicate"})
    assert recruiter.post(f"events/{event['id']}/amend", {"severity": 1}).status_code == 409


def test_events_filter_by_kind_valence_and_period(recruiter, contractor):
    record(recruiter, contractor, occurred_at="2024-01-10T00:00:00Z")
    record(recruiter, contractor, kind="responsive", occurred_at="2024-06-10T00:00:00Z")
    record(recruiter, contractor, kind="ghosting", occurred_at="2025-01-10T00:00:00Z")
    path = f"contractors/{contractor['id']}/events"

    def kinds(query):
        return [e["kind"] for e in recruiter.get(f"{path}?{query}").json["items"]]

    assert kinds("") == ["ghosting", "responsive", "broken_commitment"]
    assert kinds("valence=positive") == ["responsive"]
    assert kinds("kind=ghosting") == ["ghosting"]
    assert kinds("from=2024-03-01T00:00:00Z&to=2025-01-10T00:00:00Z") == ["responsive"]
    backwards = recruiter.get(f"{path}?from=2025-01-01T00:00:00Z&to=2024-01-01T00:00:00Z")
    assert backwards.status_code == 422


def test_every_change_records_its_audit_webhook_event_and_recompute(
    app, tenants, recruiter, contractor
):
    event = record(recruiter, contractor)
    recruiter.post(f"events/{event['id']}/retract", {"reason": "Mistaken identity"})
    with app.app_context(), agency_scope(tenants[0].agency_id):
        names = [
            m.name
            for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at))
        ]
        recomputes = db.session.scalars(
            select(OutboxMessage.job_id).where(OutboxMessage.kind == "job")
        ).all()
        db.session.rollback()
    assert names.count("conduct_event.recorded") == 1
    assert names.count("conduct_event.retracted") == 1
    assert set(recomputes) == {f"recompute-{contractor['id']}"}
    audit = login(app, "acme", "viewer@acme.test", PASSWORD).get(f"audit?object_id={event['id']}")
    assert [e["action"] for e in audit.json["items"]] == [
        "conduct_event.retracted",
        "conduct_event.recorded",
    ]


def test_an_event_posted_with_a_key_commits_with_all_it_owes_or_not_at_all(app, tenants, client):
    """The event, its audit row, its webhook event with the endpoint's message, and its
    recompute commit together; a 404 (another agency's contractor) or a 409 (a reused
    external_ref) writes none of them."""
    admin = login(app, "acme", "admin@acme.test", PASSWORD)
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = True
    try:
        hook = admin.post("webhooks/endpoints", {"url": "http://127.0.0.1:9/hook"}).json
    finally:
        app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = False
    key = Api(client, tenants[0].write_key)
    ours = key.post("contractors", {"name": "Robin Roe"}).json
    theirs = Api(app.test_client(), tenants[1].write_key).post("contractors", {"name": "X"}).json

    def written():
        with app.app_context(), agency_scope(tenants[0].agency_id):
            counts = [
                db.session.scalar(select(func.count()).select_from(model))
                for model in (ConductEvent, AuditEntry, OutboxMessage, WebhookMessage)
            ]
            db.session.rollback()
        return counts

    before = written()
    event = key.post(f"contractors/{ours['id']}/events", {**EVENT, "external_ref": "ats-1"})
    assert event.status_code == 201, event.json
    after = written()
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 2, 1]
    with app.app_context(), agency_scope(tenants[0].agency_id):
        message = db.session.execute(
            select(WebhookMessage.endpoint_id, WebhookMessage.body).where(
                WebhookMessage.event_type == "conduct_event.recorded"
            )
        ).one()
        jobs = db.session.scalars(select(OutboxMessage.job_id).where(OutboxMessage.kind == "job"))
        assert set(jobs) == {f"recompute-{ours['id']}"}
        db.session.rollback()
    assert message.endpoint_id == uuid.UUID(hook["id"])
    assert json.loads(message.body)["data"] == event.json

    missing = key.post(f"contractors/{theirs['id']}/events", EVENT)
    assert missing.status_code == 404
    clash = key.post(f"contractors/{ours['id']}/events", {**EVENT, "external_ref": "ats-1"})
    assert clash.status_code == 409
    assert written() == after


@pytest.mark.postgresql_only
def test_postgresql_refuses_to_rewrite_a_recorded_event(
    app, tenants, recruiter, contractor, database_url
):
    event = record(recruiter, contractor)
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:

        def scoped():
            connection.execute(
                "SELECT set_config('app.agency_id', %s, false)", [str(tenants[0].agency_id)]
            )

        scoped()
        for statement in (
            "UPDATE conduct_events SET summary = 'nothing happened' WHERE id = %s",
            "UPDATE conduct_events SET severity = 1 WHERE id = %s",
            "DELETE FROM conduct_events WHERE id = %s",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(statement, [event["id"]])
            connection.rollback()
            scoped()
        # The one change allowed: the status, once, away from active.
        connection.execute(
            "UPDATE conduct_events SET status = 'retracted', status_reason = 'x' WHERE id = %s",
            [event["id"]],
        )
        connection.commit()
        scoped()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="final"):
            connection.execute(
                "UPDATE conduct_events SET status = 'active' WHERE id = %s", [event["id"]]
            )
