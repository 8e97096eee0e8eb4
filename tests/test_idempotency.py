"""Idempotency-Key: a retried POST returns the stored response and writes nothing twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from reputation.api.idempotency import IdempotencyRecord
from reputation.extensions import db
from reputation.tenancy.models import ApiKey
from reputation.tenancy.scope import agency_scope, system_scope
from tests.conftest import Api, login
from tests.factories import PASSWORD

BODY = {"name": "ats sync", "scopes": ["read"]}


def keys_named(app, tenant, name: str) -> int:
    with app.app_context(), agency_scope(tenant.agency_id):
        return db.session.scalar(
            select(func.count()).select_from(ApiKey).where(ApiKey.name == name)
        )


def test_retry_with_same_key_returns_the_same_key_once(app, tenants):
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    headers = {"Idempotency-Key": "create-ats-key-1"}
    first = owner.post("api-keys", BODY, headers=headers)
    again = owner.post("api-keys", BODY, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    # The same key, but its secret is shown once only: it is not kept for replays.
    assert again.json == {**first.json, "key": None}
    assert again.headers["Idempotent-Redacted"] == "key"
    assert keys_named(app, tenants[0], "ats sync") == 1
    with app.app_context(), system_scope():
        stored = db.session.scalars(select(IdempotencyRecord.body)).all()
    assert stored and not any(first.json["key"] in body for body in stored)


def test_same_key_with_another_body_is_409(app, tenants):
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    headers = {"Idempotency-Key": "create-ats-key-2"}
    assert owner.post("api-keys", BODY, headers=headers).status_code == 201
    other = owner.post("api-keys", {**BODY, "name": "other"}, headers=headers)
    assert other.status_code == 409
    assert other.mimetype == "application/problem+json"
    assert keys_named(app, tenants[0], "other") == 0


def test_keys_belong_to_the_credential_that_sent_them(app, tenants):
    acme_owner = login(app, "acme", "owner@acme.test", PASSWORD)
    acme_admin = login(app, "acme", "admin@acme.test", PASSWORD)
    headers = {"Idempotency-Key": "shared-key"}
    first = acme_owner.post("api-keys", BODY, headers=headers)
    second = acme_admin.post("api-keys", BODY, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json["id"] != second.json["id"]
    assert "Idempotent-Replayed" not in second.headers


def test_a_failed_request_is_not_remembered(app, tenants):
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    headers = {"Idempotency-Key": "fix-and-retry"}
    assert owner.post("api-keys", {"name": ""}, headers=headers).status_code == 422
    assert owner.post("api-keys", BODY, headers=headers).status_code == 201


def test_malformed_key_is_400(app, tenants):
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    response = owner.post("api-keys", BODY, headers={"Idempotency-Key": "x" * 300})
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "Idempotency-Key"
    assert keys_named(app, tenants[0], "ats sync") == 0


def retry_concurrently(app, path: str, body: dict, key: str, times: int) -> list:
    """The owner's session sends the same keyed POST from `times` clients at once, as a
    retrying integration's connections would."""
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    cookie = owner.client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value

    def send(_: int):
        client = app.test_client()
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
        return Api(client).post(path, body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=times) as pool:
        return list(pool.map(send, range(times)))


def test_concurrent_retries_create_one_key_and_get_one_answer(app, tenants):
    responses = retry_concurrently(app, "api-keys", BODY, "raced", 6)
    assert {r.status_code for r in responses} == {201}
    assert len({r.json["id"] for r in responses}) == 1
    assert keys_named(app, tenants[0], "ats sync") == 1


def test_concurrent_retries_whose_twin_conflicts_in_the_view_get_the_twins_answer(app, tenants):
    body = {"email": "new@acme.test", "role": "viewer", "password": "a long password!"}
    responses = retry_concurrently(app, "users", body, "raced-user", 4)
    assert {r.status_code for r in responses} == {201}
    assert len({r.json["id"] for r in responses}) == 1


def test_a_replay_does_not_outlive_a_change_of_rights(app, tenants):
    acme, _ = tenants
    admin = login(app, "acme", "admin@acme.test", PASSWORD)
    headers = {"Idempotency-Key": "before-demotion"}
    assert admin.post("api-keys", BODY, headers=headers).status_code == 201
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    assert owner.patch(f"users/{acme.users['admin']}", {"role": "viewer"}).status_code == 200
    again = admin.post("api-keys", BODY, headers=headers)
    assert again.status_code == 409
    assert "Idempotent-Replayed" not in again.headers
