"""The contractor's own pages as the server answers them: the emailed invitation, the account it
creates, signing in and out, the records, and who may reach what (issue 11 §1)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import login, run_jobs
from tests.factories import PASSWORD, make_evidence, make_invitation
from tests.test_portal import csrf_token, sign_in

PERSON_PASSWORD = "a person's long password"


@pytest.fixture
def invited(app, tenants):
    """Acme's contractor Sam (an event and a pending step) and a link to their record."""
    ids = make_evidence(app, tenants[0])
    return ids["contractor_id"], make_invitation(app, tenants[0], ids["contractor_id"])


def create_account(client, token, password=PERSON_PASSWORD, again=None, **headers):
    page = client.get(f"/invite/{token}", headers=headers).get_data(as_text=True)
    return client.post(
        f"/invite/{token}",
        data={
            "csrf_token": csrf_token(page),
            "password": password,
            "confirmation": password if again is None else again,
        },
        headers=headers,
    )


def test_the_invitation_creates_the_account_and_shows_the_agencys_record(app, invited):
    contractor_id, token = invited
    client = app.test_client()
    page = client.get(f"/invite/{token}").get_data(as_text=True)
    assert "Your record at Acme" in page and "sam@example.com" in page
    assert "Create your account" in page

    refused = create_account(client, token, again="another long password")
    assert refused.status_code == 422
    assert "The two passwords differ." in refused.get_data(as_text=True)

    created = create_account(client, token)
    assert created.status_code == 302
    assert created.headers["Location"] == f"/me/records/{contractor_id}"
    record = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "record is now linked to your account." in record
    assert "Ghosting" in record and "Acknowledgement" in record
    assert "Recorded by recruiter@acme.test" not in record  # make_evidence records as the system
    assert 'id="trajectory-chart"' in record and "Why" in record
    home = client.get("/me").get_data(as_text=True)
    assert f"/me/records/{contractor_id}" in home and "Sam Contractor" in home

    # The link worked once; it now says so, and what to do.
    used = client.get(f"/invite/{token}")
    assert used.status_code == 410
    assert "This link no longer works" in used.get_data(as_text=True)
    assert app.test_client().get("/invite/nothing-of-the-sort").status_code == 404


def test_a_person_signs_in_and_out_and_sees_only_their_own_records(app, tenants, invited):
    contractor_id, token = invited
    assert create_account(app.test_client(), token).status_code == 302
    theirs = make_evidence(app, tenants[1])["contractor_id"]

    client = app.test_client()
    assert client.get("/me").headers["Location"].startswith("/me/sign-in")
    page = client.get("/me/sign-in").get_data(as_text=True)
    wrong = client.post(
        "/me/sign-in",
        data={"csrf_token": csrf_token(page), "email": "sam@example.com", "password": "nope"},
    )
    assert wrong.status_code == 401
    assert "The email or password is not right." in wrong.get_data(as_text=True)
    signed_in = client.post(
        "/me/sign-in?next=/me",
        data={
            "csrf_token": csrf_token(page),
            "email": "sam@example.com",
            "password": PERSON_PASSWORD,
        },
    )
    assert (signed_in.status_code, signed_in.headers["Location"]) == (302, "/me")
    assert client.get(f"/me/records/{contractor_id}").status_code == 200
    # Globex's contractor exists, but is not theirs: the 404 page, as if it did not.
    missing = client.get(f"/me/records/{theirs}")
    assert (missing.status_code, missing.mimetype) == (404, "text/html")
    # The agency's pages are not a contractor's.
    assert client.get("/contractors").status_code == 403
    assert client.get(f"/contractors/{contractor_id}").status_code == 403

    home = client.get("/me").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', home).group(1)
    out = client.post("/me/sign-out", data={"csrf_token": token})
    assert out.status_code == 302
    assert client.get("/me").status_code == 302


def test_staff_never_reach_a_contractors_pages(app, tenants, invited):
    contractor_id, token = invited
    staff = app.test_client()
    assert sign_in(staff).status_code == 302
    assert staff.get("/me").status_code == 403
    assert staff.get(f"/me/records/{contractor_id}").status_code == 403
    assert staff.get(f"/invite/{token}").status_code == 403
    # Nor did they use the link: the contractor still can.
    assert create_account(app.test_client(), token).status_code == 302
    assert login(app, "acme", "owner@acme.test", PASSWORD).get("me/records").status_code == 403


def test_the_invitation_in_french(app, invited):
    _, token = invited
    client = app.test_client()
    french = {"Accept-Language": "fr-FR,fr;q=0.9"}
    page = client.get(f"/invite/{token}", headers=french).get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Votre dossier chez Acme" in page and "Créez votre compte" in page
    refused = create_account(client, token, again="autre chose encore", **french)
    assert "Les deux mots de passe diffèrent." in refused.get_data(as_text=True)


def test_a_recruiter_invites_the_contractor_from_their_page(app, tenants, redis_url, mailbox):
    contractor_id = make_evidence(app, tenants[0])["contractor_id"]
    staff = app.test_client()
    assert sign_in(staff).status_code == 302
    page = staff.get(f"/contractors/{contractor_id}").get_data(as_text=True)
    assert "Invite them to see their record" in page
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    sent = staff.post(f"/contractors/{contractor_id}/invitations", data={"csrf_token": token})
    assert sent.status_code == 302
    shown = staff.get(sent.headers["Location"]).get_data(as_text=True)
    assert "An invitation to see their record was emailed to sam@example.com." in shown
    run_jobs(app, redis_url)
    (message,) = mailbox.wait_for(to="sam@example.com")
    link = re.search(r"/invite/([A-Za-z0-9_-]+)", message.get_content()).group(1)
    assert create_account(app.test_client(), link).status_code == 302
