"""Webhook signing secrets are stored encrypted: a database dump gives none away, deliveries are
still signed with the secret in clear, and the encryption key can be rotated without losing one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet, InvalidToken
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text
from standardwebhooks.webhooks import Webhook

from reputation.app import create_app
from reputation.config import DEVELOPMENT_ENCRYPTION_KEY, Config, ConfigurationError, load
from reputation.crypto import UndecryptableSecret
from reputation.extensions import db
from reputation.tenancy.scope import agency_scope
from reputation.webhooks.models import WebhookEndpoint
from tests.conftest import login, make_app, repo_root, run_jobs
from tests.factories import PASSWORD
from tests.test_webhooks import Receiver

NEW_KEY = Fernet.generate_key().decode()


@pytest.fixture
def receiver(app) -> Iterator[Receiver]:
    server = Receiver()
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = True
    yield server
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = False
    server.server.shutdown()


@pytest.fixture
def admin(app, tenants):
    return login(app, "acme", "admin@acme.test", PASSWORD)


@pytest.fixture
def endpoint(admin, receiver) -> dict:
    response = admin.post("webhooks/endpoints", {"url": receiver.url})
    assert response.status_code == 201, response.json
    return response.json


def stored(app, tenants) -> list[tuple[str, str | None]]:
    """The secret columns as a database dump shows them."""
    with app.app_context(), agency_scope(tenants[0].agency_id):
        rows = db.session.execute(text("SELECT secret, previous_secret FROM webhook_endpoints"))
        return [(row.secret, row.previous_secret) for row in rows]


def read_secret(app, tenants) -> str:
    """The secret as the service reads it."""
    with app.app_context(), agency_scope(tenants[0].agency_id):
        secret = db.session.scalar(select(WebhookEndpoint.secret))
        db.session.rollback()
        assert secret is not None
        return secret


def flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=repo_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def keys(app) -> Iterator[None]:
    """Lets a test change the app's encryption keys; they are put back afterwards."""
    before = app.config["SECRETS_ENCRYPTION_KEYS"]
    yield
    app.config["SECRETS_ENCRYPTION_KEYS"] = before


def test_a_database_dump_holds_no_signing_secret_in_clear(app, tenants, admin, endpoint):
    rotated = admin.post(f"webhooks/endpoints/{endpoint['id']}/rotate-secret").json
    ((secret, previous),) = stored(app, tenants)
    assert previous is not None
    for value in (secret, previous):
        assert "whsec_" not in value
    key = Fernet(DEVELOPMENT_ENCRYPTION_KEY)
    assert key.decrypt(secret.encode()).decode() == rotated["secret"]
    assert key.decrypt(previous.encode()).decode() == endpoint["secret"]
    # The pages and answers that do not show the secret do not show what is stored either.
    shown = admin.get(f"webhooks/endpoints/{endpoint['id']}").text
    listed = admin.get("webhooks/endpoints").text
    for page in (shown, listed):
        assert secret not in page and rotated["secret"] not in page


def test_a_delivery_is_signed_with_the_secret_in_clear(app, admin, endpoint, receiver, redis_url):
    admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    run_jobs(app, redis_url)
    headers, body = receiver.received[-1]
    assert Webhook(endpoint["secret"]).verify(body, headers)["type"] == "ping"


def test_a_new_key_is_rotated_in_and_the_old_one_can_then_go(
    app, tenants, admin, endpoint, service_env, keys
):
    admin.post(f"webhooks/endpoints/{endpoint['id']}/rotate-secret")
    ((before, _),) = stored(app, tenants)
    env = {**service_env, "SECRETS_ENCRYPTION_KEYS": f"{NEW_KEY},{DEVELOPMENT_ENCRYPTION_KEY}"}

    rotated = flask(env, "secrets", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert "Re-encrypted 2 secret(s)" in rotated.stdout
    again = flask(env, "secrets", "rotate")
    assert "Re-encrypted 0 secret(s)" in again.stdout

    ((after, _),) = stored(app, tenants)
    assert after != before
    with pytest.raises(InvalidToken):
        Fernet(DEVELOPMENT_ENCRYPTION_KEY).decrypt(after.encode())
    app.config["SECRETS_ENCRYPTION_KEYS"] = (NEW_KEY,)
    assert read_secret(app, tenants) == Fernet(NEW_KEY).decrypt(after.encode()).decode()


def test_dropping_a_key_before_the_rotation_is_a_clear_error_not_a_fallback(
    app, tenants, admin, endpoint, service_env, keys
):
    refused = flask({**service_env, "SECRETS_ENCRYPTION_KEYS": NEW_KEY}, "secrets", "rotate")
    assert refused.returncode != 0
    assert "cannot be decrypted with any key of SECRETS_ENCRYPTION_KEYS" in refused.stderr
    assert endpoint["secret"] not in refused.stderr + refused.stdout
    app.config["SECRETS_ENCRYPTION_KEYS"] = (NEW_KEY,)
    with pytest.raises(UndecryptableSecret, match="SECRETS_ENCRYPTION_KEYS"):
        read_secret(app, tenants)
    # Nothing was lost: with the old key back, the secret reads as it was.
    app.config["SECRETS_ENCRYPTION_KEYS"] = (DEVELOPMENT_ENCRYPTION_KEY,)
    assert read_secret(app, tenants) == endpoint["secret"]


def test_a_stored_value_no_key_decrypts_is_an_error_never_the_value(app, tenants, endpoint):
    with app.app_context(), agency_scope(tenants[0].agency_id):
        db.session.execute(text("UPDATE webhook_endpoints SET secret = 'whsec_planted'"))
        db.session.commit()
    with pytest.raises(UndecryptableSecret, match="SECRETS_ENCRYPTION_KEYS"):
        read_secret(app, tenants)


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv("REPUTATION_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a production secret key")
    monkeypatch.delenv("SECRETS_ENCRYPTION_KEYS", raising=False)


def test_production_without_encryption_keys_refuses_to_start(production):
    with pytest.raises(ConfigurationError, match="SECRETS_ENCRYPTION_KEYS is not set"):
        create_app(Config)


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("not-a-fernet-key", "key 1 of 1 is not a Fernet key"),
        (f"{NEW_KEY},{NEW_KEY[:-4]}", "key 2 of 2 is not a Fernet key"),
        (" , ", "holds no key"),
    ],
)
def test_a_malformed_key_refuses_to_start_naming_the_variable(
    production, monkeypatch, value, complaint
):
    monkeypatch.setenv("SECRETS_ENCRYPTION_KEYS", value)
    with pytest.raises(ConfigurationError, match="SECRETS_ENCRYPTION_KEYS is malformed") as error:
        load(Config)
    assert complaint in str(error.value)
    assert NEW_KEY[:-4] not in str(error.value)  # a key is never repeated in the message


def test_a_local_run_needs_no_key(monkeypatch):
    monkeypatch.setenv("REPUTATION_ENV", "development")
    monkeypatch.delenv("SECRETS_ENCRYPTION_KEYS", raising=False)
    assert load(Config).SECRETS_ENCRYPTION_KEYS == (DEVELOPMENT_ENCRYPTION_KEY,)


def test_keys_are_read_newest_first(production, monkeypatch):
    monkeypatch.setenv("SECRETS_ENCRYPTION_KEYS", f" {NEW_KEY} , {DEVELOPMENT_ENCRYPTION_KEY}")
    assert load(Config).SECRETS_ENCRYPTION_KEYS == (NEW_KEY, DEVELOPMENT_ENCRYPTION_KEY)


def test_the_migration_encrypts_the_secrets_stored_in_clear_and_back(
    app, tenants, admin, endpoint, database_urls, redis_url
):
    # A message refers to the endpoint, as in any database that has delivered something.
    admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    migrator = make_app(database_urls.owner, redis_url)
    with migrator.app_context():
        try:
            downgrade(revision="0018")
            assert stored(app, tenants) == [(endpoint["secret"], None)]
        finally:
            upgrade()
            db.engine.dispose()
    with app.app_context():
        db.engine.dispose()  # the app's connections knew the columns before the migration
    ((secret, _),) = stored(app, tenants)
    assert secret != endpoint["secret"]
    assert read_secret(app, tenants) == endpoint["secret"]
