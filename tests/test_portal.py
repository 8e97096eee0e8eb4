"""The portal as the server answers it: sign-in and back, the policy and CSRF on every page and
form, another agency's contractor as the 404 page, both languages, and catalogs that are whole.
(The browser tests in tests/browser/ drive the same pages as a person does.)"""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask, url_for

from reputation.portal import labels
from reputation.portal.blueprint import portal
from reputation.trust.policy import BANDS
from reputation.trust.taxonomy import CONDUCT_KINDS, REHABILITATION_KINDS
from tests.conftest import repo_root
from tests.factories import PASSWORD, make_evidence, objects_of

CATALOG = repo_root() / "reputation/translations/fr/LC_MESSAGES"
NONCE = re.compile(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{16,})'")


def csrf_token(html: str, name: str = "csrf_token") -> str:
    found = re.search(rf'name="{name}" type="hidden" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client, agency="acme", email="recruiter@acme.test", password=PASSWORD, **headers):
    token = csrf_token(client.get("/", headers=headers).get_data(as_text=True))
    return client.post(
        "/",
        data={"agency": agency, "email": email, "password": password, "csrf_token": token},
        headers=headers,
    )


@pytest.fixture
def recruiter(app, tenants):
    client = app.test_client()
    assert sign_in(client).status_code == 302
    return client


def test_signed_out_a_page_leads_to_sign_in_and_back(app, tenants):
    client = app.test_client()
    asked = client.get("/contractors?q=sam")
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/?next=/contractors?q%3Dsam"
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    for label in ("Agency", "Email", "Password"):
        assert re.search(rf"<label for=\"\w+\">{label}</label>", page)
    token = csrf_token(page)
    signed_in = client.post(
        asked.headers["Location"],
        data={"agency": "acme", "email": "recruiter@acme.test", "password": PASSWORD,
              "csrf_token": token},
    )  # fmt: skip
    assert (signed_in.status_code, signed_in.headers["Location"]) == (302, "/contractors?q=sam")


def test_a_wrong_password_is_shown_beside_the_field_and_keeps_what_was_typed(app, tenants):
    client = app.test_client()
    answer = sign_in(client, email="recruiter@acme.test", password="not the password")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 401
    assert "The agency, email or password is not right." in page
    assert 'value="recruiter@acme.test"' in page and "not the password" not in page


def test_next_never_leads_to_another_site(app, tenants):
    client = app.test_client()
    token = csrf_token(client.get("/").get_data(as_text=True))
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        answer = client.post(
            f"/?next={target}",
            data={"agency": "acme", "email": "recruiter@acme.test", "password": PASSWORD,
                  "csrf_token": token},
        )  # fmt: skip
        assert answer.headers["Location"] == "/contractors"


def test_every_page_carries_a_policy_with_a_fresh_nonce(app, tenants, recruiter):
    ids = make_evidence(app, tenants[0])
    nonces = set()
    for path in ("/contractors", f"/contractors/{ids['contractor_id']}", "/account", "/nope"):
        answer = recruiter.get(path)
        policy = answer.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        nonce = NONCE.search(policy).group(1)
        html = answer.get_data(as_text=True)
        scripts = re.findall(r"<script[^>]*>", html)
        assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts), path
        nonces.add(nonce)
    assert len(nonces) == 4


# The contractor's own pages, and the invitation's, which no staff member reaches.
PERSON_PAGES = {
    "portal.invitation_page",
    "portal.person_record_page",
    "portal.person_record_assessment",
    "portal.person_statement_form",
    "portal.person_dispute_form",
    "portal.person_evidence_form",
    "portal.person_reference_form",
    "portal.person_export",
    "portal.person_erasure_form",
    "portal.referee_page",
}


def portal_routes(app, methods):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(f"{portal.name}.") and rule.methods & methods
    ]


def path_of(app, rule, objects):
    """The rule's address, its ids taken from `objects` (tests/factories.objects_of)."""
    with app.test_request_context():
        return url_for(rule.endpoint, **{name: objects[name] for name in rule.arguments})


def test_every_state_changing_route_refuses_a_request_without_the_csrf_token(app, tenants):
    owner = app.test_client()
    assert sign_in(owner, email="owner@acme.test").status_code == 302
    objects = objects_of(app, tenants[0], role="viewer", scope="read")
    routes = portal_routes(app, {"POST", "PUT", "PATCH", "DELETE"})
    assert len(routes) >= 3
    for rule in routes:
        answer = owner.post(path_of(app, rule, objects), data={"locale": "fr"})
        assert answer.status_code == 400, rule.rule
        assert "did not come from this site" in answer.get_data(as_text=True)
    # Nothing was changed: still signed in, still in English.
    assert "Contractors" in owner.get("/contractors").get_data(as_text=True)


def test_every_page_naming_another_agencys_object_is_the_404_page(app, tenants):
    owner = app.test_client()
    assert sign_in(owner, email="owner@acme.test").status_code == 302
    token = csrf_token(owner.get("/account").get_data(as_text=True), "password-csrf_token")
    theirs = objects_of(app, tenants[1], role="viewer", scope="read")
    walked = 0
    for rule in portal_routes(app, {"GET", "POST"}):
        if not rule.arguments - {"filename"} or rule.endpoint == "portal.static":
            continue
        if rule.endpoint in PERSON_PAGES:
            continue  # a contractor's own pages refuse staff outright (tests/test_portal_me.py)
        path = path_of(app, rule, theirs)
        for method in sorted(rule.methods & {"GET", "POST"}):
            answer = owner.open(path, method=method, headers={"X-CSRFToken": token})
            assert (answer.status_code, answer.mimetype) == (404, "text/html"), (method, path)
            walked += 1
    assert walked >= 1


def test_another_agencys_contractor_is_the_404_page(app, tenants, recruiter):
    theirs = make_evidence(app, tenants[1])
    answer = recruiter.get(f"/contractors/{theirs['contractor_id']}")
    assert (answer.status_code, answer.mimetype) == (404, "text/html")
    assert "There is no such page or object in your agency." in answer.get_data(as_text=True)


def test_a_contractor_page_shows_the_assessment_the_chart_and_the_evidence(app, tenants, recruiter):
    ids = make_evidence(app, tenants[0])
    page = recruiter.get(f"/contractors/{ids['contractor_id']}").get_data(as_text=True)
    assert "Sam Contractor" in page and "Ghosting" in page
    assert 'id="trajectory-chart"' in page and 'id="trajectory-data"' in page
    assert "Insufficient evidence" in page or "Caution" in page
    found = recruiter.get("/contractors?q=sam").get_data(as_text=True)
    assert f"/contractors/{ids['contractor_id']}" in found


def test_the_browser_language_or_the_staff_setting_chooses_french(app, tenants):
    client = app.test_client()
    french = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in french.get_data(as_text=True)
    assert "Agence" in french.get_data(as_text=True)
    assert sign_in(client, **{"Accept-Language": "en"}).status_code == 302
    account = client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    chosen = client.post(
        "/account/language",
        data={
            "language-locale": "fr",
            "language-csrf_token": csrf_token(account, "language-csrf_token"),
        },
    )
    assert chosen.status_code == 302
    page = client.get("/contractors", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Intervenants" in page


def test_every_string_of_the_portal_has_its_french_translation():
    extracted = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(
            repo_root() / "reputation/portal",
            method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
            keywords={"_": None, "_l": None, "gettext": None, "ngettext": (1, 2)},
        )
    }
    with open(CATALOG / "messages.po", "rb") as source:
        catalog = read_po(source)
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string}
    assert extracted - translated == set()


def test_the_compiled_catalog_is_the_catalog():
    def entries(catalog):
        return {
            tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id: (
                tuple(m.string) if isinstance(m.string, (list, tuple)) else m.string
            )
            for m in catalog
            if m.id
        }

    with open(CATALOG / "messages.po", "rb") as source:
        written = entries(read_po(source))
    with open(CATALOG / "messages.mo", "rb") as compiled:
        served = entries(read_mo(BytesIO(compiled.read())))
    assert served == written


def test_every_kind_and_band_of_the_model_has_a_label_and_a_description():
    assert set(labels.CONDUCT_KINDS) == set(CONDUCT_KINDS)
    assert set(labels.REHABILITATION_KINDS) == set(REHABILITATION_KINDS)
    assert set(labels.BANDS) == set(BANDS)


def test_the_portal_is_registered_once_per_app(app: Flask):
    assert list(app.blueprints).count("portal") == 1
