"""A recruiter's day on a contractor's page, in Chromium: adding a contractor, recording a severe
incident and an acknowledgement of it, verifying it, and watching the band, the eligibility and
the chart follow once the worker has run, with no reload; then a decision. In French too, and a
viewer who finds no control to write with. Screenshots of the page at desktop and phone width.

Every test here also fails if a page requested another origin or logged a console error
(tests/browser/conftest.py).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from reputation import clock
from reputation.conduct.service import record_event
from reputation.contractors.service import create_contractor
from reputation.extensions import db
from reputation.rehabilitation.service import record_step
from reputation.tenancy.scope import agency_scope
from tests.browser.conftest import expect, save_screenshot
from tests.browser.test_portal import serious_violations, sign_in
from tests.factories import PASSWORD, make_evidence

# A browser flow runs once, against the production database: the PostgreSQL pass (tests/browser/
# test_portal.py keeps the embedded SQLite default covered in the browser).
pytestmark = pytest.mark.postgresql_only

TYPED = "%Y-%m-%dT%H:%M"  # as a datetime-local input takes it


@contextlib.contextmanager
def recompute_held(live_service, agency_id, contractor_id: str) -> Iterator[None]:
    """Hold off the worker's recompute of one contractor until the block ends, so that the
    page is sure to open while its assessment is pending: on PostgreSQL, by holding the lock
    that a recompute takes first (scoring.service._one_recompute_at_a_time). SQLite has no such
    lock; there the page opens pending because it is faster than the relay and the worker."""
    url = live_service.app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        yield
        return
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as holder:
        key = f"recompute:{agency_id}:{contractor_id}"
        holder.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [key])
        try:
            yield
        finally:
            holder.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])


def open_signed_in(page, path: str) -> None:
    """Open a page of the portal as the recruiter, in whatever language the page speaks."""
    page.goto(path)
    page.locator("#agency").fill("acme")
    page.locator("#email").fill("recruiter@acme.test")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")


def disclosure(page, summary: str):
    """A <details> of the page by its summary's words, opened."""
    details = page.locator("details").filter(
        has=page.locator("summary", has_text=re.compile(f"^{re.escape(summary)}$"))
    )
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    return details


def settled(page) -> None:
    """Wait until the assessment on the page is the worker's latest (it stops polling)."""
    expect(page.locator("#assessment-live[hx-trigger]")).to_have_count(0, timeout=20_000)


def test_a_recruiter_repairs_a_severe_incident_and_watches_the_assessment_follow(
    page, app, tenants, live_service, tmp_path
):
    page.goto("/")
    sign_in(page)
    page.get_by_role("link", name="New contractor").click()
    page.get_by_label("Name").fill("Alex Doe")
    page.get_by_label("Email").fill("alex@example.com")
    page.get_by_label("Tags").fill("python, data")
    page.get_by_role("button", name="Add the contractor").click()
    expect(page.get_by_role("heading", name="Alex Doe", level=1)).to_be_visible()
    expect(page.get_by_text("The contractor Alex Doe is added.")).to_be_visible()
    contractor_id = page.url.rsplit("/", 1)[1]

    # A severe incident, 250 days ago: past its cooling-off period, not acknowledged.
    page.get_by_role("link", name="Record an event").click()
    page.get_by_role("radio", name=re.compile(r"^Costly mistake —")).check()
    page.get_by_label("Severity").select_option("4")
    page.get_by_label("When it happened").fill((clock.now() - timedelta(days=250)).strftime(TYPED))
    page.get_by_label("Summary").fill("Deleted the client's production data")
    page.get_by_role("button", name="Record the event").click()
    expect(page.get_by_text("The event is recorded.")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Deleted the client's production data")
    settled(page)
    band = page.locator("#assessment-live mark.band")
    expect(band).to_have_text("Do not engage")
    expect(page.get_by_text("has no verified acknowledgement")).to_be_visible()
    helps = page.locator("ul[aria-labelledby=next-steps-heading]")
    expect(helps).to_contain_text(
        re.compile(r"For the incident of \d+ \w+ \d{4} \(Costly mistake\):")
    )
    expect(helps).to_contain_text(
        re.compile(r"A verified acknowledgement would make them eligible [\d,]+ days sooner")
    )

    # The acknowledgement, addressing that incident, is recorded and then verified.
    page.get_by_role("link", name="Record a rehabilitation step").click()
    page.get_by_role("radio", name=re.compile(r"^Acknowledgement —")).check()
    page.get_by_label("The incident it addresses").select_option(index=1)
    page.get_by_label("Description").fill("Apologised to the client in writing")
    page.get_by_role("button", name="Record the step").click()
    expect(page.get_by_text("The step is recorded, pending verification.")).to_be_visible()
    settled(page)
    before = {
        "eligibility": page.locator("#assessment-live p strong").first.inner_text(),
        "chart": page.locator("#trajectory-chart").get_attribute("data-drawn"),
    }
    assert before["chart"], "the chart says which assessment it drew"

    with recompute_held(live_service, tenants[0].agency_id, contractor_id):
        disclosure(page, "Verify or reject").get_by_role("button", name="Verify the step").click()
        expect(page.get_by_text("The step is verified.")).to_be_visible()
        # The page opened before the worker had run: it says so, and it will not be reloaded.
        expect(page.get_by_text("New evidence: the assessment is being updated.")).to_be_visible()
        page.evaluate("window.stillTheSamePage = true")
        # The chart's element is kept across the swaps (hx-preserve), and drawn again.
        page.evaluate("document.getElementById('trajectory-chart').dataset.kept = 'yes'")
        page.wait_for_timeout(1500)  # a poll or two while the worker waits
        expect(page.locator("#trajectory-chart canvas").first).to_be_visible()
    settled(page)
    expect(page.locator("#trajectory-chart")).to_have_attribute("data-kept", "yes")
    expect(band).to_have_text("Caution")
    expect(page.get_by_text("has no verified acknowledgement")).to_have_count(0)
    eligibility = page.locator("#assessment-live p strong").first
    expect(eligibility).not_to_have_text(before["eligibility"])
    expect(eligibility).to_have_text(re.compile(r"^Eligible from "))
    expect(page.locator("#trajectory-chart")).not_to_have_attribute("data-drawn", before["chart"])
    expect(page.locator("#trajectory-chart canvas").first).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True
    save_screenshot(page, tmp_path / "contractor-after-repair.png", full_page=True)

    # A decision, with the assessment it is saved with shown beside it.
    form = disclosure(page, "Record a decision")
    expect(form.locator("#decision-basis")).to_contain_text("Caution")
    form.get_by_label("Decision").select_option("probation")
    form.get_by_label("Reason").fill("A small project first, as the acknowledgement is recent")
    form.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("The decision is recorded.")).to_be_visible()
    decisions = page.locator(".decisions")
    expect(decisions).to_contain_text("Engage on probation")
    expect(decisions).to_contain_text("The assessment then: Caution")


def a_contractor_to_repair(app, tenant) -> str:
    """A contractor with a severe incident 250 days ago, an outreach about it waiting to be
    verified, and a commendation since."""
    with app.app_context(), agency_scope(tenant.agency_id):
        contractor = create_contractor("Camille Martin", "camille@example.com", "ats-1042")
        incident = record_event(
            contractor,
            {"kind": "costly_mistake", "severity": 4,
             "occurred_at": clock.now() - timedelta(days=250),
             "summary": "Deleted the client's production data"},
        )  # fmt: skip
        record_step(
            contractor,
            {"kind": "outreach", "occurred_at": clock.now() - timedelta(days=20),
             "addresses_event_id": incident.id, "unsolicited": True,
             "description": "Called the client to offer a fix, with no job in view"},
        )  # fmt: skip
        record_event(
            contractor,
            {"kind": "client_commendation", "occurred_at": clock.now() - timedelta(days=5),
             "summary": "The client praised the migration plan"},
        )  # fmt: skip
        contractor_id = str(contractor.id)
        db.session.commit()
    return contractor_id


def test_a_french_speaking_recruiter_reads_what_stands_in_the_way(
    new_context, app, tenants, tmp_path
):
    contractor_id = a_contractor_to_repair(app, tenants[0])
    page = new_context(locale="fr-FR").new_page()
    page.goto(f"/contractors/{contractor_id}")
    sign_in(page, labels=("Agence", "Adresse e-mail", "Mot de passe"))
    expect(page.get_by_role("heading", name="Camille Martin", level=1)).to_be_visible()
    settled(page)
    expect(page.get_by_role("heading", name="Ce qui fait obstacle")).to_be_visible()
    expect(page.get_by_text(re.compile(
        r"L'incident grave du \d+ \w+ \d{4} \(Erreur coûteuse\) n'a pas de reconnaissance "
        r"vérifiée\."
    ))).to_be_visible()  # fmt: skip
    helps = page.locator("ul[aria-labelledby=next-steps-heading]")
    expect(helps).to_contain_text(
        re.compile(r"Pour l'incident du \d+ \w+ \d{4} \(Erreur coûteuse\) :")
    )
    expect(helps).to_contain_text(re.compile(
        r"Une reconnaissance vérifiée avancerait l'éligibilité de [\d\s]+ jours, au \d+ \w+ \d{4}\."
    ))  # fmt: skip
    save_screenshot(page, tmp_path / "contractor-fr.png", full_page=True)
    page.get_by_role("link", name="Enregistrer un événement").click()
    kinds = page.get_by_role("group", name="Type")
    expect(kinds.get_by_role("group", name="Incidents")).to_contain_text(
        "Disparition — a disparu d'un processus de recrutement ou d'une mission (modéré par défaut)"
    )
    expect(kinds.get_by_role("group", name="Bonne conduite")).to_contain_text("Engagement tenu")


def test_a_viewer_finds_no_control_to_write_with_and_a_forged_write_fails(
    new_context, app, tenants
):
    ids = make_evidence(app, tenants[0])
    page = new_context().new_page()
    page.goto(f"/contractors/{ids['contractor_id']}")
    sign_in(page, email="viewer@acme.test")
    expect(page.get_by_role("heading", name="Sam Contractor", level=1)).to_be_visible()
    expect(page.get_by_text("Ghosting").first).to_be_visible()
    # Signing out is the only thing a viewer can press, and no link leads to a form.
    expect(page.get_by_role("button")).to_have_count(1)
    expect(page.locator("form[method=post]")).to_have_count(1)
    expect(page.get_by_role("link", name="Amend")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit the contractor's details")).to_have_count(0)
    page.get_by_role("link", name="Contractors").click()
    expect(page.get_by_role("link", name="New contractor")).to_have_count(0)

    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    forged = page.request.post(
        f"/contractors/{ids['contractor_id']}/decisions",
        form={"csrf_token": token, "decision-decision": "engage", "decision-reason": "Forged"},
    )
    assert forged.status == 403
    page.goto(f"/contractors/{ids['contractor_id']}")
    expect(page.get_by_text("No decision recorded yet.")).to_be_visible()


@pytest.mark.parametrize(
    ("locale", "width"), [("en-GB", 1280), ("fr-FR", 1280), ("en-GB", 360), ("fr-FR", 360)]
)
def test_the_contractor_page_with_its_forms_reads_at_every_width(
    new_context, app, tenants, tmp_path, locale, width
):
    contractor_id = a_contractor_to_repair(app, tenants[0])
    page = new_context(locale=locale, viewport={"width": width, "height": 900}).new_page()
    open_signed_in(page, f"/contractors/{contractor_id}")
    expect(page.get_by_role("heading", name="Camille Martin", level=1)).to_be_visible()
    settled(page)
    for details in page.locator("details").all():
        details.locator("summary").click()
    save_screenshot(page, tmp_path / f"contractor-{width}-{locale}.png", full_page=True)
    scrolled = page.evaluate("document.documentElement.scrollWidth")
    assert scrolled <= width + 1, f"the page scrolls sideways: {scrolled} px wide"
    for name in ("events", "steps"):
        page.goto(f"/contractors/{contractor_id}/{name}/new")
        save_screenshot(page, tmp_path / f"record-{name}-{width}-{locale}.png", full_page=True)
        scrolled = page.evaluate("document.documentElement.scrollWidth")
        assert scrolled <= width + 1, f"the {name} form scrolls sideways: {scrolled} px wide"


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_the_open_forms_have_no_serious_accessibility_violation(new_context, app, tenants, locale):
    contractor_id = a_contractor_to_repair(app, tenants[0])
    # axe is the tests' own script, not the service's: this context lets it past the policy.
    page = new_context(locale=locale, bypass_csp=True).new_page()
    open_signed_in(page, f"/contractors/{contractor_id}")
    settled(page)
    for details in page.locator("details").all():
        details.locator("summary").click()
    assert serious_violations(page) == []
    for form in ("edit", "events/new", "steps/new"):
        page.goto(f"/contractors/{contractor_id}/{form}")
        assert serious_violations(page) == [], form
