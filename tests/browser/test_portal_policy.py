"""The policy pages as a person uses them, in Chromium: an admin changes a number, simulates it,
sees who would change band or eligibility once the worker has run, saves it and finds the new
version, in English and in French; a viewer reads the policy and finds no control to change it;
the pages read at 360 pixels and have no serious accessibility violation.

Every test here also fails if a page requested another origin or logged a console error
(tests/browser/conftest.py).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from reputation import clock
from tests.browser.conftest import expect, save_screenshot
from tests.browser.test_portal import serious_violations
from tests.conftest import login
from tests.factories import PASSWORD

# A browser flow runs once, against the production database: the PostgreSQL pass (tests/browser/
# test_portal.py keeps the embedded SQLite default covered in the browser).
pytestmark = pytest.mark.postgresql_only

ENGLISH = {
    "locale": "en-GB",
    "sign_in": ("Agency", "Email", "Password"),
    "heading": "Scoring policy",
    "threshold": "Eligibility threshold",
    "in_force": "0.45",
    "typed": "0.3",
    "simulate": "Simulate the change",
    "movers": "Who would move",
    "moved": r"no\s*→\s*would become\s*yes",
    "save": "Save these numbers as version 1",
    "saved": "Version 1 is in force",
    "versions": "Every version",
    "change": r"Eligibility threshold: 0\.45\s*→\s*became\s*0\.3",
}
FRENCH = {
    "locale": "fr-FR",
    "sign_in": ("Agence", "Adresse e-mail", "Mot de passe"),
    "heading": "Politique d'évaluation",
    "threshold": "Seuil d'éligibilité",
    "in_force": "0,45",
    "typed": "0,3",
    "simulate": "Simuler la modification",
    "movers": "Qui changerait",
    "moved": r"non\s*→\s*deviendrait\s*oui",
    "save": "Enregistrer ces valeurs comme version 1",
    "saved": "La version 1 est en vigueur",
    "versions": "Toutes les versions",
    "change": r"Seuil d'éligibilité : 0,45\s*→\s*devenu\s*0,3",
}


def rude_robin(app) -> str:
    """Robin, rude to a client 40 days ago: trust about 0.34, eligible only from a threshold of
    0.3; and Sam, with no evidence, whom no threshold moves."""
    api = login(app, "acme", "recruiter@acme.test", PASSWORD)
    robin = api.post("contractors", {"name": "Robin Example"}).json
    api.post("contractors", {"name": "Sam Nobody"})
    api.post(
        f"contractors/{robin['id']}/events",
        {"kind": "rudeness", "summary": "Shouted at the client",
         "occurred_at": (clock.now() - timedelta(days=40)).isoformat()},
    )  # fmt: skip
    return str(robin["id"])


def sign_in(page, email, labels) -> None:
    agency, email_label, password = labels
    page.get_by_label(agency).fill("acme")
    page.get_by_label(email_label).fill(email)
    page.get_by_label(password).fill(PASSWORD)
    page.get_by_label(password).press("Enter")


@pytest.mark.parametrize("words", [ENGLISH, FRENCH], ids=["en", "fr"])
def test_an_admin_simulates_a_change_sees_who_moves_and_saves_it(
    new_context, app, tenants, tmp_path, words
):
    robin = rude_robin(app)
    page = new_context(locale=words["locale"]).new_page()
    page.goto("/policy")
    sign_in(page, "admin@acme.test", words["sign_in"])
    expect(page.get_by_role("heading", name=words["heading"], level=1)).to_be_visible()
    threshold = page.get_by_label(words["threshold"], exact=True)
    expect(threshold).to_have_value(words["in_force"])
    threshold.fill(words["typed"])
    save_screenshot(page, tmp_path / f"policy-{words['locale']}.png", full_page=True)
    page.get_by_role("button", name=words["simulate"]).click()

    # The worker runs the simulation; the page shows its result when it is done (htmx).
    expect(page.get_by_role("heading", name=words["movers"])).to_be_visible()
    mover = page.get_by_role("row").filter(has=page.get_by_role("link", name="Robin Example"))
    expect(mover).to_be_visible()
    expect(mover).to_contain_text(re.compile(words["moved"]))
    expect(page.get_by_role("link", name="Sam Nobody")).to_have_count(0)
    expect(mover.get_by_role("link")).to_have_attribute("href", f"/contractors/{robin}")
    save_screenshot(page, tmp_path / f"simulation-{words['locale']}.png", full_page=True)

    page.get_by_role("button", name=words["save"]).click()
    expect(page.get_by_role("status")).to_contain_text(words["saved"])
    expect(page.get_by_label(words["threshold"], exact=True)).to_have_value(words["typed"])
    page.get_by_role("link", name=words["versions"]).click()
    expect(page.get_by_role("row").nth(1)).to_contain_text(re.compile(words["change"]))
    expect(page.get_by_role("row").nth(1)).to_contain_text("admin@acme.test")
    save_screenshot(page, tmp_path / f"versions-{words['locale']}.png", full_page=True)


def test_a_number_out_of_range_is_said_beside_its_field(page, page_watch, tenants):
    page_watch.allow_console_error(r"status of 422")  # the answer to the refused form
    page.goto("/policy")
    sign_in(page, "owner@acme.test", ENGLISH["sign_in"])
    page.get_by_label("Rudeness: Half-life (days)").fill("0")
    page.get_by_role("button", name="Simulate the change").click()
    field = page.get_by_label("Rudeness: Half-life (days)")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile("Enter a number above 0"))
    expect(field).to_have_value("0")


def test_a_viewer_reads_the_policy_and_finds_nothing_to_change(page, app, tenants, tmp_path):
    login(app, "acme", "owner@acme.test", PASSWORD).put("policy", {"eligibility_threshold": 0.5})
    page.goto("/policy")
    sign_in(page, "viewer@acme.test", ENGLISH["sign_in"])
    expect(page.get_by_role("heading", name="Scoring policy", level=1)).to_be_visible()
    expect(page.get_by_text("Version 1, since")).to_contain_text("set by owner@acme.test")
    only_managers = "Only the agency's owners and admins change the policy."
    expect(page.get_by_text(only_managers)).to_be_visible()
    threshold = page.get_by_role("row", name=re.compile("^Eligibility threshold"))
    expect(threshold).to_contain_text(re.compile(r"0\.5\s*default 0\.45"))
    expect(page.get_by_role("textbox")).to_have_count(0)
    expect(page.get_by_role("button", name="Simulate the change")).to_have_count(0)
    save_screenshot(page, tmp_path / "policy-viewer.png")


def start_a_simulation(app, tenants) -> str:
    """A simulation of the agency's, run by the workers; its page's address."""
    rude_robin(app)
    api = login(app, "acme", "admin@acme.test", PASSWORD)
    api.put("policy", {"severity_factor": {"5": 10}})  # a version to list
    return api.post("policy/simulate", {"eligibility_threshold": 0.3}).json["id"]


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_the_policy_pages_read_at_360_pixels(new_context, app, tenants, tmp_path, locale):
    simulation = start_a_simulation(app, tenants)
    page = new_context(viewport={"width": 360, "height": 740}, locale=locale).new_page()
    page.goto("/")
    page.locator("#agency").fill("acme")
    page.locator("#email").fill("admin@acme.test")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_url("**/contractors")
    for name, path in (
        ("policy", "/policy"),
        ("simulation", f"/policy/simulations/{simulation}"),
        ("versions", "/policy/versions"),
    ):
        page.goto(path)
        page.wait_for_load_state()
        if name == "simulation":
            expect(page.get_by_role("link", name="Robin Example")).to_be_visible()
        save_screenshot(page, tmp_path / f"{name}-360-{locale}.png", full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360 + 1, f"{path} scrolls sideways: {width} px wide"


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_the_policy_pages_have_no_serious_accessibility_violation(
    new_context, app, tenants, locale
):
    simulation = start_a_simulation(app, tenants)
    # axe is the tests' own script, not the service's: this context lets it past the policy.
    page = new_context(locale=locale, bypass_csp=True).new_page()
    page.goto("/")
    page.locator("#agency").fill("acme")
    page.locator("#email").fill("admin@acme.test")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_url("**/contractors")
    for path in ("/policy", f"/policy/simulations/{simulation}", "/policy/versions"):
        page.goto(path)
        page.wait_for_load_state()
        if "simulations" in path:
            expect(page.get_by_role("link", name="Robin Example")).to_be_visible()
        assert serious_violations(page) == [], (locale, path)
