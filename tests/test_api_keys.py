"""API keys: shown once, stored hashed, scoped, revocable."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from reputation.extensions import db
from reputation.tenancy.models import ApiKey
from reputation.tenancy.scope import agency_scope
from tests.conftest import Api, login
from tests.factories import PASSWORD


def test_new_key_is_shown_once_and_stored_only_as_a_hash(app, tenants):
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    created = owner.post("api-keys", {"name": "ats", "scopes": ["write"]})
    assert created.status_code == 201
    secret = created.json["key"]
    assert secret.startswith(created.json["prefix"])
    assert created.json["scopes"] == ["read", "write"]

    listed = owner.get("api-keys").json["items"]
    assert all("key" not in item for item in listed)
    assert created.json["id"] in {item["id"] for item in listed}

    with app.app_context(), agency_scope(tenants[0].agency_id):
        stored = db.session.scalar(select(ApiKey).where(ApiKey.name == "ats"))
        assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in {stored.key_hash, stored.prefix}


def test_key_records_when_it_was_last_used(app, tenants, client):
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    secret = owner.post("api-keys", {"name": "ats", "scopes": ["read"]}).json["key"]
    assert Api(client, secret).get("auth/me").status_code == 200
    listed = {item["name"]: item for item in owner.get("api-keys").json["items"]}
    assert listed["ats"]["last_used_at"] is not None


def test_revoked_key_stops_working_at_once(app, tenants, client):
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    created = owner.post("api-keys", {"name": "ats", "scopes": ["read"]}).json
    integration = Api(client, created["key"])
    assert integration.get("auth/me").status_code == 200
    assert owner.delete(f"api-keys/{created['id']}").status_code == 204
    assert integration.get("auth/me").status_code == 401
    listed = {item["id"]: item for item in owner.get("api-keys").json["items"]}
    assert listed[created["id"]]["revoked_at"] is not None


def test_keys_are_managed_by_owners_and_admins_only(app, tenants, client):
    acme, _ = tenants
    for role in ("recruiter", "viewer"):
        staff = login(app, "acme", f"{role}@acme.test", PASSWORD)
        assert staff.get("api-keys").status_code == 403
    # An integration's key manages no keys, whatever its scope.
    integration = Api(client, acme.write_key)
    assert integration.post("api-keys", {"name": "x", "scopes": ["read"]}).status_code == 403
    admin = login(app, "acme", "admin@acme.test", PASSWORD)
    assert admin.post("api-keys", {"name": "by admin", "scopes": ["read"]}).status_code == 201
