"""The portal as a person uses it, in Chromium: signing in, finding a contractor, reading their
assessment and trajectory, in English and in French, with the keyboard where it matters.

Every test here also fails if a page requested another origin or logged a console error
(tests/browser/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import expect, save_screenshot
from tests.factories import PASSWORD, make_evidence


def sign_in(page, email="recruiter@acme.test", labels=("Agency", "Email", "Password")) -> None:
    agency, email_label, password = labels
    page.get_by_label(agency).fill("acme")
    page.get_by_label(email_label).fill(email)
    page.get_by_label(password).fill(PASSWORD)
    page.get_by_label(password).press("Enter")


def test_a_recruiter_signs_in_finds_a_contractor_and_reads_the_trajectory(
    page, app, tenants, tmp_path
):
    ids = make_evidence(app, tenants[0])
    page.goto(f"/contractors/{ids['contractor_id']}")
    # Signed out, the page sends the recruiter to sign in, and back to it after.
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in(page)
    expect(page.get_by_role("heading", name="Sam Contractor", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Trajectory")).to_be_visible()
    expect(page.locator("#trajectory-chart canvas").first).to_be_visible()
    expect(page.get_by_text("Ghosting").first).to_be_visible()
    save_screenshot(page, tmp_path / "contractor.png", full_page=True)

    page.get_by_role("link", name="Contractors").click()
    page.wait_for_load_state()  # htmx is running
    search = page.get_by_label("Search", exact=True)
    search.fill("nobody by that name")  # the results follow the typing (htmx)...
    expect(page.get_by_text("0 contractors")).to_be_visible()
    search.fill("sam")
    search.press("Enter")  # ...and Enter searches at once
    expect(page.get_by_role("link", name="Sam Contractor")).to_be_visible()
    save_screenshot(page, tmp_path / "contractors.png")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_wrong_password_is_said_beside_the_field(page, page_watch, tenants):
    page_watch.allow_console_error(r"status of 401")  # the answer to a refused sign-in
    page.goto("/")
    page.get_by_label("Agency").fill("acme")
    page.get_by_label("Email").fill("recruiter@acme.test")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("The agency, email or password is not right.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("recruiter@acme.test")


def test_a_french_speaking_recruiter_reads_the_portal_in_french(
    new_context, app, tenants, tmp_path
):
    make_evidence(app, tenants[0])
    page = new_context(locale="fr-FR").new_page()
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    sign_in(page, labels=("Agence", "Adresse e-mail", "Mot de passe"))
    expect(page.get_by_role("heading", name="Intervenants")).to_be_visible()
    page.get_by_role("link", name="Sam Contractor").click()
    expect(page.get_by_role("heading", name="Trajectoire")).to_be_visible()
    expect(page.get_by_text("Disparition").first).to_be_visible()
    save_screenshot(page, tmp_path / "contractor-fr.png", full_page=True)


def test_another_agencys_contractor_is_the_404_page(page, page_watch, app, tenants):
    page_watch.allow_console_error(r"status of 404")
    theirs = make_evidence(app, tenants[1])
    page.goto("/")
    sign_in(page)
    page.goto(f"/contractors/{theirs['contractor_id']}")
    expect(page.get_by_role("heading", name="Nothing here")).to_be_visible()


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_the_main_pages_read_at_360_pixels(new_context, app, tenants, tmp_path, locale):
    ids = make_evidence(app, tenants[0])
    page = new_context(viewport={"width": 360, "height": 740}, locale=locale).new_page()
    page.goto("/")
    page.locator("#agency").fill("acme")
    page.locator("#email").fill("recruiter@acme.test")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    expect(page.get_by_role("link", name="Sam Contractor")).to_be_visible()
    for name, path in (
        ("contractors", "/contractors"),
        ("contractor", f"/contractors/{ids['contractor_id']}"),
    ):
        page.goto(path)
        page.wait_for_load_state()
        save_screenshot(page, tmp_path / f"{name}-360-{locale}.png", full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360 + 1, f"{path} scrolls sideways: {width} px wide"


AXE = Path(__file__).parent.parent / "vendor" / "axe-core" / "axe.min.js"


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """axe.run().then(result => result.violations
            .filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => `${v.id}: ${v.nodes.map(n => n.target.join(" ")).join(", ")}`))"""
    )


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_the_main_pages_have_no_serious_accessibility_violation(new_context, app, tenants, locale):
    ids = make_evidence(app, tenants[0])
    # axe is the tests' own script, not the service's: this context lets it past the policy.
    page = new_context(locale=locale, bypass_csp=True).new_page()
    page.goto("/")
    assert serious_violations(page) == []
    page.locator("#agency").fill("acme")
    page.locator("#email").fill("recruiter@acme.test")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    for path in ("/contractors", f"/contractors/{ids['contractor_id']}", "/account"):
        page.goto(path)
        page.wait_for_load_state()
        assert serious_violations(page) == [], (locale, path)
