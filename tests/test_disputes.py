"""Statements and disputes (issue 11 §2): a contractor answers an event of their own record; the
agency sees the answer wherever it sees the event, works its queue of disputes, and resolves each
one, or the scheduler overturns it 30 days after it was opened ("not verified in time",
TRUST_MODEL.md §1), the event counting until that moment and not after."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import select

from reputation import clock
from reputation.disputes.models import Dispute
from reputation.extensions import db
from reputation.tenancy.scope import agency_scope
from tests.conftest import Api, login, run_jobs
from tests.factories import PASSWORD, make_dispute
from tests.test_persons import PERSON_PASSWORD, invite
from tests.test_webhooks import Receiver
from workers.schedule import settle_disputes

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def frozen():
    """The service's clock, held at T0: requests, jobs and the scheduler all read it."""
    with clock.frozen(T0):
        yield T0


@pytest.fixture
def recruiter(app, tenants):
    return login(app, "acme", "recruiter@acme.test", PASSWORD)


@pytest.fixture
def receiver(app):
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = True
    server = Receiver()
    yield server
    server.server.shutdown()
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = False


def signed_up(app, redis_url, mailbox, staff, email="sam@example.com", name="Sam Roe"):
    """An invited contractor of `staff`'s agency, signed in to their new account: the person's
    client, the record's id and the id of its one event (a ghosting, recorded by `staff`)."""
    record_id, token = invite(app, redis_url, mailbox, staff, email, name)
    person = Api(app.test_client())
    response = person.post("me/signup", {"token": token, "password": PERSON_PASSWORD})
    assert response.status_code == 201, response.json
    (event,) = person.get(f"me/records/{record_id}").json["events"]
    return person, record_id, event["id"]


def payloads(receiver, event_type):
    bodies = [json.loads(body) for _, body in receiver.received]
    return [body["data"] for body in bodies if body["type"] == event_type]


def delivered_to(mailbox, address):
    return [message for message in mailbox.messages if message["To"] == address]


def test_a_contractors_statement_shows_beside_the_event_everywhere_and_a_new_one_supersedes_it(
    app, redis_url, mailbox, recruiter, receiver, frozen
):
    admin = login(app, "acme", "admin@acme.test", PASSWORD)
    assert admin.post("webhooks/endpoints", {"url": receiver.url}).status_code == 201
    person, record_id, event_id = signed_up(app, redis_url, mailbox, recruiter)

    first = person.post(f"me/events/{event_id}/statements", {"text": "The train was cancelled."})
    assert first.status_code == 201, first.json
    assert (first.json["event_id"], first.json["text"]) == (event_id, "The train was cancelled.")
    with clock.frozen(T0 + DAY):
        second = person.post(
            f"me/events/{event_id}/statements",
            {"text": "The train was cancelled; I wrote to the recruiter that evening."},
        )
    assert second.status_code == 201

    # The agency sees the current one beside the event; the person sees both, latest first.
    shown = recruiter.get(f"events/{event_id}").json["statement"]
    assert shown["id"] == second.json["id"]
    assert shown["text"].endswith("that evening.")
    listed = recruiter.get(f"contractors/{record_id}/events").json["items"]
    assert listed[0]["statement"]["id"] == second.json["id"]
    mine = person.get(f"me/events/{event_id}/statements").json
    assert [s["id"] for s in mine] == [second.json["id"], first.json["id"]]
    assert person.get(f"me/records/{record_id}").json["events"][0]["statement"] == shown

    with clock.frozen(T0 + DAY):  # when the second one's message falls due
        run_jobs(app, redis_url)
    added = payloads(receiver, "statement.added")
    assert [p["text"] for p in added] == [
        "The train was cancelled.",
        "The train was cancelled; I wrote to the recruiter that evening.",
    ]
    assert {(p["event_id"], p["contractor_id"]) for p in added} == {(event_id, record_id)}
    assert "person_id" not in added[0]  # an agency never learns the person's own account


def test_over_long_or_empty_statements_and_reasons_are_refused_naming_the_field(
    app, redis_url, mailbox, recruiter, frozen
):
    person, _, event_id = signed_up(app, redis_url, mailbox, recruiter)
    for path, body, field in (
        ("statements", {"text": "x" * 2001}, "text"),
        ("statements", {"text": ""}, "text"),
        ("disputes", {"reason": "x" * 2001}, "reason"),
        (
            "disputes",
            {"reason": "Wrong", "evidence_urls": ["javascript:alert(1)"]},
            "evidence_urls.0",
        ),
    ):
        refused = person.post(f"me/events/{event_id}/{path}", body)
        assert refused.status_code == 422, (path, body)
        assert refused.json["errors"][0]["field"] == field
    assert person.get(f"me/events/{event_id}/statements").json == []
    assert person.get(f"me/events/{event_id}/disputes").json == []


def test_a_dispute_marks_the_event_disputed_everywhere_and_one_is_open_at_a_time(
    app, redis_url, mailbox, recruiter, receiver, frozen
):
    admin = login(app, "acme", "admin@acme.test", PASSWORD)
    assert admin.post("webhooks/endpoints", {"url": receiver.url}).status_code == 201
    person, record_id, event_id = signed_up(app, redis_url, mailbox, recruiter)
    opened = person.post(
        f"me/events/{event_id}/disputes",
        {
            "reason": "I never ghosted: the client cancelled.",
            "evidence_urls": ["https://mail.example/1"],
        },
    )
    assert opened.status_code == 201, opened.json
    dispute = opened.json
    assert (dispute["status"], dispute["event_id"]) == ("open", event_id)
    assert dispute["deadline"] == (T0 + 30 * DAY).isoformat()
    assert dispute["event"]["disputed"] is True

    assert recruiter.get(f"events/{event_id}").json["disputed"] is True
    assert recruiter.get(f"contractors/{record_id}/events").json["items"][0]["disputed"] is True
    assert person.get(f"me/records/{record_id}").json["events"][0]["disputed"] is True
    (queued,) = recruiter.get("disputes").json["items"]
    assert (queued["id"], queued["reason"]) == (
        dispute["id"],
        "I never ghosted: the client cancelled.",
    )
    assert queued["evidence_urls"] == ["https://mail.example/1"]
    assert "person_id" not in queued

    again = person.post(f"me/events/{event_id}/disputes", {"reason": "Once more"})
    assert again.status_code == 409
    assert again.json["errors"][0]["field"] == "event_id"

    run_jobs(app, redis_url)
    (sent,) = payloads(receiver, "dispute.opened")
    assert (sent["id"], sent["event"]["disputed"]) == (dispute["id"], True)
    # Disputed, the event keeps counting meanwhile (§1).
    assessment = recruiter.get(f"contractors/{record_id}/assessment").json
    assert assessment["s"] > 0 and not assessment["pending"]


def test_retracted_and_superseded_versions_cannot_be_disputed(
    app, redis_url, mailbox, recruiter, frozen
):
    person, _, event_id = signed_up(app, redis_url, mailbox, recruiter)
    amended = recruiter.post(f"events/{event_id}/amend", {"severity": 1}).json
    refused = person.post(f"me/events/{event_id}/disputes", {"reason": "Wrong"})
    assert refused.status_code == 409
    assert amended["id"] in refused.json["detail"]  # the version to answer instead
    assert (
        recruiter.post(f"events/{amended['id']}/retract", {"reason": "Wrong person"}).status_code
        == 200
    )
    for path in ("disputes", "statements"):
        body = {"reason": "Wrong"} if path == "disputes" else {"text": "Indeed"}
        refused = person.post(f"me/events/{amended['id']}/{path}", body)
        assert refused.status_code == 409, path
        assert refused.json["errors"][0]["field"] == "event_id"
    assert recruiter.get("disputes").json["total"] == 0


def test_upheld_the_event_stands_and_the_person_is_emailed_the_reason(
    app, redis_url, mailbox, recruiter, receiver, frozen
):
    admin = login(app, "acme", "admin@acme.test", PASSWORD)
    assert admin.post("webhooks/endpoints", {"url": receiver.url}).status_code == 201
    person, record_id, event_id = signed_up(app, redis_url, mailbox, recruiter)
    dispute = person.post(f"me/events/{event_id}/disputes", {"reason": "Not me"}).json
    run_jobs(app, redis_url)
    before = recruiter.get(f"contractors/{record_id}/assessment").json

    with clock.frozen(T0 + 3 * DAY):
        resolved = recruiter.post(
            f"disputes/{dispute['id']}/resolve",
            {"outcome": "upheld", "reason": "Two interviewers noted the no-show."},
        )
        assert resolved.status_code == 200, resolved.json
        assert (resolved.json["status"], resolved.json["outcome"]) == ("resolved", "upheld")
        assert resolved.json["resolved_by"] == "recruiter@acme.test"
        assert resolved.json["event"]["disputed"] is False
        run_jobs(app, redis_url)

    (mail,) = delivered_to(mailbox, "sam@example.com")[1:]  # after the invitation
    assert mail["Subject"] == "Acme has resolved your dispute"
    body = mail.get_content()
    assert "The event stands as recorded" in body
    assert "Two interviewers noted the no-show." in body
    assert f"/me/records/{record_id}" in body
    (sent,) = payloads(receiver, "dispute.resolved")
    assert (sent["outcome"], sent["resolution_reason"]) == (
        "upheld",
        "Two interviewers noted the no-show.",
    )
    after = recruiter.get(f"contractors/{record_id}/assessment").json
    assert after["s"] == pytest.approx(before["s"], rel=0.01) and not after["pending"]
    assert recruiter.get(f"events/{event_id}").json["dispute"]["outcome"] == "upheld"
    # Resolved once: a second verdict is a conflict; the person may dispute anew.
    again = recruiter.post(
        f"disputes/{dispute['id']}/resolve", {"outcome": "overturned", "reason": "x"}
    )
    assert again.status_code == 409
    assert person.post(f"me/events/{event_id}/disputes", {"reason": "New facts"}).status_code == 201


def test_amended_records_the_amendment_which_counts_in_its_place(
    app, redis_url, mailbox, recruiter, frozen
):
    person, record_id, event_id = signed_up(app, redis_url, mailbox, recruiter)
    dispute = person.post(f"me/events/{event_id}/disputes", {"reason": "It was minor"}).json
    run_jobs(app, redis_url)
    before = recruiter.get(f"contractors/{record_id}/assessment").json

    path = f"disputes/{dispute['id']}/resolve"
    for body, field in (
        ({"outcome": "amended", "reason": "Agreed"}, "amendment"),
        ({"outcome": "amended", "reason": "Agreed", "amendment": {}}, "amendment"),
        (
            {"outcome": "amended", "reason": "Agreed", "amendment": {"kind": "commitment_kept"}},
            "amendment.kind",
        ),
        (
            {"outcome": "amended", "reason": "Agreed", "amendment": {"severity": 9}},
            "amendment.severity",
        ),
        ({"outcome": "upheld", "reason": "Agreed", "amendment": {"severity": 1}}, "amendment"),
        ({"outcome": "forgiven", "reason": "Agreed"}, "outcome"),
        ({"outcome": "upheld", "reason": "x" * 2001}, "reason"),
        ({"outcome": "upheld"}, "reason"),
    ):
        refused = recruiter.post(path, body)
        assert refused.status_code == 422, (body, refused.json)
        assert refused.json["errors"][0]["field"] == field, body
    assert recruiter.get(f"disputes/{dispute['id']}").json["status"] == "open"  # nothing written

    resolved = recruiter.post(
        path, {"outcome": "amended", "reason": "Agreed: minor.", "amendment": {"severity": 1}}
    )
    assert resolved.status_code == 200, resolved.json
    amendment = recruiter.get(f"events/{resolved.json['amendment_id']}").json
    assert (amendment["severity"], amendment["supersedes_id"]) == (1, event_id)
    assert amendment["status"] == "active" and amendment["recorded_by"] == "recruiter@acme.test"
    assert recruiter.get(f"events/{event_id}").json["status"] == "superseded"
    run_jobs(app, redis_url)
    after = recruiter.get(f"contractors/{record_id}/assessment").json
    assert after["s"] < before["s"]
    (mail,) = delivered_to(mailbox, "sam@example.com")[1:]
    assert "amended the event" in mail.get_content() and "Agreed: minor." in mail.get_content()


def test_overturned_the_event_stops_counting_from_that_moment(
    app, redis_url, mailbox, recruiter, frozen
):
    person, record_id, event_id = signed_up(app, redis_url, mailbox, recruiter)
    dispute = person.post(f"me/events/{event_id}/disputes", {"reason": "Not me"}).json
    run_jobs(app, redis_url)
    assert recruiter.get(f"contractors/{record_id}/assessment").json["s"] > 0
    with clock.frozen(T0 + 2 * DAY):
        resolved = recruiter.post(
            f"disputes/{dispute['id']}/resolve",
            {"outcome": "overturned", "reason": "The client confirmed they cancelled."},
        )
        assert resolved.status_code == 200
        run_jobs(app, redis_url)
    event = recruiter.get(f"events/{event_id}").json
    assert (event["status"], event["status_reason"]) == (
        "overturned",
        "The client confirmed they cancelled.",
    )
    assert event["status_changed_at"] == (T0 + 2 * DAY).isoformat()
    after = recruiter.get(f"contractors/{record_id}/assessment").json
    assert (after["s"], after["trust"], after["band"]) == (0, 0.5, "insufficient_evidence")
    (mail,) = delivered_to(mailbox, "sam@example.com")[1:]
    assert "no longer counts in your assessment" in mail.get_content()


def test_unresolved_after_30_days_the_dispute_is_overturned_by_the_scheduler(
    app, tenants, redis_url, mailbox, recruiter, frozen
):
    person, record_id, event_id = signed_up(app, redis_url, mailbox, recruiter)
    dispute = person.post(f"me/events/{event_id}/disputes", {"reason": "Not me"}).json
    run_jobs(app, redis_url)
    deadline = T0 + 30 * DAY
    assert settle_disputes(app, T0 + DAY) == 0  # nothing due: no reminder yet

    # A week before the deadline, and a day before, the agency's owner and admin (and the
    # recruiter who recorded the event) are reminded; once each, however often the scheduler ticks.
    for moment, reminded in (
        (deadline - 7 * DAY, 1),
        (deadline - 7 * DAY + DAY, 0),
        (deadline - DAY, 1),
    ):
        with clock.frozen(moment):
            assert settle_disputes(app, moment) == reminded, moment
            run_jobs(app, redis_url)
    for staff in ("owner@acme.test", "admin@acme.test", "recruiter@acme.test"):
        reminders = delivered_to(mailbox, staff)
        assert len(reminders) == 2, staff
        assert "Sam Roe disputed the event" in reminders[0].get_content()
    assert delivered_to(mailbox, "viewer@acme.test") == []

    # A minute before the deadline the event still counts; just after it, it is overturned.
    with clock.frozen(deadline - timedelta(minutes=1)):
        assert settle_disputes(app, clock.now()) == 0
        assert recruiter.get(f"events/{event_id}").json["disputed"] is True
    overturned_at = deadline + timedelta(minutes=1)
    with clock.frozen(overturned_at):
        assert settle_disputes(app, clock.now()) == 1
        assert settle_disputes(app, clock.now()) == 0  # idempotent: the next tick finds none
        run_jobs(app, redis_url)
        shown = recruiter.get(f"disputes/{dispute['id']}").json
        assessment = recruiter.get(f"contractors/{record_id}/assessment").json
        trajectory = recruiter.get(f"contractors/{record_id}/trajectory").json
    assert (shown["outcome"], shown["resolution_reason"]) == ("overturned", "not verified in time")
    assert shown["resolved_by"] == "system"
    event = shown["event"]
    assert (event["status"], event["disputed"]) == ("overturned", False)
    assert event["status_changed_at"] == overturned_at.isoformat()

    # The event counted until that moment and not after (TRUST_MODEL.md §1).
    assert (assessment["s"], assessment["uncertainty"]) == (0, 1)
    points = {datetime.fromisoformat(p["at"]): p for p in trajectory["points"]}
    before = [
        p for at, p in points.items() if datetime(2026, 1, 6, tzinfo=UTC) <= at < overturned_at
    ]
    after = [p for at, p in points.items() if at >= overturned_at]
    assert before and all(p["trust"] < 0.5 for p in before)
    assert after and all(p["trust"] == 0.5 for p in after)

    (mail,) = delivered_to(mailbox, "sam@example.com")[1:]
    assert "did not resolve it within 30 days" in mail.get_content()
    late = recruiter.post(f"disputes/{dispute['id']}/resolve", {"outcome": "upheld", "reason": "x"})
    assert late.status_code == 409


def test_the_queue_shows_the_open_disputes_first_by_deadline_then_the_resolved(
    app, tenants, redis_url, mailbox, recruiter, frozen
):
    sam, _, sam_event = signed_up(app, redis_url, mailbox, recruiter)
    kim, _, kim_event = signed_up(app, redis_url, mailbox, recruiter, "kim@example.com", "Kim")
    lee, _, lee_event = signed_up(app, redis_url, mailbox, recruiter, "lee@example.com", "Lee")
    with clock.frozen(T0 + 2 * DAY):
        first = sam.post(f"me/events/{sam_event}/disputes", {"reason": "a"}).json
    with clock.frozen(T0 + DAY):
        second = kim.post(f"me/events/{kim_event}/disputes", {"reason": "b"}).json
    third = lee.post(f"me/events/{lee_event}/disputes", {"reason": "c"}).json
    recruiter.post(f"disputes/{third['id']}/resolve", {"outcome": "upheld", "reason": "x"})

    queue = recruiter.get("disputes").json
    assert [d["id"] for d in queue["items"]] == [second["id"], first["id"], third["id"]]
    assert [d["id"] for d in recruiter.get("disputes?status=resolved").json["items"]] == [
        third["id"]
    ]
    assert recruiter.get("disputes?status=lost").json["errors"][0]["field"] == "status"
    viewer = login(app, "acme", "viewer@acme.test", PASSWORD)
    assert viewer.get("disputes").json["total"] == 3  # reading is for every principal
    refused = viewer.post(f"disputes/{first['id']}/resolve", {"outcome": "upheld", "reason": "x"})
    assert refused.status_code == 403
    reader = Api(app.test_client(), tenants[0].read_key)
    assert reader.get(f"disputes/{first['id']}").status_code == 200
    assert (
        reader.post(
            f"disputes/{first['id']}/resolve", {"outcome": "upheld", "reason": "x"}
        ).status_code
        == 403
    )
    writer = Api(app.test_client(), tenants[0].write_key)
    resolved = writer.post(f"disputes/{first['id']}/resolve", {"outcome": "upheld", "reason": "x"})
    assert resolved.json["resolved_by"].startswith("API key writer")
    rival = login(app, "globex", "owner@globex.test", PASSWORD)
    assert rival.get("disputes").json["total"] == 0
    assert rival.get(f"disputes/{second['id']}").status_code == 404


def test_a_person_reaches_only_their_own_events_and_disputes(
    app, tenants, redis_url, mailbox, recruiter, frozen
):
    sam, _, sam_event = signed_up(app, redis_url, mailbox, recruiter)
    kim, _, kim_event = signed_up(app, redis_url, mailbox, recruiter, "kim@example.com", "Kim")
    kims = kim.post(f"me/events/{kim_event}/disputes", {"reason": "Mine"}).json
    for method, path, body in (
        ("GET", f"me/events/{kim_event}/statements", None),
        ("POST", f"me/events/{kim_event}/statements", {"text": "Not mine"}),
        ("GET", f"me/events/{kim_event}/disputes", None),
        ("POST", f"me/events/{kim_event}/disputes", {"reason": "Not mine"}),
        ("GET", f"me/disputes/{kims['id']}", None),
    ):
        answer = sam.request(method, path, body)
        assert answer.status_code == 404, (method, path)
        assert "no such" in answer.json["detail"]
    assert kim.get(f"me/disputes/{kims['id']}").json["event"]["id"] == kim_event
    # Staff and keys never reach a person's side; a person never reaches the agency's.
    assert recruiter.get(f"me/events/{sam_event}/statements").status_code == 403
    assert recruiter.post(f"me/events/{sam_event}/disputes", {"reason": "x"}).status_code == 403
    assert (
        Api(app.test_client(), tenants[0].write_key).get(f"me/disputes/{kims['id']}").status_code
        == 403
    )
    assert sam.get("disputes").status_code == 403
    assert sam.get(f"disputes/{kims['id']}").status_code == 403
    assert (
        sam.post(
            f"disputes/{kims['id']}/resolve", {"outcome": "overturned", "reason": "x"}
        ).status_code
        == 403
    )
    assert kim.get(f"me/disputes/{kims['id']}").json["status"] == "open"


def test_an_export_of_events_carries_the_statement_and_the_dispute(
    app, redis_url, mailbox, recruiter, frozen
):
    person, _, event_id = signed_up(app, redis_url, mailbox, recruiter)
    with clock.frozen(T0 + DAY):
        person.post(f"me/events/{event_id}/statements", {"text": "=cmd| my side"})
        person.post(f"me/events/{event_id}/disputes", {"reason": "Not me"})
    since = (T0 + DAY).isoformat()
    with clock.frozen(T0 + 2 * DAY):
        started = recruiter.post("exports", {"what": "events", "format": "jsonl", "since": since})
        assert started.status_code in (201, 202), started.json
        run_jobs(app, redis_url)
        download = recruiter.get(f"exports/{started.json['id']}/download")
    (row,) = [json.loads(line) for line in download.get_data(as_text=True).splitlines()]
    assert row["id"] == event_id  # recorded long before `since`, answered after it
    assert row["statement"]["text"] == "=cmd| my side"
    assert (row["disputed"], row["dispute"]["status"]) == (True, "open")


@pytest.mark.postgresql_only
def test_the_database_keeps_statements_and_a_disputes_facts_and_hides_them_across_agencies(
    app, tenants, database_url
):
    dispute_id = make_dispute(app, tenants[0])
    with app.app_context(), agency_scope(tenants[0].agency_id):
        dispute = db.session.scalar(select(Dispute).where(Dispute.id == dispute_id))
        event_id = dispute.event_id
        db.session.rollback()
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        for table in ("statements", "disputes"):
            assert connection.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        connection.execute(
            "SELECT set_config('app.agency_id', %s, false)", [str(tenants[1].agency_id)]
        )
        assert connection.execute("SELECT count(*) FROM disputes").fetchone() == (0,)
        connection.execute(
            "SELECT set_config('app.agency_id', %s, false)", [str(tenants[0].agency_id)]
        )
        connection.execute(
            "INSERT INTO statements (agency_id, id, event_id, contractor_id, person_id, text, "
            "created_at) SELECT agency_id, gen_random_uuid(), event_id, contractor_id, person_id, "
            "'mine', now() FROM disputes"
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            connection.execute("UPDATE statements SET text = 'rewritten'")
        connection.rollback()
        connection.execute(
            "SELECT set_config('app.agency_id', %s, false)", [str(tenants[0].agency_id)]
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="recorded facts"):
            connection.execute("UPDATE disputes SET reason = 'rewritten'")
        connection.rollback()
        connection.execute(
            "SELECT set_config('app.agency_id', %s, false)", [str(tenants[0].agency_id)]
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            connection.execute("DELETE FROM disputes WHERE event_id = %s", [event_id])
