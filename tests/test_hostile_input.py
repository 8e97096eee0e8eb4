"""What an outside probe sent, and what it must get: text no database can store, documents nested
past the parser's stack, logins meant to lock a person out, and cross-site writes riding on a
session cookie. Each is a clear 4xx problem+json, and nothing is written."""

from __future__ import annotations

import contextlib
import io

import pytest

from reputation.audit.models import AuditEntry
from reputation.contractors.models import Contractor
from reputation.imports.models import Import
from tests.conftest import Api, count_rows, login
from tests.factories import PASSWORD

LONE_SURROGATE = '{"name": "\\ud800 Sam"}'
NUL_ESCAPE = '{"name": "Sam\\u0000"}'


def assert_problem(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.json
    if field is not None:
        assert field in {error["field"] for error in body["errors"]}, body
    return body


@pytest.fixture
def recruiter(app, tenants):
    return login(app, "acme", "recruiter@acme.test", PASSWORD)


@pytest.mark.parametrize(
    ("document", "field", "why"),
    [
        (LONE_SURROGATE, "name", "surrogate"),
        (NUL_ESCAPE, "name", "NUL"),
        ('{"name": "Sam", "tags": ["ok", "\\udfff"]}', "tags.1", "surrogate"),
        ('{"name": "Sam", "\\ud800": 1}', "\ufffd", "surrogate"),
    ],
    ids=["lone surrogate", "NUL", "in a list", "in a key"],
)
def test_text_no_database_can_store_is_422_naming_the_field(app, recruiter, document, field, why):
    before = count_rows(app, Contractor), count_rows(app, AuditEntry)
    response = recruiter.post(
        "contractors", data=document, headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 422, field)
    assert why in body["errors"][0]["detail"]
    assert (count_rows(app, Contractor), count_rows(app, AuditEntry)) == before


def test_a_lone_surrogate_at_login_without_credentials_is_422(client, tenants):
    response = client.post(
        "/api/v1/auth/login",
        data='{"agency": "acme", "email": "\\ud800@a.test", "password": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 422, "email")


@pytest.mark.parametrize("depth", [40, 1_000, 100_000])
def test_json_nested_past_the_cap_is_422_not_a_crash(app, recruiter, depth):
    document = '{"name": "Sam", "tags": ' + "[" * depth + "]" * depth + "}"
    before = count_rows(app, Contractor)
    body = assert_problem(
        recruiter.post("contractors", data=document, headers={"Content-Type": "application/json"}),
        422,
    )
    assert "deep" in str(body["errors"])
    assert count_rows(app, Contractor) == before


@pytest.mark.parametrize(
    "query",
    ["q=Sam%00", "q=%ED%A0%80", "q=%FF%FE", "%ED%A0%80=1"],
    ids=["NUL", "encoded surrogate", "bytes that are not UTF-8", "in a parameter's name"],
)
def test_query_strings_follow_the_same_text_rule(recruiter, query):
    body = assert_problem(recruiter.get(f"contractors?{query}"), 422)
    assert body["errors"][0]["location"] == "query"


def test_well_formed_text_of_any_script_is_accepted(recruiter):
    response = recruiter.post("contractors", {"name": "Zoë Ångström 山田 🙂"})
    assert response.status_code == 201
    assert recruiter.get("contractors?q=山田").json["total"] == 1


# Logins: the limit is per account and address, and slower per account.


def attempt(client, address: str, email: str, password: str) -> int:
    return client.post(
        "/api/v1/auth/login",
        json={"agency": "acme", "email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    ).status_code


@contextlib.contextmanager
def limits(app, **values):
    previous = {name: app.config[name] for name in values}
    app.config.update(values)
    try:
        yield
    finally:
        app.config.update(previous)


def test_bad_logins_from_one_address_do_not_lock_the_person_out_elsewhere(app, client, tenants):
    with limits(app, RATELIMIT_LOGIN="10 per minute", RATELIMIT_LOGIN_ADDRESS="100 per minute"):
        attacker = [attempt(client, "203.0.113.9", "viewer@acme.test", "guess") for _ in range(11)]
        assert attacker == [401] * 10 + [429]
        assert attempt(client, "198.51.100.7", "viewer@acme.test", PASSWORD) == 200


def test_a_respelt_email_shares_the_allowance_of_the_account(app, client, tenants):
    with limits(app, RATELIMIT_LOGIN="3 per minute", RATELIMIT_LOGIN_ADDRESS="100 per minute"):
        spellings = ["viewer@acme.test", " VIEWER@acme.test", "Viewer@Acme.Test  "]
        assert [attempt(client, "203.0.113.9", email, "guess") for email in spellings] == [401] * 3
        assert attempt(client, "203.0.113.9", "\tviewer@ACME.test", "guess") == 429


def test_failures_spread_over_many_addresses_meet_the_slower_account_limit(app, client, tenants):
    with limits(app, RATELIMIT_LOGIN_ACCOUNT="5 per hour"):
        # Successful logins do not count against it.
        assert attempt(client, "192.0.2.1", "viewer@acme.test", PASSWORD) == 200
        stranger = app.test_client()
        failures = [
            attempt(stranger, f"192.0.2.{n}", "viewer@acme.test", "guess") for n in range(6)
        ]
        assert failures == [401] * 5 + [429]
        # A new browser, even with the right password, waits for the window to pass...
        assert attempt(app.test_client(), "192.0.2.50", "viewer@acme.test", PASSWORD) == 429
        # ...but the person's own browser, which signed in before, is never locked out.
        assert attempt(client, "192.0.2.51", "viewer@acme.test", PASSWORD) == 200
        # Other accounts are untouched.
        assert attempt(stranger, "192.0.2.99", "recruiter@acme.test", PASSWORD) == 200


def test_a_device_cookie_is_signed_and_names_no_one(app, client, tenants):
    assert attempt(client, "192.0.2.1", "viewer@acme.test", PASSWORD) == 200
    cookie = client.get_cookie("reputation_device")
    assert cookie is not None and "viewer" not in cookie.value and cookie.http_only
    forged = app.test_client()
    forged.set_cookie("reputation_device", cookie.value[:-4] + "AAAA")
    with limits(app, RATELIMIT_LOGIN_ACCOUNT="1 per hour"):
        assert attempt(forged, "192.0.2.2", "viewer@acme.test", "guess") == 401
        assert attempt(forged, "192.0.2.3", "viewer@acme.test", PASSWORD) == 429


# Cross-site requests riding on a session cookie.


def upload(api: Api, **headers: str):
    return api.post(
        "imports",
        data={"file": (io.BytesIO(b"record,external_ref,name\ncontractor,c1,Sam\n"), "a.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://other.localhost"},
    ],
    ids=["other origin", "opaque origin", "cross-site", "same-site"],
)
def test_a_cookie_authenticated_upload_from_another_site_is_refused(app, recruiter, headers):
    before = count_rows(app, Import)
    assert_problem(upload(recruiter, **headers), 403, "Origin")
    assert count_rows(app, Import) == before


def test_the_services_own_pages_and_non_browsers_may_upload_with_a_cookie(app, recruiter):
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    assert upload(recruiter, Origin="http://localhost", **same_origin).status_code == 202
    assert upload(recruiter, Origin="http://localhost").status_code == 202
    assert upload(recruiter).status_code == 202
    assert count_rows(app, Import) == 3


def test_api_keys_are_not_held_to_the_origin(app, client, tenants):
    acme, _ = tenants
    assert upload(Api(client, acme.write_key), Origin="https://ats.example").status_code == 202


def test_behind_a_proxy_that_ends_tls_the_services_own_pages_still_may(app, recruiter):
    # The browser says https; the service, behind the proxy, sees http on the same host.
    assert upload(recruiter, Origin="https://localhost").status_code == 202
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    assert upload(recruiter, Origin="https://localhost", **same_origin).status_code == 202
    assert upload(recruiter, Origin="https://localhost.evil.example").status_code == 403
