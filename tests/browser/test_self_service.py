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
