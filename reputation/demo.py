"""`flask --app wsgi demo seed`: a demo agency to try the service with."""

from __future__ import annotations

import secrets

import click
from flask.cli import AppGroup
from sqlalchemy import select, update

from reputation import clock
from reputation.extensions import db
from reputation.roles import Role, Scope
from reputation.tenancy import service
from reputation.tenancy.models import ApiKey, User
from reputation.tenancy.scope import agency_scope

demo_cli = AppGroup("demo", help="A demo agency for local runs.")

DEMO_SLUG = "demo"
DEMO_OWNER = "owner@demo.example"
DEMO_KEY_NAME = "demo"


@demo_cli.command("seed")
def seed() -> None:
    """Create the demo agency if it is missing; print a fresh password and API key for it.

    Each run sets a new owner password and replaces the previous demo key, so the printed
    credentials are always the ones that work.
    """
    password = secrets.token_urlsafe(12)
    agency = service.find_agency(DEMO_SLUG)
    if agency is None:
        agency = service.create_agency("Demo Agency", DEMO_SLUG, DEMO_OWNER, password)
    with agency_scope(agency.id):
        owner = db.session.scalar(select(User).where(User.email == DEMO_OWNER))
        if owner is None:
            owner = service.create_user(DEMO_OWNER, Role.OWNER, password)
        service.set_password(owner, password)
        db.session.execute(
            update(ApiKey)
            .where(ApiKey.name == DEMO_KEY_NAME, ApiKey.revoked_at.is_(None))
            .values(revoked_at=clock.now())
        )
        issued = service.create_api_key(DEMO_KEY_NAME, [Scope.WRITE])
    db.session.commit()
    click.echo(f"Demo agency:   {DEMO_SLUG}")
    click.echo(f"Owner login:   {DEMO_OWNER} / {password}")
    click.echo(f"API key:       {issued.secret}")
