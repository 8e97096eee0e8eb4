"""References and a contractor's own evidence on the pages (issue 11 §2): the contractor brings
evidence and asks a referee from their record's page, the referee answers on the page their link
opens, and the recruiter reads the warning signs beside the pending reference before verifying
it. Refused forms say why beside their fields and write nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from reputation import clock
from reputation.references.models import ReferenceRequest
from reputation.rehabilitation.models import RehabilitationStep
from tests.conftest import count_rows, login
from tests.factories import PASSWORD, make_evidence
from tests.test_portal import csrf_token, sign_in
from tests.test_portal_evidence import text_of
from tests.test_references import (
    ANN,
    ANSWERS,
    PERSON_ADDRESS,
    REFEREE_ADDRESS,
    incident_of,
    link_for,
    open_form,
    signed_up,
)


@pytest.fixture
def recruiter(app, tenants):
    return login(app, "acme", "recruiter@acme.test", PASSWORD)


def staff_browser(app, email="recruiter@acme.test"):
    browser = app.test_client()
    assert sign_in(browser, email=email).status_code == 302
    return browser


def page_token(html):
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def post_record_form(browser, record_id, action, prefix, fields):
    """Send one of the forms of the person's record page, as their browser does."""
    html = browser.get(f"/me/records/{record_id}").get_data(as_text=True)
    data = {f"{prefix}-{name}": value for name, value in fields.items()}
    data[f"{prefix}-csrf_token"] = csrf_token(html, f"{prefix}-csrf_token")
    return browser.post(f"/me/records/{record_id}/{action}", data=data)


def test_a_contractor_brings_evidence_from_their_record_page(app, redis_url, mailbox, recruiter):
    record_id, person = signed_up(app, redis_url, mailbox, recruiter)
    browser = person.client
    page = browser.get(f"/me/records/{record_id}").get_data(as_text=True)
    assert "Bring evidence" in page and "Ask for a reference" in page
    # A reference is a referee's to give, not a kind of evidence the person records.
    assert re.search(r'name="evidence-kind"[^>]*value="training"', page)
    assert not re.search(r'name="evidence-kind"[^>]*value="reference"', page)

    evidence = {
        "kind": "remediation",
        "addresses_event_id": incident_of(recruiter, record_id),
        "occurred_at": "2026-03-01T09:00",
        "description": "Finished the migration I had left, unbilled.",
        "evidence_urls": "not a link",
        "source": "contractor",
    }
    refused = post_record_form(browser, record_id, "evidence", "evidence", evidence)
    assert refused.status_code == 422
    shown = refused.get_data(as_text=True)
    assert "Not an http:// or https:// address of printable ASCII: not a link" in shown
    assert "Finished the migration I had left, unbilled." in shown  # what was typed is kept
    assert count_rows(app, RehabilitationStep) == 0

    forged = {**evidence, "evidence_urls": "", "source": "agency"}
    assert post_record_form(browser, record_id, "evidence", "evidence", forged).status_code == 422

    links = "https://git.client.example/merge/42"
    sent = post_record_form(
        browser, record_id, "evidence", "evidence", {**evidence, "evidence_urls": links}
    )
    assert (sent.status_code, sent.headers["Location"]) == (302, f"/me/records/{record_id}")
    record = text_of(browser.get(sent.headers["Location"]).get_data(as_text=True))
    assert (
        "Your evidence is recorded. Acme sees it now, pending until its staff verify it." in record
    )
    assert "Remediation — Finished the migration I had left, unbilled. pending" in record
    (step,) = recruiter.get(f"contractors/{record_id}/rehabilitation").json["items"]
    assert (step["source"], step["status"], step["recorded_by"]) == (
        "contractor",
        "pending",
        "sam@example.com",
    )
    assert step["evidence_urls"] == [links]


def test_a_contractor_asks_a_referee_who_answers_once_on_the_page(
    app, redis_url, mailbox, recruiter
):
    record_id, person = signed_up(app, redis_url, mailbox, recruiter)
    browser = person.client
    asking = {**ANN, "addresses_event_id": incident_of(recruiter, record_id)}
    wrong = post_record_form(
        browser, record_id, "reference-requests", "reference", {**asking, "referee_email": "ann"}
    )
    assert wrong.status_code == 422
    assert "Not a valid email address." in wrong.get_data(as_text=True)
    assert count_rows(app, ReferenceRequest) == 0

    sent = post_record_form(browser, record_id, "reference-requests", "reference", asking)
    assert sent.status_code == 302
    shown = text_of(browser.get(sent.headers["Location"]).get_data(as_text=True))
    assert "We emailed Ann Client a link to give their reference." in shown
    twice = post_record_form(browser, record_id, "reference-requests", "reference", asking)
    assert twice.status_code == 409
    assert "A request to this referee is waiting for their answer already." in twice.get_data(
        as_text=True
    )

    _, token = link_for(app, redis_url, mailbox, "ann@client-corp.example")
    referee, form = open_form(app, token)
    page = text_of(referee.get(f"/r/{token}").get_data(as_text=True))
    assert "A reference for Sam Roe" in page
    assert "Sam Roe asks you for a reference for Acme, a recruitment agency" in page
    assert "You were described as: Project manager at the client." in page
    assert "what did Sam Roe do to make amends after the incident of January 5, 2026?" in page
    assert "Sam Roe can read it too." in page

    with clock.frozen(clock.now() + timedelta(minutes=5)):
        incomplete = {**form, "known_until": "2023-01-01"}
        del incomplete["would_work_again"]
        refused = referee.post(f"/r/{token}", data=incomplete)
        assert refused.status_code == 422
        assert "This is before the start." in refused.get_data(as_text=True)
        assert count_rows(app, RehabilitationStep) == 0

        answered = referee.post(f"/r/{token}", data=form)
        assert (answered.status_code, answered.headers["Location"]) == (302, "/r/thanks")
        thanks = referee.get("/r/thanks").get_data(as_text=True)
        assert "Thank you: your reference is recorded, and Acme has it." in thanks

        again = referee.post(f"/r/{token}", data=form)
        assert again.status_code == 409
        assert "This reference was sent already: it is recorded once." in again.get_data(
            as_text=True
        )
        used = referee.get(f"/r/{token}")
        assert used.status_code == 410
        assert "This link has been used already" in used.get_data(as_text=True)
        assert count_rows(app, RehabilitationStep) == 1

        # The person reads the reference in their record; the warning signs are the agency's.
        record = text_of(browser.get(f"/me/records/{record_id}").get_data(as_text=True))
    assert "Reference — Reference from Ann Client (ann@client-corp.example)" in record
    assert ANSWERS["repair"] in record
    assert "warning sign" not in record.lower()


def test_the_recruiter_reads_the_warning_signs_before_verifying(app, redis_url, mailbox, recruiter):
    record_id, person = signed_up(app, redis_url, mailbox, recruiter)
    sent = clock.now()
    tokens = {}
    with clock.frozen(sent):
        for email in ("pal@gmail.com", "cy@client-corp.example"):
            body = {**ANN, "referee_email": email}
            assert (
                person.post(f"me/records/{record_id}/reference-requests", body).status_code == 201
            )
            tokens[email] = link_for(app, redis_url, mailbox, email)[1]
    with clock.frozen(sent + timedelta(seconds=10)):
        referee, form = open_form(app, tokens["pal@gmail.com"], address=PERSON_ADDRESS)
        assert referee.post(f"/r/{tokens['pal@gmail.com']}", data=form).status_code == 302
    with clock.frozen(sent + timedelta(minutes=2)):
        referee, form = open_form(app, tokens["cy@client-corp.example"], address=REFEREE_ADDRESS)
        assert referee.post(f"/r/{tokens['cy@client-corp.example']}", data=form).status_code == 302

        browser = staff_browser(app)
        html = browser.get(f"/contractors/{record_id}").get_data(as_text=True)
        page = text_of(html)
        warnings = page.index("Warning signs that the contractor may have written this reference")
        for sentence in (
            "The referee writes from a free-mail address (gmail.com), which anyone can open in "
            "any name.",
            "The answer was sent from an address the contractor signed in from (127.0.0.1).",
            "The answer came 10 seconds after the request was sent.",
        ):
            assert page.index(sentence) > warnings
        # Said before the verdict's form, which follows them.
        assert re.search(r'class="warnings".*?</div>\s*<details class="actions"', html, re.S)
        assert page.count("Verify the step") == 2
        assert "No warning sign: the referee's address is neither the contractor's" in page

        (flagged,) = [
            r
            for r in recruiter.get(f"contractors/{record_id}/reference-requests").json["items"]
            if r["referee_email"] == "pal@gmail.com"
        ]
        step_id = flagged["step_id"]
        verified = browser.post(
            f"/steps/{step_id}/verify",
            data={
                f"verify-{step_id}-csrf_token": csrf_token(html, f"verify-{step_id}-csrf_token"),
                f"verify-{step_id}-decision": "rejected",
                f"verify-{step_id}-note": "Written from the contractor's own connection.",
            },
        )
        assert verified.status_code == 302
        after = text_of(browser.get(verified.headers["Location"]).get_data(as_text=True))
    assert "The step is rejected." in after
    assert page.count("Verify the step") == 2 and after.count("Verify the step") == 1


def test_a_recruiter_asks_for_a_reference_from_the_contractor_page(
    app, tenants, redis_url, mailbox
):
    contractor_id = make_evidence(app, tenants[0])["contractor_id"]
    browser = staff_browser(app)
    page = browser.get(f"/contractors/{contractor_id}").get_data(as_text=True)
    assert f'href="/contractors/{contractor_id}/reference-requests"' in page
    assert "Ask a referee for a reference" in page

    path = f"/contractors/{contractor_id}/reference-requests"
    form_page = browser.get(path).get_data(as_text=True)
    assert "Ask for a reference" in form_page and "Ghosting" in form_page
    incident = re.search(r'<option value="([0-9a-f-]{36})">', form_page).group(1)
    fields = {**ANN, "addresses_event_id": incident, "csrf_token": csrf_token(form_page)}
    wrong = browser.post(path, data={**fields, "referee_email": "ann@"})
    assert wrong.status_code == 422
    assert "Not a valid email address." in wrong.get_data(as_text=True)

    sent = browser.post(path, data=fields)
    assert (sent.status_code, sent.headers["Location"]) == (302, f"/contractors/{contractor_id}")
    shown = text_of(browser.get(sent.headers["Location"]).get_data(as_text=True))
    assert "A request for a reference was emailed to ann@client-corp.example." in shown
    twice = browser.post(path, data=fields)
    assert twice.status_code == 409
    assert "waiting for their answer already" in twice.get_data(as_text=True)
    assert count_rows(app, ReferenceRequest) == 1
    message, _ = link_for(app, redis_url, mailbox, "ann@client-corp.example")
    assert message["Subject"] == "Acme asks you for a reference about Sam Contractor"

    viewer = staff_browser(app, "viewer@acme.test")
    assert "Ask a referee for a reference" not in viewer.get(
        f"/contractors/{contractor_id}"
    ).get_data(as_text=True)
    assert viewer.get(path).status_code == 403


def test_staff_never_use_a_referees_link_nor_a_contractors_forms(
    app, redis_url, mailbox, recruiter
):
    record_id, person = signed_up(app, redis_url, mailbox, recruiter)
    person.post(f"me/records/{record_id}/reference-requests", ANN)
    _, token = link_for(app, redis_url, mailbox, "ann@client-corp.example")
    staff = staff_browser(app)
    assert staff.get(f"/r/{token}").status_code == 403
    token_of_page = page_token(staff.get("/contractors").get_data(as_text=True))
    for action in ("evidence", "reference-requests"):
        refused = staff.post(
            f"/me/records/{record_id}/{action}", data={"csrf_token": token_of_page}
        )
        assert refused.status_code == 403
    open_form(app, token)  # the referee still can (a 200)
