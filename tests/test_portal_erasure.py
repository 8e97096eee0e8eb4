"""A person's data from the pages (issue 11 §2): "Download my data" on /me gives the API's
export as a file; "Ask for erasure" under a record sends the request and shows where it stands;
the owners' page lists the requests and carries one out, once confirmed by a checkbox, or
refuses it with a reason; admins read it, nobody else reaches it."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest

from reputation import clock
from tests.conftest import Api, run_jobs
from tests.factories import make_evidence, make_invitation
from tests.test_portal import csrf_token, sign_in
from tests.test_portal_me import create_account

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def sam(app, tenants):
    """Acme's contractor Sam, signed in to their own account: the browser, and the record."""
    contractor_id = make_evidence(app, tenants[0])["contractor_id"]
    client = app.test_client()
    assert (
        create_account(client, make_invitation(app, tenants[0], contractor_id)).status_code == 302
    )
    return client, str(contractor_id)


@pytest.fixture
def owner(app, tenants):
    client = app.test_client()
    assert sign_in(client, email="owner@acme.test").status_code == 302
    return client


def text_of(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


def ask_for_erasure(client, record_id, reason="I changed careers."):
    page = client.get("/me").get_data(as_text=True)
    prefix = f"erasure-{record_id}"
    return client.post(
        f"/me/records/{record_id}/erasure-requests",
        data={f"{prefix}-csrf_token": csrf_token(page, f"{prefix}-csrf_token"),
              f"{prefix}-reason": reason},
    )  # fmt: skip


def request_id_on(owner) -> str:
    listed = owner.get("/erasure-requests").get_data(as_text=True)
    found = re.search(r'href="/erasure-requests/([0-9a-f-]{36})"', listed)
    assert found, listed
    return found.group(1)


def test_download_my_data_gives_the_apis_export_as_a_file(app, sam):
    client, record_id = sam
    home = client.get("/me").get_data(as_text=True)
    assert 'href="/me/export"' in home and "Download my data" in home
    with clock.frozen(T0):
        page = client.get("/me/export")
        api = Api(client).get("me/export")
    assert (page.status_code, page.mimetype) == (200, "application/json")
    assert page.headers["Content-Disposition"] == api.headers["Content-Disposition"]
    assert page.headers["Content-Disposition"].endswith('filename="personal-data-2026-06-01.json"')
    assert page.json == api.json
    (record,) = page.json["records"]
    assert record["record_id"] == record_id
    assert record["rows"]["conduct_events"][0]["summary"].startswith("Stopped answering")


def test_a_person_asks_for_erasure_and_sees_where_it_stands(app, sam, redis_url, mailbox):
    client, record_id = sam
    home = client.get("/me").get_data(as_text=True)
    assert "Ask for erasure" in home

    too_long = ask_for_erasure(client, record_id, "x" * 2001)
    assert too_long.status_code == 422
    assert "Field cannot be longer than 2000 characters." in text_of(too_long)

    sent = ask_for_erasure(client, record_id)
    assert (sent.status_code, sent.headers["Location"]) == (302, "/me")
    shown = text_of(client.get("/me"))
    assert "Your request to erase the record is sent to Acme's owners." in shown
    assert "You asked Acme to erase this record on" in shown
    assert f"/me/records/{record_id}/erasure-requests" not in shown  # no second form

    run_jobs(app, redis_url)
    (mail,) = mailbox.wait_for(to="owner@acme.test")
    assert "I changed careers." in mail.get_content()

    # A second one, from a page opened before, is refused: one open request per record.
    again = client.post(
        f"/me/records/{record_id}/erasure-requests",
        headers={"X-CSRFToken": re.search(r'name="csrf-token" content="([^"]+)"', shown)[1]},
    )
    assert again.status_code == 409
    assert "You have asked for this record's erasure already." in text_of(again)


def test_the_owner_refuses_with_a_reason_the_person_then_reads(app, sam, owner):
    client, record_id = sam
    assert ask_for_erasure(client, record_id).status_code == 302
    request_id = request_id_on(owner)
    page = owner.get(f"/erasure-requests/{request_id}").get_data(as_text=True)
    assert "I changed careers." in page and "Sam Contractor" in page

    token = csrf_token(page, "refuse-csrf_token")
    blank = owner.post(
        f"/erasure-requests/{request_id}/refuse",
        data={"refuse-csrf_token": token, "refuse-reason": ""},
    )
    assert blank.status_code == 422
    assert "This field is required." in text_of(blank)
    refused = owner.post(
        f"/erasure-requests/{request_id}/refuse",
        data={"refuse-csrf_token": token, "refuse-reason": "We keep placements for six years."},
    )
    assert refused.status_code == 302
    decided = text_of(owner.get(refused.headers["Location"]))
    assert "The request is refused." in decided and "Refused" in decided
    assert "Erase the record" not in decided  # decided: no more forms

    home = text_of(client.get("/me"))
    assert "Acme refused on" in home and "We keep placements for six years." in home
    assert "Ask for erasure" in home  # and may ask again


def test_the_owner_carries_out_an_erasure_only_once_confirmed(app, sam, owner):
    client, record_id = sam
    assert ask_for_erasure(client, record_id).status_code == 302
    request_id = request_id_on(owner)
    page = owner.get(f"/erasure-requests/{request_id}").get_data(as_text=True)
    token = csrf_token(page, "carry-out-csrf_token")

    unconfirmed = owner.post(
        f"/erasure-requests/{request_id}/carry-out", data={"carry-out-csrf_token": token}
    )
    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm the erasure." in text_of(unconfirmed)
    assert "Sam Contractor" in owner.get(f"/contractors/{record_id}").get_data(as_text=True)

    carried = owner.post(
        f"/erasure-requests/{request_id}/carry-out",
        data={"carry-out-csrf_token": token, "carry-out-confirm": "y"},
    )
    assert carried.status_code == 302
    decided = text_of(owner.get(carried.headers["Location"]))
    assert "The record is erased." in decided and "Carried out" in decided
    contractor = owner.get(f"/contractors/{record_id}").get_data(as_text=True)
    assert "Erased" in contractor and "Sam Contractor" not in contractor
    assert "Ghosting" not in contractor

    home = text_of(client.get("/me"))
    assert "No record is linked to your account yet." in home
    assert client.get(f"/me/records/{record_id}").status_code == 404


def test_owners_and_admins_read_the_requests_and_only_owners_decide(app, tenants, sam, owner):
    client, record_id = sam
    assert ask_for_erasure(client, record_id).status_code == 302
    request_id = request_id_on(owner)
    assert 'href="/erasure-requests"' in owner.get("/contractors").get_data(as_text=True)

    admin = app.test_client()
    assert sign_in(admin, email="admin@acme.test").status_code == 302
    page = admin.get(f"/erasure-requests/{request_id}").get_data(as_text=True)
    assert "I changed careers." in page and "Erase the record" not in page
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)[1]
    for action in ("carry-out", "refuse"):
        answer = admin.post(
            f"/erasure-requests/{request_id}/{action}",
            data={"carry-out-confirm": "y", "refuse-reason": "x"},
            headers={"X-CSRFToken": token},
        )
        assert answer.status_code == 403, action

    recruiter = app.test_client()
    assert sign_in(recruiter).status_code == 302
    assert 'href="/erasure-requests"' not in recruiter.get("/contractors").get_data(as_text=True)
    assert recruiter.get("/erasure-requests").status_code == 403
    assert recruiter.get(f"/erasure-requests/{request_id}").status_code == 403
    # A contractor's own pages are not staff's, nor the agency's pages a contractor's.
    assert owner.get("/me/export").status_code == 403
    assert client.get("/erasure-requests").status_code == 403
    # Another agency's owner finds nothing.
    rival = app.test_client()
    assert sign_in(rival, agency="globex", email="owner@globex.test").status_code == 302
    assert rival.get(f"/erasure-requests/{request_id}").status_code == 404
    assert "Sam Contractor" not in rival.get("/erasure-requests").get_data(as_text=True)
