"""A person's data (issue 11 §2): the export of everything held about them, checked against the
database row by row in every linked agency (GDPR Art 15/20); and erasure requests (Art 17),
which reach the agency's owners, and which an owner refuses with a reason or carries out: every
row about the contractor gone from that agency, the other agency untouched, the audit log
keeping that it happened and not what it said of them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import Table, create_engine, select
from sqlalchemy.engine import Engine

from reputation import clock
from reputation.extensions import db
from tests.conftest import Api, login, run_jobs
from tests.factories import PASSWORD
from tests.test_persons import PERSON_PASSWORD, invite

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
SECRETS = ("password_hash", "session_token", "token_hash")


@pytest.fixture
def frozen() -> Iterator[datetime]:
    """The service's clock held at T0: requests, jobs and mail all read it."""
    with clock.frozen(T0):
        yield T0


@pytest.fixture
def recruiter(app, tenants):
    return login(app, "acme", "recruiter@acme.test", PASSWORD)


@pytest.fixture
def rival(app, tenants):
    return login(app, "globex", "recruiter@globex.test", PASSWORD)


@pytest.fixture
def owner(app, tenants):
    return login(app, "acme", "owner@acme.test", PASSWORD)


@pytest.fixture
def database(database_urls) -> Iterator[Engine]:
    """The database as its administrator sees it: every agency's rows, past the row-level
    security that binds the service."""
    url = database_urls.admin or database_urls.app
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


def signed_up(app, redis_url, mailbox, staff) -> tuple[Api, str]:
    """Sam, invited by `staff`'s agency, signed in to a new account; and the record's id."""
    record_id, token = invite(app, redis_url, mailbox, staff)
    person = Api(app.test_client())
    response = person.post("me/signup", {"token": token, "password": PERSON_PASSWORD})
    assert response.status_code == 201, response.json
    return person, record_id


def linked(app, redis_url, mailbox, person, staff) -> str:
    """Another agency's record of Sam, linked to Sam's account; its id."""
    record_id, token = invite(app, redis_url, mailbox, staff)
    response = person.post("me/link", {"token": token})
    assert response.status_code == 201, response.json
    return record_id


def answered(staff, person, record_id) -> None:
    """A record with the agency's evidence and decision, and the person's answers to it."""
    (event,) = person.get(f"me/records/{record_id}").json["events"]
    writes = [
        staff.post(
            f"contractors/{record_id}/rehabilitation",
            {"kind": "outreach", "occurred_at": "2026-02-01T00:00:00Z",
             "addresses_event_id": event["id"]},
        ),
        staff.post(f"contractors/{record_id}/decisions", {"decision": "engage", "reason": "Fair"}),
        staff.patch(f"contractors/{record_id}", {"tags": ["python"]}),
        person.post(f"me/events/{event['id']}/statements", {"text": "The train was cancelled."}),
        person.post(f"me/events/{event['id']}/disputes", {"reason": "I warned them that day."}),
        person.post(
            f"me/records/{record_id}/evidence",
            {"kind": "training", "occurred_at": "2026-03-01T00:00:00Z", "description": "A course"},
        ),
        person.post(
            f"me/records/{record_id}/reference-requests",
            {"referee_name": "Ann", "referee_email": "ann@client.example",
             "relationship": "Client"},
        ),
    ]  # fmt: skip
    assert [w.status_code for w in writes] == [201, 201, 200, 201, 201, 201, 201], [
        w.json for w in writes
    ]


def contractor_tables() -> list[Table]:
    """Every table of an agency's that names a contractor, as the schema stands."""
    return [
        table
        for table in db.metadata.sorted_tables
        if {"agency_id", "contractor_id"} <= set(table.c.keys())
    ]


def plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def keys_in_database(database: Engine, table: Table, agency_id: Any, contractor_id: str) -> set:
    """The keys of the table's rows about this contractor of this agency."""
    with database.connect() as connection:
        rows = connection.execute(
            select(*table.primary_key.columns).where(
                table.c.agency_id == agency_id, table.c.contractor_id == uuid.UUID(contractor_id)
            )
        ).all()
    return {tuple(plain(value) for value in row) for row in rows}


def keys_in_export(table: Table, rows: list[dict]) -> set:
    return {tuple(row[column.name] for column in table.primary_key.columns) for row in rows}


def test_the_export_holds_every_row_about_the_person_in_every_linked_agency(
    app, tenants, redis_url, mailbox, recruiter, rival, owner, database, frozen
):
    acme, globex = tenants
    person, acme_record = signed_up(app, redis_url, mailbox, recruiter)
    globex_record = linked(app, redis_url, mailbox, person, rival)
    answered(recruiter, person, acme_record)
    answered(rival, person, globex_record)
    assert person.post(f"me/records/{globex_record}/erasure-requests").status_code == 201
    # Someone else's record in the same agency, which is not the person's.
    kim = recruiter.post("contractors", {"name": "Kim Other", "email": "kim@example.com"}).json
    recruiter.post(
        f"contractors/{kim['id']}/events",
        {"kind": "rudeness", "occurred_at": "2026-01-02T00:00:00Z", "summary": "Shouted"},
    )
    run_jobs(app, redis_url)

    response = person.get("me/export")
    assert response.status_code == 200, response.json
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="personal-data-2026-06-01.json"'
    )
    assert "no-store" in response.headers["Cache-Control"]
    document = response.json
    text = response.get_data(as_text=True)
    assert not [secret for secret in SECRETS if secret in text]
    assert kim["id"] not in text and "Kim Other" not in text
    assert (document["person"]["email"], document["exported_at"]) == (
        "sam@example.com",
        T0.isoformat(),
    )
    assert document["person_rows"]["person_addresses"]  # where the person signed in from

    records = {record["record_id"]: record for record in document["records"]}
    assert set(records) == {acme_record, globex_record}
    for tenant, record_id, agency in (
        (acme, acme_record, "Acme"),
        (globex, globex_record, "Globex"),
    ):
        record = records[record_id]
        assert record["agency"] == {"id": str(tenant.agency_id), "name": agency}
        rows = record["rows"]
        (contractor,) = rows["contractors"]
        assert (contractor["id"], contractor["name"]) == (record_id, "Sam Roe")
        assert set(rows) == {"contractors"} | {table.name for table in contractor_tables()}
        for table in contractor_tables():
            expected = keys_in_database(database, table, tenant.agency_id, record_id)
            assert keys_in_export(table, rows[table.name]) == expected, table.name
        # Every kind of row the record has was exported, not only empty tables compared.
        for name in ("conduct_events", "rehabilitation_steps", "decisions", "statements",
                     "disputes", "reference_requests", "invitations", "person_links",
                     "contractor_tags", "trust_snapshots", "trajectory_points"):  # fmt: skip
            assert rows[name], (agency, name)
        (event, *_) = rows["conduct_events"]
        assert event["occurred_at"] == "2026-01-05T09:00:00+00:00"
    assert records[globex_record]["rows"]["erasure_requests"]

    # Each agency's audit log says the person exported its record.
    rival_owner = login(app, "globex", "owner@globex.test", PASSWORD)
    for staff, record_id in ((owner, acme_record), (rival_owner, globex_record)):
        (entry,) = staff.get("audit?action=person.exported").json["items"]
        assert (entry["object_id"], entry["actor_type"]) == (record_id, "person")


def test_only_the_person_reaches_their_export_and_their_erasure_requests(
    app, tenants, redis_url, mailbox, recruiter, owner
):
    person, record_id = signed_up(app, redis_url, mailbox, recruiter)
    for staff in (owner, Api(app.test_client(), tenants[0].write_key)):
        assert staff.get("me/export").status_code == 403
        assert staff.post(f"me/records/{record_id}/erasure-requests").status_code == 403
    assert Api(app.test_client()).get("me/export").status_code == 401
    # A person reaches no agency's erasure requests.
    assert person.get("erasure-requests").status_code == 403
    # The record of another person is not found, exactly as if it did not exist.
    kim, _ = invite(app, redis_url, mailbox, recruiter, "kim@example.com", "Kim")
    assert person.post(f"me/records/{kim}/erasure-requests").status_code == 404
    assert person.get(f"me/records/{kim}/erasure-requests").status_code == 404


def test_an_erasure_request_reaches_the_owners_and_a_refusal_reaches_the_person_with_its_reason(
    app, tenants, redis_url, mailbox, recruiter, owner
):
    person, record_id = signed_up(app, redis_url, mailbox, recruiter)
    asked = person.post(
        f"me/records/{record_id}/erasure-requests", {"reason": "I left the profession."}
    )
    assert asked.status_code == 201, asked.json
    request = asked.json
    assert (request["status"], request["reason"]) == ("requested", "I left the profession.")
    again = person.post(f"me/records/{record_id}/erasure-requests")
    assert again.status_code == 409
    assert again.json["errors"][0]["field"] == "record_id"
    assert [r["id"] for r in person.get(f"me/records/{record_id}/erasure-requests").json] == [
        request["id"]
    ]

    run_jobs(app, redis_url)
    (mail,) = mailbox.wait_for(to="owner@acme.test")
    assert "Sam Roe" in mail["Subject"]
    body = mail.get_content()
    assert "I left the profession." in body
    assert f"/erasure-requests/{request['id']}" in body
    # Only the owners decide, so only they are mailed.
    assert not [
        m for m in mailbox.messages if m["To"] in ("admin@acme.test", "recruiter@acme.test")
    ]

    admin = login(app, "acme", "admin@acme.test", PASSWORD)
    assert [r["id"] for r in admin.get("erasure-requests").json["items"]] == [request["id"]]
    assert admin.get(f"erasure-requests/{request['id']}").json["status"] == "requested"
    for staff in (admin, recruiter, Api(app.test_client(), tenants[0].write_key)):
        assert staff.post(f"erasure-requests/{request['id']}/carry-out").status_code == 403
        assert (
            staff.post(f"erasure-requests/{request['id']}/refuse", {"reason": "x"}).status_code
            == 403
        )
    assert recruiter.get("erasure-requests").status_code == 403
    rival_owner = login(app, "globex", "owner@globex.test", PASSWORD)
    assert rival_owner.get(f"erasure-requests/{request['id']}").status_code == 404
    assert (
        rival_owner.post(f"erasure-requests/{request['id']}/refuse", {"reason": "x"}).status_code
        == 404
    )
    assert rival_owner.post(f"erasure-requests/{request['id']}/carry-out").status_code == 404
    assert rival_owner.get("erasure-requests").json["total"] == 0

    unexplained = owner.post(f"erasure-requests/{request['id']}/refuse", {"reason": ""})
    assert unexplained.status_code == 422
    assert unexplained.json["errors"][0]["field"] == "reason"
    refused = owner.post(
        f"erasure-requests/{request['id']}/refuse",
        {"reason": "We must keep placement records for six years."},
    )
    assert refused.status_code == 200, refused.json
    assert (refused.json["status"], refused.json["decided_by"]) == ("refused", "owner@acme.test")
    assert owner.post(f"erasure-requests/{request['id']}/carry-out").status_code == 409
    assert owner.get(f"contractors/{record_id}").json["name"] == "Sam Roe"

    run_jobs(app, redis_url)
    (told,) = [m for m in mailbox.wait_for(to="sam@example.com") if "refused" in m["Subject"]]
    assert "We must keep placement records for six years." in told.get_content()
    actions = [e["action"] for e in owner.get("audit?object_type=erasure_request").json["items"]]
    assert actions == ["erasure.refused", "erasure.requested"]
    # Refused, the request is closed: the person may ask again.
    assert person.post(f"me/records/{record_id}/erasure-requests").status_code == 201


def test_carrying_out_an_erasure_deletes_every_row_about_the_contractor_in_that_agency_only(
    app, tenants, redis_url, mailbox, recruiter, rival, owner, database, frozen
):
    acme, globex = tenants
    person, record_id = signed_up(app, redis_url, mailbox, recruiter)
    globex_record = linked(app, redis_url, mailbox, person, rival)
    answered(recruiter, person, record_id)
    answered(rival, person, globex_record)
    kim = recruiter.post("contractors", {"name": "Kim Other", "email": "kim@example.com"}).json
    recruiter.post(
        f"contractors/{kim['id']}/events",
        {"kind": "rudeness", "occurred_at": "2026-01-02T00:00:00Z", "summary": "Shouted"},
    )
    run_jobs(app, redis_url)
    tables = [table for table in contractor_tables() if table.name != "erasure_requests"]
    untouched = {
        (tenant.agency_id, contractor_id, table.name): keys_in_database(
            database, table, tenant.agency_id, contractor_id
        )
        for tenant, contractor_id in ((globex, globex_record), (acme, kim["id"]))
        for table in tables
    }
    request = person.post(f"me/records/{record_id}/erasure-requests").json

    carried = owner.post(f"erasure-requests/{request['id']}/carry-out")
    assert carried.status_code == 200, carried.json
    assert (carried.json["status"], carried.json["decided_by"]) == (
        "carried_out",
        "owner@acme.test",
    )

    # Every row about Sam at Acme is gone, evidence included, past the row-level security.
    for table in tables:
        assert keys_in_database(database, table, acme.agency_id, record_id) == set(), table.name
    for (agency_id, contractor_id, name), keys in untouched.items():
        table = db.metadata.tables[name]
        assert keys_in_database(database, table, agency_id, contractor_id) == keys, name
    contractor = owner.get(f"contractors/{record_id}").json
    assert (contractor["name"], contractor["email"], contractor["external_ref"]) == (
        "Erased",
        None,
        None,
    )
    assert (contractor["tags"], contractor["status"]) == ([], "archived")
    assert owner.get(f"contractors/{record_id}/events").json["total"] == 0
    assert rival.get(f"contractors/{globex_record}").json["name"] == "Sam Roe"

    # The audit log keeps that it happened, and nothing of what it said about Sam.
    about_sam = owner.get(f"audit?object_id={record_id}&per_page=100").json["items"]
    assert {"contractor.created", "invitation.created", "person.linked"} <= {
        entry["action"] for entry in about_sam
    }
    assert all(entry["details"] == {} for entry in about_sam)
    everything = json.dumps(owner.get("audit?per_page=100").json["items"])
    assert "sam@example.com" not in everything and "Sam Roe" not in everything
    (done,) = owner.get("audit?action=erasure.carried_out").json["items"]
    assert done["object_id"] == request["id"]
    assert done["details"]["rows"]["conduct_events"] == 1
    assert owner.get(f"erasure-requests/{request['id']}").json["status"] == "carried_out"
    assert (
        owner.post(f"erasure-requests/{request['id']}/refuse", {"reason": "x"}).status_code == 409
    )

    # The person is told, no longer reaches the record, and no longer finds it in the export.
    run_jobs(app, redis_url)
    (told,) = [m for m in mailbox.wait_for(to="sam@example.com") if "erased" in m["Subject"]]
    assert "Acme" in told["Subject"]
    assert [r["id"] for r in person.get("me/records").json] == [globex_record]
    assert person.get(f"me/records/{record_id}").status_code == 404
    assert [r["record_id"] for r in person.get("me/export").json["records"]] == [globex_record]


@pytest.mark.postgresql_only
def test_the_database_lets_only_the_contractor_being_erased_go(
    app, tenants, recruiter, database_url
):
    acme, _ = tenants
    erased, other = (
        recruiter.post("contractors", {"name": name}).json["id"] for name in ("Sam", "Kim")
    )
    for contractor_id in (erased, other):
        recruiter.post(
            f"contractors/{contractor_id}/events",
            {"kind": "rudeness", "occurred_at": "2026-01-02T00:00:00Z", "summary": "Shouted"},
        )
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:

        def scoped(erasure: str) -> None:
            connection.rollback()
            connection.execute(
                "SELECT set_config('app.agency_id', %s, false)", [str(acme.agency_id)]
            )
            connection.execute("SELECT set_config('app.erasure', %s, false)", [erasure])

        for erasure, contractor_id in (("", erased), (erased, other)):
            scoped(erasure)
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                connection.execute(
                    "DELETE FROM conduct_events WHERE contractor_id = %s", [contractor_id]
                )
        scoped(erased)
        deleted = connection.execute(
            "DELETE FROM conduct_events WHERE contractor_id = %s", [erased]
        )
        assert deleted.rowcount == 1
        # An erasure blanks what the audit log said; it never rewrites it or anything else.
        for change in ("details = '{\"x\": 1}'", "details = '{}', action = 'x'"):
            scoped(erased)
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                connection.execute(f"UPDATE audit_entries SET {change}")
        scoped("")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            connection.execute("UPDATE audit_entries SET details = '{}'")
        scoped(erased)
        assert connection.execute("UPDATE audit_entries SET details = '{}'").rowcount > 0
        connection.rollback()
