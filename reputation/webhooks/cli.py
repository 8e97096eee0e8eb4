"""`flask --app wsgi secrets rotate`: re-encrypt the stored webhook secrets with the first key
of SECRETS_ENCRYPTION_KEYS, after a new key was put first (reputation/crypto.py)."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import String, select, type_coerce, update

from reputation import crypto
from reputation.extensions import db
from reputation.tenancy.models import Agency
from reputation.tenancy.scope import agency_scope
from reputation.webhooks.models import WebhookEndpoint

secrets_cli = AppGroup("secrets", help="Secrets stored encrypted.")

# The stored tokens themselves: read and written past EncryptedString, which would decrypt them.
_SECRET = type_coerce(WebhookEndpoint.secret, String)
_PREVIOUS_SECRET = type_coerce(WebhookEndpoint.previous_secret, String)


@secrets_cli.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored webhook secret with the first key; a secret already encrypted
    with it is left alone, so the command can run again after an interruption."""
    agencies = list(db.session.scalars(select(Agency).order_by(Agency.slug)))
    total = 0
    for agency in agencies:
        with agency_scope(agency.id):
            try:
                total += reencrypt_agency_secrets()
            except crypto.UndecryptableSecret as error:
                raise click.ClickException(f"{agency.slug}: {error}") from None
            db.session.commit()
    click.echo(f"Re-encrypted {total} secret(s) with the first key of {crypto.KEYS_VARIABLE}.")


def reencrypt_agency_secrets() -> int:
    """Re-encrypt the agency in scope's webhook secrets (deleted endpoints' too: they are still
    stored) that another key than the first encrypts; how many."""
    count = 0
    rows = db.session.execute(select(WebhookEndpoint.id, _SECRET, _PREVIOUS_SECRET)).all()
    for endpoint_id, secret, previous_secret in rows:
        changes = {
            name: type_coerce(crypto.rotate(token), String)
            for name, token in (("secret", secret), ("previous_secret", previous_secret))
            if token is not None and crypto.needs_rotation(token)
        }
        if changes:
            db.session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == endpoint_id)
                .values(changes)
                .execution_options(synchronize_session=False)
            )
            count += len(changes)
    return count
