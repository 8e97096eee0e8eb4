"""References and a contractor's own evidence (issue 11 §2): the person or the agency asks a
referee, the referee answers once through the emailed link, and the agency sees the signs of a
reference the contractor wrote themselves before it verifies the step the answer made."""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest

from reputation import clock
from reputation.references.models import ReferenceRequest
from reputation.rehabilitation.models import RehabilitationStep
from tests.conftest import Api, count_rows, login, run_jobs
from tests.factories import PASSWORD, make_evidence, make_invitation
from tests.test_persons import PERSON_PASSWORD, invite
from tests.test_portal import csrf_token

# The test client's own address, from which the person signs up: a referee answering from it
# answers from one of the person's sessions.
PERSON_ADDRESS = "127.0.0.1"
REFEREE_ADDRESS = "203.0.113.7"
ANSWERS = {
    "relationship": "Project manager at the client",
    "known_from": "2024-02-01",
    "known_until": "2025-10-31",
    "would_work_again": "yes",
    "repair": "Came back to us, apologised, and fixed the release on their own time.",
    "comments": "Reliable since then.",
}
ANN = {
    "referee_name": "Ann Client",
    "referee_email": "ann@client-corp.example",
    "relationship": "Project manager at the client",
}


@pytest.fixture
def recruiter(app, tenants):
    return login(app, "acme", "recruiter@acme.test", PASSWORD)


@pytest.fixture
def rival(app, tenants):
    return login(app, "globex", "recruiter@globex.test", PASSWORD)


def signed_up(app, redis_url, mailbox, staff, email="sam@example.com", name="Sam Roe"):
    """A contractor of `staff`'s agency (a ghosting incident on record), invited, with their own
    account, signed in from PERSON_ADDRESS: the record's id and the person's client."""
    record_id, token = invite(app, redis_url, mailbox, staff, email, name)
    person = Api(app.test_client())
    assert (
        person.post("me/signup", {"token": token, "password": PERSON_PASSWORD}).status_code == 201
    )
    return record_id, person


def incident_of(staff, contractor_id):
    """The contractor's one incident (`invite` records it)."""
    (event,) = [
        event
        for event in staff.get(f"contractors/{contractor_id}/events").json["items"]
        if event["valence"] == "negative"
    ]
    return event["id"]


def link_for(app, redis_url, mailbox, to):
    """The mail sent to the referee `to`, and its link's token."""
    run_jobs(app, redis_url)
    message = mailbox.wait_for(to=to)[-1]
    found = re.search(r"http://localhost/r/([A-Za-z0-9_-]+)", message.get_content())
    assert found, message.get_content()
    return message, found[1]


def open_form(app, token, address=REFEREE_ADDRESS):
    """The referee follows the link from `address`: their browser, and the form's fields as
    they fill them in, with the page's CSRF token."""
    referee = app.test_client()
    referee.environ_base["REMOTE_ADDR"] = address
    page = referee.get(f"/r/{token}")
    assert page.status_code == 200, page.get_data(as_text=True)
    return referee, {**ANSWERS, "csrf_token": csrf_token(page.get_data(as_text=True))}


def answer(app, token, address=REFEREE_ADDRESS, **fields):
    """The referee follows the link, from `address`, and sends the form as a browser does."""
    referee, form = open_form(app, token, address)
    return referee.post(f"/r/{token}", data={**form, **fields})


@contextmanager
def later(**delay):
    """The service's clock moved on by `delay` from now, and held there."""
    with clock.frozen(clock.now() + timedelta(**delay)):
        yield


def codes(request):
    return [signal["code"] for signal in request["fraud_signals"]]


def test_a_person_asks_a_referee_who_answers_once_and_the_verified_reference_counts(
    app, redis_url, mailbox, recruiter
):
    record_id, person = signed_up(app, redis_url, mailbox, recruiter)
    incident = incident_of(recruiter, record_id)
    asked = person.post(
        f"me/records/{record_id}/reference-requests", {**ANN, "addresses_event_id": incident}
    )
    assert asked.status_code == 201, asked.json
    assert asked.json["recorded_by"] == "sam@example.com"
    assert (asked.json["answered_at"], asked.json["step_id"], codes(asked.json)) == (None, None, [])

    message, token = link_for(app, redis_url, mailbox, "ann@client-corp.example")
    assert message["Subject"] == "Sam Roe asks you for a reference"
    text = message.get_content()
    assert "Hello Ann Client" in text and "Acme" in text and "Project manager at the client" in text
    assert "make amends after the incident of January 5, 2026" in text

    with later(minutes=5):
        referee, form = open_form(app, token)
        sent = referee.post(f"/r/{token}", data=form)
        assert (sent.status_code, sent.headers["Location"]) == (302, "/r/thanks")
        (step,) = [
            s
            for s in recruiter.get(f"contractors/{record_id}/rehabilitation").json["items"]
            if s["kind"] == "reference"
        ]
        assert (step["source"], step["status"]) == ("referee", "pending")
        assert step["recorded_by"] == "Ann Client <ann@client-corp.example>"
        assert step["addresses_event_id"] == incident
        assert "Ann Client (ann@client-corp.example)" in step["description"]
        assert "from 2024-02-01 to 2025-10-31" in step["description"]
        assert "Would work with them again: yes." in step["description"]
        assert "fixed the release on their own time" in step["description"]
        (request,) = recruiter.get(f"contractors/{record_id}/reference-requests").json["items"]
        assert request["step_id"] == step["id"] and request["answered_at"]
        assert request["answers"]["would_work_again"] == "yes"
        assert codes(request) == []
        # The person sees the same in their record.
        mine = person.get(f"me/records/{record_id}/reference-requests").json["items"]
        assert [r["step_id"] for r in mine] == [step["id"]]

        # Sent again, it records nothing; followed again, the link says it was used.
        again = referee.post(f"/r/{token}", data=form)
        assert again.status_code == 409
        assert "This reference was sent already" in again.get_data(as_text=True)
        assert count_rows(app, RehabilitationStep) == 1
        assert app.test_client().get(f"/r/{token}").status_code == 410

        # The verified reference weighs more than the pending one.
        run_jobs(app, redis_url)
        pending = recruiter.get(f"contractors/{record_id}/assessment").json
        verdict = recruiter.post(f"rehabilitation/{step['id']}/verify", {"decision": "verified"})
        assert verdict.status_code == 200, verdict.json
        run_jobs(app, redis_url)
        verified = recruiter.get(f"contractors/{record_id}/assessment").json
    assert verified["trust"] > pending["trust"]
    assert not verified["pending"]


def test_the_agency_asks_a_referee_and_the_answer_is_a_pending_referee_step(
    app, tenants, redis_url, mailbox, recruiter, client
):
    contractor = recruiter.post("contractors", {"name": "Kim Lee", "email": "kim@kim.example"})
    contractor_id = contractor.json["id"]
    asked = recruiter.post(f"contractors/{contractor_id}/reference-requests", ANN)
    assert asked.status_code == 201, asked.json
    assert asked.json["recorded_by"] == "recruiter@acme.test"
    assert asked.json["addresses_event_id"] is None
    message, token = link_for(app, redis_url, mailbox, "ann@client-corp.example")
    assert message["Subject"] == "Acme asks you for a reference about Kim Lee"
    assert "incident" not in message.get_content()

    with later(minutes=2):
        assert answer(app, token, would_work_again="unsure", known_until="").status_code == 302
    (step,) = recruiter.get(f"contractors/{contractor_id}/rehabilitation").json["items"]
    assert (step["kind"], step["source"], step["status"]) == ("reference", "referee", "pending")
    assert step["addresses_event_id"] is None
    assert "since 2024-02-01" in step["description"]
    assert "Would work with them again: not sure." in step["description"]
    assert "repair" not in step["description"]

    # An integration with the write scope asks too; a read key may not.
    writer = Api(client, tenants[0].write_key)
    bob = {**ANN, "referee_email": "bob@client-corp.example"}
    assert writer.post(f"contractors/{contractor_id}/reference-requests", bob).status_code == 201
    reader = Api(app.test_client(), tenants[0].read_key)
    refused = reader.post(f"contractors/{contractor_id}/reference-requests", ANN)
    assert refused.status_code == 403


def sign(code, **details):
    return {"code": code, "details": details}


SAMS = "roe-consulting.example"


@pytest.mark.parametrize(
    ("referee", "signals"),
    [
        (f"sam@{SAMS}", [sign("own_email", email=f"sam@{SAMS}")]),
        ("Sam@Roe-Consulting.example", [sign("own_email", email=f"sam@{SAMS}")]),
        (f"partner@{SAMS}", [sign("same_domain", domain=SAMS)]),
        (f"boss@eu.{SAMS}", [sign("same_domain", domain=SAMS)]),
        ("ann@gmail.com", [sign("free_mail", domain="gmail.com")]),
        ("ann@gmx.de", [sign("free_mail", domain="gmx.de")]),
        ("ann@yahoo.co.uk", [sign("free_mail", domain="yahoo.co.uk")]),
        ("ann@client-corp.example", []),
        ("ann@gmxsolutions.example", []),
        ("ann@live.broadcaster.example", []),
        (f"ann@{SAMS}.org", []),
    ],
)
def test_the_referees_address_shows_the_warning_signs_it_has(recruiter, referee, signals):
    contractor = recruiter.post(
        "contractors", {"name": "Sam Roe", "email": "sam@roe-consulting.example"}
    ).json
    asked = recruiter.post(
        f"contractors/{contractor['id']}/reference-requests",
        {**ANN, "referee_email": referee},
    )
    assert asked.status_code == 201, asked.json
    assert asked.json["fraud_signals"] == signals


def test_the_persons_own_account_address_counts_and_shared_free_mail_is_free_mail_only(
    app, redis_url, mailbox, recruiter
):
    record_id, person = signed_up(app, redis_url, mailbox, recruiter, email="sam@gmail.com")
    # The agency's record now has another address; the account's is the person's all the same.
    version = recruiter.get(f"contractors/{record_id}").headers["ETag"]
    changed = recruiter.patch(
        f"contractors/{record_id}",
        {"email": "sam.roe@roe-consulting.example"},
        headers={"If-Match": version},
    )
    assert changed.status_code == 200, changed.json
    own = person.post(
        f"me/records/{record_id}/reference-requests", {**ANN, "referee_email": "SAM@gmail.com"}
    )
    assert codes(own.json) == ["own_email", "free_mail"]
    friend = person.post(
        f"me/records/{record_id}/reference-requests", {**ANN, "referee_email": "pal@gmail.com"}
    )
    assert codes(friend.json) == ["free_mail"]
    colleague = person.post(
        f"me/records/{record_id}/reference-requests",
        {**ANN, "referee_email": "pat@roe-consulting.example"},
    )
    assert codes(colleague.json) == ["same_domain"]


def test_an_answer_from_the_persons_address_or_within_a_minute_is_a_warning_sign(
    app, redis_url, mailbox, recruiter
):
    record_id, person = signed_up(app, redis_url, mailbox, recruiter)
    # Signed in again from elsewhere: that address is one of the person's too.
    elsewhere = Api(app.test_client())
    elsewhere.client.environ_base["REMOTE_ADDR"] = "198.51.100.4"
    signed_in = elsewhere.post(
        "me/login", {"email": "sam@example.com", "password": PERSON_PASSWORD}
    )
    assert signed_in.status_code == 200
    tokens = {}
    sent = clock.now()
    with clock.frozen(sent):
        for name in ("ann", "bob", "cy", "dee"):
            email = f"{name}@client-corp.example"
            body = {**ANN, "referee_email": email}
            assert (
                person.post(f"me/records/{record_id}/reference-requests", body).status_code == 201
            )
            tokens[name] = link_for(app, redis_url, mailbox, email)[1]

    with clock.frozen(sent + timedelta(seconds=30)):
        assert answer(app, tokens["ann"], address=PERSON_ADDRESS).status_code == 302
    with clock.frozen(sent + timedelta(minutes=2)):
        assert answer(app, tokens["bob"], address="198.51.100.4").status_code == 302
        assert answer(app, tokens["cy"], address=REFEREE_ADDRESS).status_code == 302
    with clock.frozen(sent + timedelta(seconds=59)):
        assert answer(app, tokens["dee"], address=REFEREE_ADDRESS).status_code == 302

    answered = {
        request["referee_email"].partition("@")[0]: request["fraud_signals"]
        for request in recruiter.get(f"contractors/{record_id}/reference-requests").json["items"]
    }
    assert answered == {
        "ann": [
            {"code": "session_address", "details": {"address": PERSON_ADDRESS}},
            {"code": "quick_answer", "details": {"seconds": 30}},
        ],
        "bob": [{"code": "session_address", "details": {"address": "198.51.100.4"}}],
        "cy": [],
        "dee": [{"code": "quick_answer", "details": {"seconds": 59}}],
    }


def test_an_answer_from_anywhere_is_no_sign_for_a_contractor_without_an_account(
    app, redis_url, mailbox, recruiter
):
    contractor = recruiter.post("contractors", {"name": "Kim Lee", "email": "kim@kim.example"})
    recruiter.post(f"contractors/{contractor.json['id']}/reference-requests", ANN)
    _, token = link_for(app, redis_url, mailbox, "ann@client-corp.example")
    with later(minutes=3):
        assert answer(app, token, address=PERSON_ADDRESS).status_code == 302
    (request,) = recruiter.get(f"contractors/{contractor.json['id']}/reference-requests").json[
        "items"
    ]
    assert request["fraud_signals"] == []


def test_an_expired_link_is_a_410_page_that_says_what_to_do_and_unknown_links_are_404(
    app, tenants, redis_url, mailbox, recruiter
):
    contractor = recruiter.post("contractors", {"name": "Kim Lee"}).json
    recruiter.post(f"contractors/{contractor['id']}/reference-requests", ANN)
    _, token = link_for(app, redis_url, mailbox, "ann@client-corp.example")
    with later(days=13, hours=23):
        referee, form = open_form(app, token)
    with later(days=14, seconds=1):
        # Sent too late from the page opened in time, or followed too late: the same page.
        for expired in (referee.post(f"/r/{token}", data=form), referee.get(f"/r/{token}")):
            assert expired.status_code == 410
            page = expired.get_data(as_text=True)
            assert "This link has expired" in page
            assert "ask the person who asked you to send a new request" in page
    assert count_rows(app, RehabilitationStep) == 0

    assert referee.get(f"/r/{'x' * 43}").status_code == 404
    # An invitation's token is no referee's link.
    invitation = make_invitation(app, tenants[0], uuid.UUID(contractor["id"]))
    assert referee.get(f"/r/{invitation}").status_code == 404


def test_guessing_links_is_rate_limited(app, tenants):
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "192.0.2.66"
    statuses = [guesser.get(f"/r/guess-{n}").status_code for n in range(21)]
    assert statuses == [404] * 20 + [429]
    assert "wait a minute" in guesser.get("/r/guess-again").get_data(as_text=True)
    # Another address is not held back by that one's guesses.
    assert app.test_client().get("/r/guess-again").status_code == 404


def test_a_person_reaches_only_records_linked_to_them(
    app, tenants, redis_url, mailbox, recruiter, rival
):
    record_id, person = signed_up(app, redis_url, mailbox, recruiter)
    kims, _ = invite(app, redis_url, mailbox, recruiter, "kim@example.com", "Kim")
    theirs = make_evidence(app, tenants[1])["contractor_id"]
    evidence = {"kind": "training", "occurred_at": "2026-03-01T00:00:00Z", "description": "x"}
    before = count_rows(app, ReferenceRequest), count_rows(app, RehabilitationStep)
    absent = person.post(f"me/records/{uuid.uuid4()}/evidence", evidence)
    for other in (kims, theirs):
        for path, body in (("evidence", evidence), ("reference-requests", ANN)):
            refused = person.post(f"me/records/{other}/{path}", body)
            assert refused.status_code == 404, (path, refused.json)
            assert refused.json["detail"] == absent.json["detail"]
        assert person.get(f"me/records/{other}/reference-requests").status_code == 404
    assert (count_rows(app, ReferenceRequest), count_rows(app, RehabilitationStep)) == before

    # Staff and keys never reach a person's side; a person never reaches the agency's.
    assert recruiter.post(f"me/records/{record_id}/evidence", evidence).status_code == 403
    assert recruiter.get(f"me/records/{record_id}/reference-requests").status_code == 403
    assert person.post(f"contractors/{record_id}/reference-requests", ANN).status_code == 403
    assert person.get(f"contractors/{record_id}/reference-requests").status_code == 403
    # Another agency's contractor is not found.
    assert rival.post(f"contractors/{record_id}/reference-requests", ANN).status_code == 404
    assert rival.get(f"contractors/{record_id}/reference-requests").status_code == 404


def test_bad_requests_name_the_field_and_write_nothing(app, redis_url, mailbox, recruiter):
    record_id, person = signed_up(app, redis_url, mailbox, recruiter)
    good = recruiter.post(
        f"contractors/{record_id}/events",
        {"kind": "commitment_kept", "occurred_at": "2026-02-01T00:00:00Z", "summary": "Kept it"},
    ).json
    incident = incident_of(recruiter, record_id)
    path = f"me/records/{record_id}/reference-requests"
    for body, field in (
        ({**ANN, "referee_email": "not an address"}, "referee_email"),
        ({**ANN, "relationship": ""}, "relationship"),
        ({key: value for key, value in ANN.items() if key != "referee_name"}, "referee_name"),
        ({**ANN, "addresses_event_id": good["id"]}, "addresses_event_id"),
        (
            {**ANN, "addresses_event_id": "0190a5c8-0000-7000-8000-000000000000"},
            "addresses_event_id",
        ),
    ):
        refused = person.post(path, body)
        assert refused.status_code == 422, (body, refused.json)
        assert refused.json["errors"][0]["field"] == field
    evidence = f"me/records/{record_id}/evidence"
    training = {"kind": "training", "occurred_at": "2026-03-01T00:00:00Z", "description": "x"}
    for changes, field in (
        ({"kind": "reference"}, "kind"),
        ({"occurred_at": "2099-03-01T00:00:00Z"}, "occurred_at"),
        ({"description": ""}, "description"),
        ({"evidence_urls": ["javascript:alert(1)"]}, "evidence_urls.0"),
        (
            {"occurred_at": "2025-01-01T00:00:00Z", "addresses_event_id": incident},
            "addresses_event_id",
        ),
    ):
        body = {**training, **changes}
        refused = person.post(evidence, body)
        assert refused.status_code == 422, (body, refused.json)
        assert refused.json["errors"][0]["field"] == field
    assert count_rows(app, ReferenceRequest) == 0

    # One request waits for each referee's answer at a time.
    assert person.post(path, ANN).status_code == 201
    twice = person.post(path, {**ANN, "referee_email": "ANN@client-corp.example"})
    assert twice.status_code == 409
    assert twice.json["errors"][0]["field"] == "referee_email"
    assert count_rows(app, ReferenceRequest) == 1
    run_jobs(app, redis_url)
    assert len(mailbox.wait_for(to="ann@client-corp.example")) == 1


def test_a_persons_evidence_is_their_own_pending_step_until_the_agency_verifies_it(
    app, redis_url, mailbox, recruiter
):
    record_id, person = signed_up(app, redis_url, mailbox, recruiter)
    incident = incident_of(recruiter, record_id)
    run_jobs(app, redis_url)
    before = recruiter.get(f"contractors/{record_id}/assessment").json
    brought = person.post(
        f"me/records/{record_id}/evidence",
        {
            "kind": "remediation",
            "occurred_at": "2026-03-01T09:00:00Z",
            "addresses_event_id": incident,
            "description": "Finished the migration I had left, unbilled.",
            "evidence_urls": ["https://git.client.example/merge/42"],
        },
    )
    assert brought.status_code == 201, brought.json
    step = brought.json
    assert (step["source"], step["status"], step["recorded_by"]) == (
        "contractor",
        "pending",
        "sam@example.com",
    )
    assert step["evidence_urls"] == ["https://git.client.example/merge/42"]
    (seen,) = recruiter.get(f"contractors/{record_id}/rehabilitation").json["items"]
    assert seen["id"] == step["id"]
    run_jobs(app, redis_url)
    pending = recruiter.get(f"contractors/{record_id}/assessment").json
    assert (
        recruiter.post(f"rehabilitation/{step['id']}/verify", {"decision": "verified"}).status_code
        == 200
    )
    run_jobs(app, redis_url)
    verified = recruiter.get(f"contractors/{record_id}/assessment").json
    assert before["trust"] < pending["trust"] < verified["trust"]
    assert person.get(f"me/records/{record_id}").json["steps"][0]["status"] == "verified"


def test_ten_requests_wait_for_answers_at_most_and_an_expired_one_frees_its_place(recruiter):
    contractor_id = recruiter.post("contractors", {"name": "Kim Lee"}).json["id"]
    path = f"contractors/{contractor_id}/reference-requests"
    for n in range(10):
        asked = recruiter.post(path, {**ANN, "referee_email": f"referee{n}@client-corp.example"})
        assert asked.status_code == 201, asked.json
    refused = recruiter.post(path, {**ANN, "referee_email": "one.more@client-corp.example"})
    assert refused.status_code == 409
    assert "10 requests are waiting for an answer already" in refused.json["detail"]
    with later(days=14, seconds=1):
        again = recruiter.post(path, {**ANN, "referee_email": "one.more@client-corp.example"})
    assert again.status_code == 201
    assert recruiter.get(path).json["total"] == 11
