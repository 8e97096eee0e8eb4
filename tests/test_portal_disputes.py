"""Statements and disputes on the portal, as the server answers them: the agency's queue and a
dispute's page with the form that resolves it; the contractor's forms beside each event of their
record; what each side then sees; refused input said beside its field with nothing written; CSRF;
and another agency's dispute, or another person's event, as the 404 page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from reputation import clock
from tests.conftest import login, run_jobs
from tests.factories import PASSWORD, make_dispute, make_evidence, make_invitation
from tests.test_portal import csrf_token, sign_in
from tests.test_portal_me import create_account

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with clock.frozen(NOW):
        yield NOW


def staff(app, email="recruiter@acme.test"):
    client = app.test_client()
    assert (
        sign_in(client, agency=email.partition("@")[2].split(".")[0], email=email).status_code
        == 302
    )
    return client


def page_token(html: str) -> str:
    """The CSRF token every page carries in its head (base.html), which its plain forms send."""
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


@pytest.fixture
def sam(app, tenants, frozen):
    """Acme's contractor Sam, signed in to their own account: the client, the record's id and
    the id of its ghosting event."""
    ids = make_evidence(app, tenants[0])
    client = app.test_client()
    assert (
        create_account(client, make_invitation(app, tenants[0], ids["contractor_id"])).status_code
        == 302
    )
    return client, ids["contractor_id"], ids["event_id"]


def test_the_contractor_answers_an_event_from_their_record_and_the_recruiter_sees_it(app, sam):
    client, record_id, event_id = sam
    record = client.get(f"/me/records/{record_id}").get_data(as_text=True)
    assert "Give your account of this event" in record and "Dispute this event" in record

    added = client.post(
        f"/me/events/{event_id}/statement",
        data={"csrf_token": page_token(record), "text": "The client moved the interview\r\ntwice."},
    )
    assert added.status_code == 302
    assert added.headers["Location"] == f"/me/records/{record_id}#event-{event_id}"
    shown = client.get(f"/me/records/{record_id}").get_data(as_text=True)
    assert "Your statement is added; the agency sees it." in shown
    assert "The client moved the interview\ntwice." in shown

    opened = client.post(
        f"/me/events/{event_id}/dispute",
        data={
            "csrf_token": page_token(shown),
            "reason": "I was never told of the final round.",
            "evidence_urls": "https://mail.example/thread/1\r\n\r\nhttps://mail.example/thread/2",
        },
    )
    assert opened.status_code == 302
    shown = client.get(f"/me/records/{record_id}").get_data(as_text=True)
    assert "Your dispute is open." in shown and "disputed" in shown
    assert "Unless the agency resolves the dispute by" in shown
    assert "Dispute this event" not in shown  # one open dispute at a time
    again = client.post(
        f"/me/events/{event_id}/dispute", data={"csrf_token": page_token(shown), "reason": "More"}
    )
    assert again.status_code == 409
    assert "This event is disputed already." in again.get_data(as_text=True)

    # The recruiter sees the statement and the dispute beside the event, and the dispute's page.
    recruiter = staff(app)
    contractor = recruiter.get(f"/contractors/{record_id}").get_data(as_text=True)
    assert "The client moved the interview\ntwice." in contractor
    assert "Unless the agency resolves the dispute by" in contractor
    link = re.search(r'href="(/disputes/[0-9a-f-]+)"', contractor).group(1)
    dispute = recruiter.get(link).get_data(as_text=True)
    assert "I was never told of the final round." in dispute
    assert 'href="https://mail.example/thread/2" rel="nofollow noopener noreferrer"' in dispute
    assert "Stopped answering during the final interview round" in dispute
    assert "Resolve the dispute" in dispute


def test_the_contractors_forms_refuse_bad_input_beside_the_field(app, sam):
    client, record_id, event_id = sam
    token = page_token(client.get(f"/me/records/{record_id}").get_data(as_text=True))
    for path, data, said in (
        ("statement", {"text": ""}, "This field is required."),
        ("statement", {"text": "x" * 2001}, "Field cannot be longer than 2000 characters."),
        (
            "dispute",
            {"reason": "Wrong", "evidence_urls": "ftp://files.example/x"},
            "Not an http:// or https:// address",
        ),
    ):
        refused = client.post(f"/me/events/{event_id}/{path}", data={"csrf_token": token, **data})
        assert refused.status_code == 422, path
        page = refused.get_data(as_text=True)
        assert said in page and 'aria-invalid="true"' in page
    record = client.get(f"/me/records/{record_id}").get_data(as_text=True)
    assert "<mark>disputed</mark>" not in record and "The contractor's statement" not in record
    # Without the token, nothing is written either.
    forged = client.post(f"/me/events/{event_id}/statement", data={"text": "Forged"})
    assert forged.status_code == 400


def test_a_person_reaches_no_event_but_their_own_and_staff_none_of_these_pages(app, tenants, sam):
    client, _, event_id = sam
    theirs = make_evidence(app, tenants[1])["event_id"]
    for path in (f"/me/events/{theirs}/statement", f"/me/events/{theirs}/dispute"):
        missing = client.get(path)
        assert (missing.status_code, missing.mimetype) == (404, "text/html"), path
    token = page_token(client.get("/me").get_data(as_text=True))
    posted = client.post(f"/me/events/{theirs}/dispute", data={"csrf_token": token, "reason": "x"})
    assert posted.status_code == 404
    assert client.get("/disputes").status_code == 403
    recruiter = staff(app)
    assert recruiter.get(f"/me/events/{event_id}/statement").status_code == 403


def test_the_queue_lists_the_open_disputes_first_and_filters_by_status(app, tenants, frozen):
    open_id = make_dispute(app, tenants[0])
    recruiter = staff(app)
    queue = recruiter.get("/disputes").get_data(as_text=True)
    assert 'href="/disputes"' in queue and 'aria-current="page"' in queue  # in the menu
    assert "1 dispute" in queue and "Dee Disputer" in queue
    assert f"/disputes/{open_id}" in queue
    assert "Jul 1, 2026" in queue  # the deadline, 30 days on
    assert "No dispute to show." in recruiter.get("/disputes?status=resolved").get_data(
        as_text=True
    )
    assert "Dee Disputer" in recruiter.get("/disputes?status=open").get_data(as_text=True)
    rival = staff(app, "owner@globex.test")
    assert "No dispute to show." in rival.get("/disputes").get_data(as_text=True)
    answer = rival.get(f"/disputes/{open_id}")
    assert (answer.status_code, answer.mimetype) == (404, "text/html")


def test_a_recruiter_resolves_a_dispute_and_the_contractor_is_emailed(
    app, tenants, redis_url, mailbox, frozen
):
    dispute_id = make_dispute(app, tenants[0])
    recruiter = staff(app)
    page = recruiter.get(f"/disputes/{dispute_id}").get_data(as_text=True)
    assert "It was the client who shouted." in page
    token = csrf_token(page, "resolve-csrf_token")

    refused = recruiter.post(
        f"/disputes/{dispute_id}/resolve", data={"resolve-csrf_token": token, "resolve-reason": "x"}
    )
    assert refused.status_code == 422
    assert "Resolve the dispute" in refused.get_data(as_text=True)
    assert "Open" in recruiter.get("/disputes").get_data(as_text=True)  # nothing written

    resolved = recruiter.post(
        f"/disputes/{dispute_id}/resolve",
        data={
            "resolve-csrf_token": token,
            "resolve-outcome": "overturned",
            "resolve-reason": "The client's own notes say\r\nthey shouted.",
        },
    )
    assert (resolved.status_code, resolved.headers["Location"]) == (302, f"/disputes/{dispute_id}")
    shown = recruiter.get(resolved.headers["Location"]).get_data(as_text=True)
    assert "The dispute is resolved: Overturned." in shown
    assert "Overturned on" in shown and "by recruiter@acme.test" in shown
    assert "Resolve the dispute" not in shown
    run_jobs(app, redis_url)
    (mail,) = mailbox.wait_for(to="dee@acme.example")
    text = mail.get_content().replace("\r\n", "\n")
    assert "The client's own notes say\nthey shouted." in text
    assert "no longer counts in your assessment" in text


def test_an_amended_outcome_records_the_amendment_from_the_same_form(app, tenants, frozen):
    dispute_id = make_dispute(app, tenants[0])
    recruiter = staff(app)
    page = recruiter.get(f"/disputes/{dispute_id}").get_data(as_text=True)
    assert 'name="amendment-summary"' in page
    amendment = {
        "amendment-kind": "rudeness",
        "amendment-severity": "2",
        "amendment-occurred_at": "2025-05-01T00:00",
        "amendment-summary": "Raised their voice at the client's standup",
        "amendment-details": "",
        "amendment-source": "agency",
        "amendment-evidence_urls": "",
    }
    base = {
        "resolve-csrf_token": csrf_token(page, "resolve-csrf_token"),
        "resolve-outcome": "amended",
        "resolve-reason": "Both raised their voices.",
    }
    unchanged = recruiter.post(f"/disputes/{dispute_id}/resolve", data={**base, **amendment})
    assert unchanged.status_code == 422
    assert "An amended outcome records the amendment: what changes." in unchanged.get_data(
        as_text=True
    )
    incident_only = {**amendment, "amendment-kind": "commitment_kept"}
    refused = recruiter.post(f"/disputes/{dispute_id}/resolve", data={**base, **incident_only})
    assert refused.status_code == 422

    resolved = recruiter.post(
        f"/disputes/{dispute_id}/resolve",
        data={**base, **amendment, "amendment-severity": "1"},
    )
    assert resolved.status_code == 302
    shown = recruiter.get(f"/disputes/{dispute_id}").get_data(as_text=True)
    assert "Amended on" in shown and "See the amendment" in shown
    api = login(app, "acme", "recruiter@acme.test", PASSWORD)
    dispute = api.get(f"disputes/{dispute_id}").json
    amended = api.get(f"events/{dispute['amendment_id']}").json
    assert (amended["severity"], amended["status_reason"]) == (1, None)
    assert (
        api.get(f"events/{dispute['event_id']}").json["status_reason"]
        == "Both raised their voices."
    )


def test_a_viewer_sees_the_disputes_but_no_form_and_cannot_resolve(app, tenants, frozen):
    dispute_id = make_dispute(app, tenants[0])
    viewer = staff(app, "viewer@acme.test")
    page = viewer.get(f"/disputes/{dispute_id}").get_data(as_text=True)
    assert "It was the client who shouted." in page and "Resolve the dispute" not in page
    refused = viewer.post(
        f"/disputes/{dispute_id}/resolve",
        data={"csrf_token": page_token(page), "resolve-outcome": "upheld", "resolve-reason": "x"},
    )
    assert refused.status_code == 403
