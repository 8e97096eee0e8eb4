"""Staff sessions and API keys: who gets in, and what each may do."""

from __future__ import annotations

from tests.conftest import Api, login
from tests.factories import PASSWORD


def test_staff_member_logs_in_and_sees_who_they_are(app, tenants):
    acme, _ = tenants
    session = login(app, "acme", "recruiter@acme.test", PASSWORD)
    me = session.get("auth/me").json
    assert me["kind"] == "user"
    assert me["role"] == "recruiter"
    assert me["agency_id"] == str(acme.agency_id)


def test_wrong_password_is_401_problem(client, tenants):
    response = client.post(
        "/api/v1/auth/login",
        json={"agency": "acme", "email": "owner@acme.test", "password": "not the password"},
    )
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401


def test_email_of_one_agency_does_not_log_in_to_another(client, tenants):
    response = client.post(
        "/api/v1/auth/login",
        json={"agency": "globex", "email": "owner@acme.test", "password": PASSWORD},
    )
    assert response.status_code == 401


def test_api_key_authenticates_as_its_agency(client, tenants):
    acme, _ = tenants
    me = Api(client, acme.read_key).get("auth/me").json
    assert me["kind"] == "api_key"
    assert me["agency_id"] == str(acme.agency_id)
    assert me["scopes"] == ["read"]


def test_unknown_api_key_is_401_with_bearer_challenge(client, tenants):
    response = Api(client, "rk_not-a-real-key").get("auth/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.mimetype == "application/problem+json"


def test_no_credentials_is_401(client, tenants):
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json["title"] == "Unauthorized"
