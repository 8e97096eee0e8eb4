"""Staff, API keys and the audit log as a person uses them, in Chromium, in English and in French:
an owner creates a key, copies its secret with the button and finds it on the clipboard, then
revokes the key; an owner adds a staff member and deactivates them; a viewer reads the audit log
filtered. Each page also reads at 360 pixels and has no serious accessibility violation.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.browser.conftest import expect, save_screenshot
from tests.browser.test_portal import serious_violations, sign_in
from tests.factories import PASSWORD

# A browser flow runs once, against the production database: the PostgreSQL pass (tests/browser/
# test_portal.py keeps the embedded SQLite default covered in the browser).
pytestmark = pytest.mark.postgresql_only

LOCALES = ["en-GB", "fr-FR"]
# What each step of the tests reads or presses, in each language.
WORDS = {
    "en-GB": {
        "sign in": ("Agency", "Email", "Password"),
        "name": "Name",
        "read and write": "Read and write",
        "create": "Create the key",
        "created": "The key ats is created",
        "secret": "Secret of the key",
        "copy": "Copy",
        "copied": "Copied",
        "back": "Back to the API keys",
        "revoke link": "Revoke the key ats",
        "revoke": "Revoke the key",
        "revoked": "The key ats is revoked.",
        "email": "Email",
        "role": "Role",
        "viewer": "Viewer",
        "password": "Initial password",
        "add": "Add the staff member",
        "too short": "A password needs at least 12 characters",
        "added": "sasha@acme.test joins the staff with the role Viewer.",
        "deactivate": "Deactivate",
        "deactivated": "sasha@acme.test may no longer sign in",
        "audit": "Audit log",
        "action": "Action",
        "staff added": "Staff member added",
        "who": "Who",
        "from": "From",
        "filter": "Filter",
        "entries": "4 entries",
        "the service": "The service",
    },
    "fr-FR": {
        "sign in": ("Agence", "Adresse e-mail", "Mot de passe"),
        "name": "Nom",
        "read and write": "Lecture et écriture",
        "create": "Créer la clé",
        "created": "La clé ats est créée",
        "secret": "Secret de la clé",
        "copy": "Copier",
        "copied": "Copié",
        "back": "Retour aux clés d'API",
        "revoke link": "Révoquer la clé ats",
        "revoke": "Révoquer la clé",
        "revoked": "La clé ats est révoquée.",
        "email": "Adresse e-mail",
        "role": "Rôle",
        "viewer": "Observateur",
        "password": "Mot de passe initial",
        "add": "Ajouter ce membre du personnel",
        "too short": "Un mot de passe compte au moins 12 caractères",
        "added": "sasha@acme.test rejoint le personnel avec le rôle Observateur.",
        "deactivate": "Désactiver",
        "deactivated": "sasha@acme.test ne peut plus se connecter",
        "audit": "Journal d'audit",
        "action": "Action",
        "staff added": "Membre du personnel ajouté",
        "who": "Qui",
        "from": "Du",
        "filter": "Filtrer",
        "entries": "4 entrées",
        "the service": "Le service",
    },
}


def signed_in_page(new_context, live_service, locale, email, path, **options):
    """A tab of a person of acme who asked for `path`, signed in on the way."""
    context = new_context(locale=locale, **options)
    page = context.new_page()
    page.goto(path)
    sign_in(page, email=email, labels=WORDS[locale]["sign in"])
    return page


@pytest.mark.parametrize("locale", LOCALES)
def test_an_owner_creates_a_key_copies_its_secret_once_and_revokes_it(
    new_context, live_service, tenants, tmp_path, locale
):
    words = WORDS[locale]
    context = new_context(locale=locale)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_service.url)
    page = context.new_page()
    page.goto("/keys")
    sign_in(page, email="owner@acme.test", labels=words["sign in"])
    page.get_by_label(words["name"], exact=True).fill("ats")
    page.get_by_label(words["read and write"]).check()
    page.get_by_role("button", name=words["create"]).click()

    expect(page.get_by_role("heading", name=words["created"])).to_be_visible()
    secret = page.get_by_label(words["secret"]).input_value()
    assert re.fullmatch(r"rk_[A-Za-z0-9_-]{40,}", secret)
    page.get_by_role("button", name=words["copy"]).click()
    expect(page.get_by_role("button", name=words["copied"])).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    save_screenshot(page, tmp_path / f"key-created-{locale}.png")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert page.request.get("/api/v1/auth/me", headers=bearer).status == 200

    page.get_by_role("link", name=words["back"]).click()
    expect(page.get_by_role("rowheader", name="ats", exact=True)).to_be_visible()
    assert secret not in page.content()  # never again
    save_screenshot(page, tmp_path / f"keys-{locale}.png", full_page=True)
    page.get_by_role("link", name=words["revoke link"]).click()
    page.get_by_role("button", name=words["revoke"]).click()
    expect(page.get_by_text(words["revoked"])).to_be_visible()
    assert page.request.get("/api/v1/auth/me", headers=bearer).status == 401


@pytest.mark.parametrize("locale", LOCALES)
def test_an_owner_adds_a_staff_member_and_deactivates_them(
    new_context, live_service, page_watch, tenants, tmp_path, locale
):
    page_watch.allow_console_error(r"status of 422")  # the answer to the refused form
    words = WORDS[locale]
    page = signed_in_page(new_context, live_service, locale, "owner@acme.test", "/staff")
    page.get_by_label(words["email"], exact=True).fill("sasha@acme.test")
    page.get_by_label(words["name"], exact=True).fill("Sasha Lemaire")
    page.get_by_label(words["role"]).select_option(label=words["viewer"])
    page.get_by_label(words["password"]).fill("too short")
    page.get_by_role("button", name=words["add"]).click()
    # Refused beside the field, with what was typed kept but the password.
    expect(page.get_by_text(words["too short"])).to_be_visible()
    expect(page.get_by_label(words["email"], exact=True)).to_have_value("sasha@acme.test")
    expect(page.get_by_label(words["password"])).to_have_value("")
    page.get_by_label(words["password"]).fill(PASSWORD)
    page.get_by_role("button", name=words["add"]).click()

    expect(page.get_by_text(words["added"])).to_be_visible()
    save_screenshot(page, tmp_path / f"staff-{locale}.png", full_page=True)
    page.get_by_role("link", name="sasha@acme.test").click()
    save_screenshot(page, tmp_path / f"staff-member-{locale}.png", full_page=True)
    page.get_by_role("button", name=words["deactivate"]).click()
    expect(page.get_by_text(words["deactivated"])).to_be_visible()


@pytest.mark.parametrize("locale", LOCALES)
def test_a_viewer_reads_the_audit_log_filtered(
    new_context, live_service, tenants, tmp_path, locale
):
    words = WORDS[locale]
    page = signed_in_page(new_context, live_service, locale, "viewer@acme.test", "/audit")
    expect(page.get_by_role("heading", name=words["audit"])).to_be_visible()
    page.get_by_label(words["action"]).select_option(label=words["staff added"])
    page.get_by_label(words["from"]).fill(datetime.now(UTC).date().isoformat())
    page.get_by_role("button", name=words["filter"]).click()

    expect(page.get_by_text(words["entries"])).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("viewer@acme.test")
    expect(rows.first).to_contain_text(words["the service"])
    expect(page.get_by_label(words["action"])).to_have_value("user.created")
    save_screenshot(page, tmp_path / f"audit-{locale}.png", full_page=True)
    # A viewer manages nobody: the staff page is the 403 page.
    answer = page.request.get("/staff")
    assert answer.status == 403


@pytest.mark.parametrize("locale", LOCALES)
def test_the_team_pages_read_at_360_pixels_without_serious_accessibility_violations(
    new_context, live_service, tenants, tmp_path, locale
):
    # axe is the tests' own script, not the service's: this context lets it past the policy.
    page = signed_in_page(
        new_context, live_service, locale, "owner@acme.test", "/staff",
        viewport={"width": 360, "height": 740}, bypass_csp=True,
    )  # fmt: skip
    recruiter = tenants[0].users["recruiter"]
    for name, path in (
        ("staff", "/staff"),
        ("staff-member", f"/staff/{recruiter}"),
        ("keys", "/keys"),
        ("revoke", f"/keys/{tenants[0].key_ids['read']}/revoke"),
        ("audit", "/audit"),
    ):
        page.goto(path)
        page.wait_for_load_state()
        save_screenshot(page, tmp_path / f"{name}-360-{locale}.png", full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360 + 1, f"{path} scrolls sideways: {width} px wide"
        assert serious_violations(page) == [], (locale, path)
    page.goto("/keys")
    page.get_by_label(WORDS[locale]["name"], exact=True).fill("ats")
    page.get_by_role("button", name=WORDS[locale]["create"]).click()
    expect(page.get_by_role("heading", name=WORDS[locale]["created"])).to_be_visible()
    save_screenshot(page, tmp_path / f"key-created-360-{locale}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1
    assert serious_violations(page) == [], (locale, "key created")
