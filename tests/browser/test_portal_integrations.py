"""Webhooks, imports and exports as a person uses them, in Chromium, in English and in French:
an admin adds an endpoint that points at a receiver on this machine, copies its secret, sends a
test and watches it arrive in the delivery log; a recruiter uploads a file with a bad row and
watches the import end with that row's error; an admin starts an export and downloads it. Each
page also reads at 360 pixels and has no serious accessibility violation.

The receiver listens on 127.0.0.1, which the service reaches only where private networks are
allowed (WEBHOOK_ALLOW_PRIVATE_NETWORKS=1, as for local demos).
"""

from __future__ import annotations

import re

import pytest
from standardwebhooks.webhooks import Webhook

from reputation.extensions import db
from reputation.tenancy.scope import agency_scope
from reputation.webhooks.service import create_endpoint
from tests.browser.conftest import expect, save_screenshot
from tests.browser.test_portal import serious_violations
from tests.factories import PASSWORD, make_evidence, make_export, make_import
from tests.test_webhooks import Receiver

# A browser flow runs once, against the production database: the PostgreSQL pass (tests/browser/
# test_portal.py keeps the embedded SQLite default covered in the browser).
pytestmark = pytest.mark.postgresql_only

LOCALES = ["en-GB", "fr-FR"]
# What each step of the tests reads or presses, in each language.
WORDS = {
    "en-GB": {
        "sign in": ("Agency", "Email", "Password"),
        "add": "Add the endpoint",
        "added": "The endpoint is added",
        "secret": "Signing secret",
        "copy": "Copy",
        "copied": "Copied",
        "kept": "I have kept it: go to the endpoint",
        "test": "Send a test event",
        "delivered": "delivered",
        "file": "File (CSV or JSONL)",
        "upload": "Upload and import",
        "completed": "completed",
        "read": "3 of 3 rows read, 1 not applied.",
        "what": "What to export",
        "contractors": "Contractors",
        "start": "Start the export",
        "download": "Download",
    },
    "fr-FR": {
        "sign in": ("Agence", "Adresse e-mail", "Mot de passe"),
        "add": "Ajouter le point de réception",
        "added": "Le point de réception est ajouté",
        "secret": "Secret de signature",
        "copy": "Copier",
        "copied": "Copié",
        "kept": "Je l'ai conservé : aller au point de réception",
        "test": "Envoyer un événement de test",
        "delivered": "remis",
        "file": "Fichier (CSV ou JSONL)",
        "upload": "Envoyer et importer",
        "completed": "terminé",
        "read": "3 lignes lues sur 3, 1 non appliquées.",
        "what": "Données à exporter",
        "contractors": "Intervenants",
        "start": "Lancer l'export",
        "download": "Télécharger",
    },
}
ONE_BAD_ROW = (
    "record,external_ref,name,contractor_ref,kind,occurred_at,summary\n"
    "contractor,C-1,Jamie Rivera,,,,\n"
    "event,E-1,,C-1,ghosting,2025-03-02T09:00:00Z,Did not attend the final interview\n"
    "event,E-2,,C-1,shouting,2025-03-03T09:00:00Z,Not a kind the model knows\n"
)
# Long enough for the relay, a worker and htmx's next look on a busy machine.
ARRIVES_MS = 20_000


def sign_in(page, words, email) -> None:
    agency, email_label, password = words["sign in"]
    page.get_by_label(agency).fill("acme")
    page.get_by_label(email_label).fill(email)
    page.get_by_label(password).fill(PASSWORD)
    page.get_by_label(password).press("Enter")


def at_360_pixels(page, path) -> None:
    """The page as a phone shows it: a screenshot, and no sideways scrolling."""
    page.set_viewport_size({"width": 360, "height": 740})
    page.wait_for_load_state()
    save_screenshot(page, path, full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360 + 1, f"{page.url} scrolls sideways: {width} px wide"
    page.set_viewport_size({"width": 1280, "height": 800})


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.server.shutdown()


@pytest.mark.parametrize("locale", LOCALES)
def test_an_admin_adds_an_endpoint_copies_its_secret_and_sees_a_test_delivered(
    new_context, live_service, tenants, receiver, tmp_path, locale
):
    words = WORDS[locale]
    context = new_context(locale=locale)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_service.url)
    page = context.new_page()
    page.goto("/webhooks")
    sign_in(page, words, "admin@acme.test")
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("Our ATS")
    page.get_by_role("button", name=words["add"]).click()

    expect(page.get_by_role("heading", name=words["added"])).to_be_visible()
    secret = page.get_by_label(words["secret"]).input_value()
    assert secret.startswith("whsec_")
    page.get_by_role("button", name=words["copy"], exact=True).click()
    expect(page.get_by_role("button", name=words["copied"])).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    save_screenshot(page, tmp_path / f"webhook-secret-{locale}.png", full_page=True)
    at_360_pixels(page, tmp_path / f"webhook-secret-360-{locale}.png")

    page.get_by_role("link", name=words["kept"]).click()
    page.get_by_role("button", name=words["test"]).click()
    log = page.locator("#deliveries")
    expect(log).to_contain_text("ping")
    # No reload: the log follows the message until the worker has delivered it.
    expect(log.locator("mark")).to_have_text(words["delivered"], timeout=ARRIVES_MS)
    page.locator("#deliveries summary").first.click()
    expect(log).to_contain_text("200")
    (headers, body), *_ = [(h, b) for h, b in receiver.received if '"type":"ping"' in b]
    assert Webhook(secret).verify(body, headers)["type"] == "ping"
    assert "whsec_" not in page.content()
    save_screenshot(page, tmp_path / f"webhook-{locale}.png", full_page=True)
    at_360_pixels(page, tmp_path / f"webhook-360-{locale}.png")
    page.goto("/webhooks")
    expect(page.get_by_role("link", name=receiver.url)).to_be_visible()
    save_screenshot(page, tmp_path / f"webhooks-{locale}.png", full_page=True)
    at_360_pixels(page, tmp_path / f"webhooks-360-{locale}.png")


@pytest.mark.parametrize("locale", LOCALES)
def test_a_recruiter_uploads_a_file_and_watches_it_end_with_its_row_error(
    new_context, tenants, tmp_path, locale
):
    words = WORDS[locale]
    upload = tmp_path / "ats.csv"
    upload.write_text(ONE_BAD_ROW)
    page = new_context(locale=locale).new_page()
    page.goto("/imports")
    sign_in(page, words, "recruiter@acme.test")
    page.get_by_label(words["file"]).set_input_files(upload)
    page.get_by_role("button", name=words["upload"]).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("ats.csv")
    progress = page.locator("#import-progress")
    # No reload: htmx follows the import until it has ended.
    expect(progress.locator("mark")).to_have_text(words["completed"], timeout=ARRIVES_MS)
    expect(progress).to_contain_text(words["read"])
    error = progress.locator("tbody tr")
    expect(error).to_have_count(1)
    expect(error.locator("td").nth(0)).to_have_text("3")
    expect(error.locator("td").nth(1)).to_have_text("kind")
    expect(error.locator("td").nth(2)).to_contain_text("shouting")
    save_screenshot(page, tmp_path / f"import-{locale}.png", full_page=True)
    at_360_pixels(page, tmp_path / f"import-360-{locale}.png")
    page.goto("/imports")
    expect(page.get_by_role("link", name="ats.csv")).to_be_visible()
    save_screenshot(page, tmp_path / f"imports-{locale}.png", full_page=True)
    at_360_pixels(page, tmp_path / f"imports-360-{locale}.png")


@pytest.mark.parametrize("locale", LOCALES)
def test_an_admin_starts_an_export_and_downloads_it(new_context, app, tenants, tmp_path, locale):
    words = WORDS[locale]
    make_evidence(app, tenants[0])
    page = new_context(locale=locale).new_page()
    page.goto("/exports")
    sign_in(page, words, "admin@acme.test")
    page.get_by_label(words["what"]).select_option(label=words["contractors"])
    page.get_by_label("Format").select_option("csv")
    page.get_by_role("button", name=words["start"]).click()

    # No reload: the list follows the export until its file is ready.
    link = page.get_by_role("link", name=words["download"])
    expect(link).to_be_visible(timeout=ARRIVES_MS)
    save_screenshot(page, tmp_path / f"exports-{locale}.png", full_page=True)
    with page.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert re.fullmatch(r"contractors-\d{8}T\d{6}Z\.csv", download.suggested_filename)
    lines = download.path().read_text().splitlines()
    assert lines[0].startswith("id,name,email,external_ref")
    assert len(lines) == 2 and "Sam Contractor" in lines[1]
    at_360_pixels(page, tmp_path / f"exports-360-{locale}.png")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_integration_pages_have_no_serious_accessibility_violation(
    new_context, app, tenants, locale
):
    with app.app_context(), agency_scope(tenants[0].agency_id):
        endpoint_id = create_endpoint({"url": "https://93.184.216.34/hook"}).id
        db.session.commit()
    import_id = make_import(app, tenants[0])
    make_export(app, tenants[0])
    # axe is the tests' own script, not the service's: this context lets it past the policy.
    page = new_context(locale=locale, bypass_csp=True).new_page()
    page.goto("/")
    sign_in(page, WORDS[locale], "admin@acme.test")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    for path in (
        "/webhooks",
        f"/webhooks/{endpoint_id}",
        f"/webhooks/{endpoint_id}/edit",
        "/imports",
        f"/imports/{import_id}",
        "/exports",
    ):
        page.goto(path)
        page.wait_for_load_state()
        assert serious_violations(page) == [], (locale, path)
