"""The contractor's side, in Chromium: a recruiter invites a contractor from their page, the
email arrives (a real SMTP server), the contractor follows its link, creates an account and reads
their record as the agency sees it. In French too, and checked by axe-core.

Every test here also fails if a page requested another origin or logged a console error
(tests/browser/conftest.py).
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import expect, save_screenshot
from tests.browser.test_portal import serious_violations, sign_in
from tests.factories import make_evidence, make_invitation

pytestmark = pytest.mark.postgresql_only

PERSON_PASSWORD = "a contractor's long password"


def invitation_link(mailbox, email: str) -> str:
    """The path of the link in the latest invitation emailed to `email`."""
    text = mailbox.wait_for(to=email, timeout=30)[-1].get_content()
    found = re.search(r"https?://[^/\s]+(/invite/[A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


def create_account(page, link: str, labels=("Choose a password", "The same password again")):
    page.goto(link)
    page.get_by_label(labels[0]).fill(PERSON_PASSWORD)
    page.get_by_label(labels[1]).fill(PERSON_PASSWORD)
    page.get_by_label(labels[1]).press("Enter")


def test_an_invited_contractor_reads_their_record(
    page, new_context, page_watch, app, tenants, live_service, mailbox, tmp_path
):
    ids = make_evidence(app, tenants[0])
    page.goto(f"/contractors/{ids['contractor_id']}")
    sign_in(page)
    page.get_by_role("button", name="Invite them to see their record").click()
    expect(page.get_by_text("An invitation to see their record was emailed to")).to_be_visible()
    link = invitation_link(mailbox, "sam@example.com")

    contractor = new_context().new_page()
    create_account(contractor, link)
    expect(contractor.get_by_role("heading", name="Your record at Acme", level=1)).to_be_visible()
    expect(contractor.get_by_text("record is now linked to your account")).to_be_visible()
    expect(contractor.locator(".timeline")).to_contain_text("Stopped answering")
    expect(contractor.locator("#trajectory-chart canvas").first).to_be_visible()
    expect(contractor.get_by_role("heading", name="Why")).to_be_visible()
    save_screenshot(contractor, tmp_path / "record.png", full_page=True)

    contractor.get_by_role("link", name="My records").click()
    expect(contractor.get_by_role("link", name="Acme")).to_be_visible()
    contractor.get_by_role("button", name="Sign out").click()
    expect(contractor.get_by_role("heading", name="Sign in to your records")).to_be_visible()
    # The link worked once; the page that says so is a 410, which the browser reports.
    page_watch.allow_console_error(r"status of 410")
    contractor.goto(link)
    expect(contractor.get_by_role("heading", name="This link no longer works")).to_be_visible()


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_the_contractors_pages_have_no_serious_accessibility_violation(
    new_context, app, tenants, live_service, locale
):
    ids = make_evidence(app, tenants[0])
    link = f"/invite/{make_invitation(app, tenants[0], ids['contractor_id'])}"
    page = new_context(locale=locale, bypass_csp=True).new_page()
    page.goto(link)
    assert serious_violations(page) == [], page.url
    french = locale.startswith("fr")
    labels = ("Choisissez un mot de passe", "Le même mot de passe, à nouveau")
    create_account(
        page, link, labels if french else ("Choose a password", "The same password again")
    )
    heading = "Votre dossier chez Acme" if french else "Your record at Acme"
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
    assert serious_violations(page) == [], page.url
    page.goto("/me")
    assert serious_violations(page) == [], page.url


def test_a_contractor_answers_the_record_and_the_agency_weighs_the_answer(
    page, new_context, app, tenants, live_service, mailbox, tmp_path
):
    """The contractor adds a statement, disputes an event and asks a referee; the referee answers
    from the emailed link; the recruiter sees the statement, the dispute and the reference with
    its warning signs, verifies the reference and overturns the event; the contractor is emailed
    and sees the outcome and the new assessment."""
    ids = make_evidence(app, tenants[0])
    contractor = new_context().new_page()
    create_account(contractor, f"/invite/{make_invitation(app, tenants[0], ids['contractor_id'])}")
    expect(contractor.get_by_role("heading", name="Your record at Acme", level=1)).to_be_visible()
    incident = contractor.locator(f"#event-{ids['event_id']}")

    incident.get_by_text("Give your account of this event").click()
    incident.get_by_label("Your statement").fill("I was in hospital that week; I wrote later.")
    incident.get_by_role("button", name="Add the statement").click()
    expect(contractor.get_by_text("Your statement is added; the agency sees it.")).to_be_visible()
    expect(incident).to_contain_text("I was in hospital that week")

    incident.get_by_text("Dispute this event").click()
    incident.get_by_label("Why the event is wrong").fill("I told the recruiter by phone first.")
    incident.get_by_role("button", name="Open the dispute").click()
    expect(incident).to_contain_text("Unless the agency resolves the dispute by")

    contractor.get_by_text("Ask for a reference").click()
    contractor.get_by_label("The referee's name").fill("Rita Referee")
    contractor.get_by_label("The referee's email address").fill("rita.referee@gmail.com")
    contractor.get_by_role("textbox", name="Relationship").fill("Team lead at the client")
    contractor.get_by_role("button", name="Send the request").click()
    expect(contractor.get_by_text("We emailed Rita Referee a link")).to_be_visible()

    # The referee, with no account, from the emailed link.
    text = mailbox.wait_for(to="rita.referee@gmail.com", timeout=30)[-1].get_content()
    referee = new_context().new_page()
    referee.goto(re.search(r"https?://[^/\s]+(/r/[A-Za-z0-9_-]+)", text).group(1))
    expect(referee.get_by_role("heading", name="A reference for Sam Contractor")).to_be_visible()
    referee.get_by_label("How you know them").fill("I led the team he worked in")
    referee.get_by_label("Since").fill("2024-01-15")
    referee.get_by_role("radio", name="Yes").check()
    referee.get_by_label("Anything else the agency should know").fill("Reliable since then.")
    referee.get_by_role("button", name="Send my reference").click()
    expect(referee.get_by_role("heading", name="Thank you")).to_be_visible()

    # The recruiter weighs it all.
    page.goto(f"/contractors/{ids['contractor_id']}")
    sign_in(page)
    event = page.locator(f"#event-{ids['event_id']}")
    expect(event).to_contain_text("I was in hospital that week")
    expect(event).to_contain_text("Unless the agency resolves the dispute by")
    reference = page.locator("li.step").filter(has_text="Rita Referee")
    expect(reference).to_contain_text("free-mail address (gmail.com)")
    reference.get_by_text("Verify or reject").click()
    reference.get_by_role("button", name="Verify the step").click()
    expect(page.get_by_text("The step is verified.")).to_be_visible()
    save_screenshot(page, tmp_path / "agency-side.png", full_page=True)

    event.get_by_role("link", name="See the dispute").click()
    page.get_by_role("radio", name=re.compile("^Overturned")).check()
    page.get_by_label("Reason").fill("The phone call is in our log after all.")
    page.get_by_role("button", name="Resolve the dispute").click()
    expect(page.get_by_text("Overturned").first).to_be_visible()

    outcome = mailbox.wait_for(to="sam@example.com", timeout=30)[-1]
    assert "The phone call is in our log after all." in outcome.get_content()
    contractor.reload()
    expect(incident).to_contain_text("The phone call is in our log after all.")
    expect(contractor.locator("#assessment-live[hx-trigger]")).to_have_count(0, timeout=20_000)
    explanation = contractor.locator("section[aria-labelledby=explanation-heading]")
    expect(explanation).not_to_contain_text("Ghosting")
    save_screenshot(contractor, tmp_path / "contractor-side.png", full_page=True)
