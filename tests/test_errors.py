"""Bad input gets a clear problem+json answer with the right status, and writes nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reputation.app import create_app
from reputation.audit.models import AuditEntry
from reputation.config import TestConfig
from reputation.extensions import db
from reputation.tenancy.models import ApiKey
from tests.conftest import count_rows, login, repo_root
from tests.factories import PASSWORD


@pytest.fixture
def owner(app, tenants):
    return login(app, "acme", "owner@acme.test", PASSWORD)


def assert_problem(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    if field is not None:
        assert field in {error["field"] for error in body["errors"]}, body
    return body


def assert_nothing_written(app, before: tuple[int, int]) -> None:
    assert (count_rows(app, ApiKey), count_rows(app, AuditEntry)) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 7, "scopes": ["read"]}, "name"),
        ({"name": "x" * 201, "scopes": ["read"]}, "name"),
        ({"name": "ats", "scopes": ["read"], "colour": "blue"}, "colour"),
        ({"name": "ats", "scopes": ["admin"]}, "scopes.0"),
        ({"scopes": ["read"]}, "name"),
    ],
    ids=["wrong type", "over-long", "unknown field", "unknown scope", "missing"],
)
def test_invalid_body_is_422_naming_the_field_and_writes_nothing(app, owner, body, field):
    before = (count_rows(app, ApiKey), count_rows(app, AuditEntry))
    assert_problem(owner.post("api-keys", body), 422, field)
    assert_nothing_written(app, before)


def test_malformed_json_is_422(app, owner):
    before = (count_rows(app, ApiKey), count_rows(app, AuditEntry))
    response = owner.post(
        "api-keys", data='{"name": "ats", ', headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 422)
    assert "not valid JSON" in body["errors"][0]["detail"]
    assert_nothing_written(app, before)


def test_body_that_is_not_json_is_415(app, owner):
    response = owner.post("api-keys", data="name=ats", headers={"Content-Type": "text/plain"})
    assert_problem(response, 415, "Content-Type")


def test_body_over_the_limit_is_413(app, owner):
    before = (count_rows(app, ApiKey), count_rows(app, AuditEntry))
    huge = {"name": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1), "scopes": ["read"]}
    assert_problem(owner.post("api-keys", huge), 413)
    assert_nothing_written(app, before)


def test_unknown_path_is_404_and_wrong_method_is_405(client):
    assert_problem(client.get("/api/v1/no-such-thing"), 404)
    response = client.put("/api/v1/api-keys", json={})
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_unauthorised_is_401_and_wrong_role_is_403(app, tenants, client):
    assert_problem(client.post("/api/v1/api-keys", json={"name": "x", "scopes": ["read"]}), 401)
    recruiter = login(app, "acme", "recruiter@acme.test", PASSWORD)
    before = (count_rows(app, ApiKey), count_rows(app, AuditEntry))
    assert_problem(recruiter.post("api-keys", {"name": "x", "scopes": ["read"]}), 403)
    assert_nothing_written(app, before)


def test_duplicate_is_409(app, owner):
    body = {"email": "owner@acme.test", "role": "viewer", "password": PASSWORD}
    before = (count_rows(app, ApiKey), count_rows(app, AuditEntry))
    assert_problem(owner.post("users", body), 409)
    assert_nothing_written(app, before)


def test_login_attempts_beyond_the_limit_are_429_with_retry_after(app, client, tenants):
    previous = app.config["RATELIMIT_LOGIN"]
    app.config["RATELIMIT_LOGIN"] = "3 per minute"
    try:
        wrong = {"agency": "acme", "email": "owner@acme.test", "password": "wrong password!"}
        statuses = [client.post("/api/v1/auth/login", json=wrong).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        response = client.post("/api/v1/auth/login", json=wrong)
        assert_problem(response, 429)
        assert int(response.headers["Retry-After"]) > 0
    finally:
        app.config["RATELIMIT_LOGIN"] = previous


def test_unexpected_failure_is_500_problem_and_rolls_back(database_url, redis_url, tenants, app):
    failing = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "RATELIMIT_STORAGE_URI": redis_url,
        },
    )

    @failing.post("/api/v1/explode")
    def explode():
        from reputation.audit.service import record_audit
        from reputation.tenancy.scope import enter_agency

        enter_agency(tenants[0].agency_id)
        record_audit("half.written", "thing", "1")
        db.session.flush()
        raise RuntimeError("a bug")

    before = (count_rows(app, ApiKey), count_rows(app, AuditEntry))
    body = assert_problem(failing.test_client().post("/api/v1/explode"), 500)
    assert "a bug" not in body["detail"]
    assert_nothing_written(app, before)
    with failing.app_context():
        db.engine.dispose()


def test_text_with_a_nul_character_is_422_naming_the_field(app, owner):
    before = (count_rows(app, ApiKey), count_rows(app, AuditEntry))
    assert_problem(owner.post("api-keys", {"name": "a\x00b", "scopes": ["read"]}), 422, "name")
    assert_problem(owner.get("audit?action=x%00y"), 422, "action")
    assert_nothing_written(app, before)


@pytest.mark.parametrize(
    "query",
    ["since=0001-01-01T00:00:00%2B05:00", "until=9999-12-31T23:59:59-05:00"],
)
def test_times_at_the_edge_of_the_calendar_are_422(owner, query):
    assert_problem(owner.get(f"audit?{query}"), 422)


def test_query_string_that_is_not_utf8_is_422_naming_it_and_writes_nothing(app, owner):
    before = (count_rows(app, ApiKey), count_rows(app, AuditEntry))
    response = owner.post(
        "api-keys?x=%ff",
        {"name": "ats", "scopes": ["read"]},
        headers={"Idempotency-Key": "k1"},
    )
    assert_problem(response, 422, "x")
    assert_nothing_written(app, before)


REDIS_DOWN_SCRIPT = """
import sys
from wsgi import app
client = app.test_client()
auth = {"Authorization": "Bearer " + sys.argv[1]}
me = client.get("/api/v1/auth/me", headers=auth)
made = client.post("/api/v1/contractors", json={"name": "Written offline"}, headers=auth)
print(me.status_code, made.status_code)
"""


def test_with_redis_down_requests_are_still_served_and_writes_accepted(tenants, service_env):
    env = {**service_env, "REDIS_URL": "redis://127.0.0.1:1/0"}
    result = subprocess.run(
        [sys.executable, "-c", REDIS_DOWN_SCRIPT, tenants[0].write_key],
        cwd=repo_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["200", "201"], result.stderr[-2000:]
