"""What every answer tells the browser: do not sniff, do not frame, keep the referrer at home,
HTTPS only once seen over HTTPS, and never store what a credential unlocked. The docs page shows
only what the service itself serves."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from importlib.resources import files

import pytest

from reputation.app import create_app
from reputation.config import TestConfig
from reputation.extensions import db
from tests.conftest import Api, login, run_jobs
from tests.factories import PASSWORD

DOCS = "/api/v1/docs"


def policy(response) -> dict[str, str]:
    """The Content-Security-Policy as {directive: sources}."""
    found = {}
    for directive in response.headers["Content-Security-Policy"].split(";"):
        name, _, sources = directive.strip().partition(" ")
        if name:
            found[name] = sources
    return found


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/metrics", "/api/v1/openapi.json", "/api/v1/contractors", "/api/v1/nowhere"],
    ids=["health", "metrics", "openapi", "401", "404"],
)
def test_every_answer_forbids_sniffing_framing_and_leaking_the_referrer(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    # Not a page: nothing it holds may load or run anything, nor be framed.
    assert policy(response) == {"default-src": "'none'", "frame-ancestors": "'none'"}


def test_https_is_required_from_the_first_answer_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_behind_a_trusted_proxy_https_is_what_the_proxy_says(client, database_url, redis_url):
    forwarded = {"X-Forwarded-Proto": "https"}
    # With no proxy trusted, anyone could send the header: it changes nothing.
    assert "Strict-Transport-Security" not in client.get("/healthz", headers=forwarded).headers
    proxied = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "RATELIMIT_STORAGE_URI": redis_url,
            "TRUSTED_PROXIES": 1,
        },
    )
    try:
        response = proxied.test_client().get("/healthz", headers=forwarded)
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        with proxied.app_context():
            db.engine.dispose()


def test_what_a_key_or_a_session_unlocked_is_never_stored(app, tenants, client):
    reader = Api(client, tenants[0].read_key)
    assert reader.get("contractors").headers["Cache-Control"] == "no-store"
    session = app.test_client()
    logged_in = session.post(
        "/api/v1/auth/login",
        json={"agency": "acme", "email": "recruiter@acme.test", "password": PASSWORD},
    )
    assert logged_in.status_code == 200
    assert logged_in.headers["Cache-Control"] == "no-store"
    assert Api(session).get("auth/me").headers["Cache-Control"] == "no-store"
    # An error shown to a credential is the agency's business too.
    assert reader.get(f"contractors/{'0' * 32}").headers["Cache-Control"] == "no-store"


def test_a_download_keeps_its_own_cache_control(app, tenants, redis_url):
    recruiter = login(app, "acme", "recruiter@acme.test", PASSWORD)
    started = recruiter.post("exports", {"what": "contractors", "format": "csv"})
    assert started.status_code == 202, started.json
    run_jobs(app, redis_url)
    done = recruiter.get(started.headers["Location"]).json
    download = recruiter.get(done["download_url"])
    assert download.status_code == 200
    # The view's own `private, no-store` (with send_file's `no-cache`), not replaced.
    assert {"private", "no-store"} <= set(download.headers["Cache-Control"].split(", "))


class References(HTMLParser):
    """Every URL a page loads or links to, and the text of its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("src", "href", "action") and v is not None]
        self._in_inline_script = tag == "script" and "src" not in values
        if self._in_inline_script:
            self.inline_scripts.append("")

    def handle_data(self, data: str) -> None:
        if self._in_inline_script:
            self.inline_scripts[-1] += data

    def handle_endtag(self, tag: str) -> None:
        self._in_inline_script = False


def docs_page(client) -> tuple[References, object]:
    response = client.get(DOCS)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = References()
    page.feed(response.get_data(as_text=True))
    return page, response


def test_the_docs_page_loads_everything_from_the_service_itself(client):
    page, _ = docs_page(client)
    assert page.urls, "the page loads Swagger UI from somewhere"
    elsewhere = [url for url in page.urls if re.match(r"^([a-z][a-z0-9+.-]*:|//)", url, re.I)]
    assert elsewhere == []
    kinds = {".js": {"text/javascript", "application/javascript"}, ".css": {"text/css"}}
    for url in page.urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.mimetype in kinds[url[url.rindex(".") :]], (url, asset.mimetype)
        assert asset.headers["X-Content-Type-Options"] == "nosniff"
        # The pinned package's own file, byte for byte.
        shipped = files("flask_swagger_ui") / "dist" / url.rsplit("/", 1)[1]
        assert asset.get_data() == shipped.read_bytes(), url
    # Only what the page needs is served from the package: not its OAuth2 redirect page.
    assert client.get(page.urls[0].rsplit("/", 1)[0] + "/oauth2-redirect.html").status_code == 404


def test_the_docs_page_runs_only_its_own_scripts(client):
    page, response = docs_page(client)
    directives = policy(response)
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'none'"
    assert directives["connect-src"] == "'self'"
    sources = directives["script-src"].split()
    assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources
    hashes = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in page.inline_scripts
    }
    assert set(sources) == {"'self'", *hashes}
    # Swagger UI's validator badge would send the document's address to swagger.io.
    assert '"validatorUrl": "none"' in response.get_data(as_text=True)
