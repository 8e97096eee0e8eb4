"""Contractors' own accounts: an agency's emailed invitation, the account it creates or the
record it links, and what a person may and may not reach (issue 11 §1)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from reputation import clock
from tests.conftest import Api, login, run_jobs
from tests.factories import PASSWORD, objects_of

PERSON_PASSWORD = "a person's long password"
# A valid body for each POST of /api/v1/me that names an object, so that the walk below reaches
# the lookup (an invalid body is a 422 before it).
ME_BODIES: dict[str, dict] = {
    "/api/v1/me/events/{event_id}/statements": {"text": "x"},
    "/api/v1/me/events/{event_id}/disputes": {"reason": "x"},
    "/api/v1/me/records/{record_id}/evidence": {
        "kind": "training",
        "occurred_at": "2025-06-01T00:00:00Z",
        "description": "x",
    },
    "/api/v1/me/records/{record_id}/reference-requests": {
        "referee_name": "x",
        "referee_email": "ann@client.example",
        "relationship": "x",
    },
    "/api/v1/me/records/{record_id}/erasure-requests": {"reason": "x"},
}


@pytest.fixture
def recruiter(app, tenants):
    return login(app, "acme", "recruiter@acme.test", PASSWORD)


@pytest.fixture
def rival(app, tenants):
    return login(app, "globex", "recruiter@globex.test", PASSWORD)


def invite(app, redis_url, mailbox, staff, email="sam@example.com", name="Sam Roe"):
    """A contractor of `staff`'s agency, invited; the contractor's id and the link's token."""
    contractor = staff.post("contractors", {"name": name, "email": email}).json
    staff.post(
        f"contractors/{contractor['id']}/events",
        {"kind": "ghosting", "occurred_at": "2026-01-05T09:00:00Z", "summary": "Went silent"},
    )
    response = staff.post(f"contractors/{contractor['id']}/invitations")
    assert response.status_code == 201, response.json
    assert response.json["email"] == email
    run_jobs(app, redis_url)
    message = mailbox.wait_for(to=email)[-1]
    token = re.search(r"/invite/([A-Za-z0-9_-]+)", message.get_content())
    assert token, message.get_content()
    return contractor["id"], token[1]


def test_an_invited_contractor_creates_an_account_and_sees_the_agencys_record(
    app, redis_url, mailbox, recruiter
):
    contractor_id, token = invite(app, redis_url, mailbox, recruiter)
    (message,) = mailbox.messages
    assert "Acme" in message["Subject"]
    person = Api(app.test_client())
    response = person.post("me/signup", {"token": token, "password": PERSON_PASSWORD})
    assert response.status_code == 201, response.json
    assert response.json["email"] == "sam@example.com"
    run_jobs(app, redis_url)

    (record,) = person.get("me/records").json
    assert (record["id"], record["agency"]["name"]) == (contractor_id, "Acme")
    assert (
        record["assessment"]["band"]
        == recruiter.get(f"contractors/{contractor_id}/assessment").json["band"]
    )
    full = person.get(f"me/records/{contractor_id}").json
    (event,) = full["events"]
    assert (event["kind"], event["recorded_by"]) == ("ghosting", "recruiter@acme.test")
    assert full["assessment"]["explanation"][0]["item_id"] == event["id"]
    assert full["trajectory"]["points"] and full["trajectory"]["projection"]
    assert full["decisions"] == []

    # The link works once; signed out, the account's password signs in.
    assert (
        person.post("me/signup", {"token": token, "password": PERSON_PASSWORD}).status_code == 410
    )
    assert person.post("me/logout").status_code == 204
    assert person.get("me/records").status_code == 401
    again = Api(app.test_client())
    wrong = again.post("me/login", {"email": "sam@example.com", "password": "not the password"})
    assert wrong.status_code == 401
    assert again.post(
        "me/login", {"email": "Sam@Example.com", "password": PERSON_PASSWORD}
    ).status_code in (200, 201)
    assert len(again.get("me/records").json) == 1


def test_one_person_links_the_records_of_two_agencies(app, redis_url, mailbox, recruiter, rival):
    first, token = invite(app, redis_url, mailbox, recruiter)
    person = Api(app.test_client())
    assert person.post("me/signup", {"token": token, "password": PERSON_PASSWORD}).status_code in (
        200,
        201,
    )
    second, other = invite(app, redis_url, mailbox, rival)

    # An account exists for this email: the second link adds to it rather than making another.
    newcomer = Api(app.test_client())
    refused = newcomer.post("me/signup", {"token": other, "password": PERSON_PASSWORD})
    assert refused.status_code == 409
    assert refused.json["errors"][0]["field"] == "token"
    response = person.post("me/link", {"token": other})
    assert response.status_code == 201, response.json
    assert {r["agency"]["name"] for r in person.get("me/records").json} == {"Acme", "Globex"}
    assert person.get(f"me/records/{second}").json["agency"]["name"] == "Globex"
    assert person.get(f"me/records/{first}").json["agency"]["name"] == "Acme"


def test_a_person_reaches_only_their_own_records_and_nothing_of_the_agencies(
    app, redis_url, mailbox, recruiter
):
    sam_record, sam_token = invite(app, redis_url, mailbox, recruiter)
    kim_record, kim_token = invite(app, redis_url, mailbox, recruiter, "kim@example.com", "Kim")
    sam, kim = Api(app.test_client()), Api(app.test_client())
    assert sam.post("me/signup", {"token": sam_token, "password": PERSON_PASSWORD}).status_code in (
        200,
        201,
    )
    assert kim.post("me/signup", {"token": kim_token, "password": PERSON_PASSWORD}).status_code in (
        200,
        201,
    )

    assert sam.get(f"me/records/{kim_record}").status_code == 404
    assert kim.get(f"me/records/{sam_record}").status_code == 404
    assert sam.get(f"me/records/{sam_record}").status_code in (200, 201)
    # A person is no agency's principal: the agency's API refuses them, whatever the id.
    for path in ("contractors", f"contractors/{sam_record}", f"contractors/{sam_record}/events"):
        assert sam.get(path).status_code == 403, path
    assert sam.post(f"contractors/{sam_record}/invitations").status_code == 403
    # And no staff member or key reaches a person's side.
    assert recruiter.get("me/records").status_code == 403
    assert recruiter.get(f"me/records/{sam_record}").status_code == 403
    assert Api(app.test_client()).get("me/records").status_code == 401


def test_an_invitation_needs_an_email_and_another_agencys_contractor_is_not_found(
    app, recruiter, rival
):
    nameless = recruiter.post("contractors", {"name": "No Mail"}).json
    refused = recruiter.post(f"contractors/{nameless['id']}/invitations")
    assert refused.status_code == 422
    assert refused.json["errors"][0]["field"] == "email"
    assert rival.post(f"contractors/{nameless['id']}/invitations").status_code == 404
    # An address the API's pattern admits but no message can be addressed to (a parenthesis
    # opens a comment in an email header): said so, not a failure later in the mail worker.
    odd = recruiter.post("contractors", {"name": "Odd", "email": "(v@example.com"}).json
    refused = recruiter.post(f"contractors/{odd['id']}/invitations")
    assert refused.status_code == 422
    assert refused.json["errors"][0]["field"] == "email"


def test_links_that_name_nothing_or_expired_are_refused(app, redis_url, mailbox, recruiter):
    _, token = invite(app, redis_url, mailbox, recruiter)
    person = Api(app.test_client())
    unknown = person.post("me/signup", {"token": "x" * 43, "password": PERSON_PASSWORD})
    assert unknown.status_code == 404
    with clock.frozen(clock.now() + timedelta(days=7, seconds=1)):
        expired = person.post("me/signup", {"token": token, "password": PERSON_PASSWORD})
    assert expired.status_code == 410
    short = person.post("me/signup", {"token": token, "password": "short"})
    assert short.status_code == 422
    assert short.json["errors"][0]["field"] == "password"


def test_every_route_of_a_persons_own_answers_404_for_records_not_theirs(
    app, tenants, redis_url, mailbox, rival, client
):
    # A person with a record of their own (at Globex) asks for Acme's contractor, which exists
    # but is not linked to them: every /me route with an id answers as if it did not exist.
    _, token = invite(app, redis_url, mailbox, rival)
    person = Api(app.test_client())
    assert (
        person.post("me/signup", {"token": token, "password": PERSON_PASSWORD}).status_code == 201
    )
    acme_objects = objects_of(app, tenants[0])
    spec = client.get("/api/v1/openapi.json").json
    walked = []
    for path, operations in spec["paths"].items():
        names = re.findall(r"{(\w+)}", path)
        if not path.startswith("/api/v1/me/") or not names:
            continue
        url = path.format(**acme_objects)
        for method in operations:
            if method in ("get", "post", "put", "patch", "delete"):
                response = person.request(method.upper(), url, ME_BODIES.get(path, {}))
                assert response.status_code == 404, (method, path, response.json)
                assert response.mimetype == "application/problem+json"
                walked.append((method, path))
    assert walked
