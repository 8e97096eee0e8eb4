"""Operators' commands: `flask --app wsgi agencies|users|api-keys …`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask.cli import AppGroup

from reputation.errors import DomainError
from reputation.extensions import db
from reputation.roles import Role, Scope
from reputation.tenancy import service
from reputation.tenancy.models import Agency
from reputation.tenancy.scope import agency_scope

agencies_cli = AppGroup("agencies", help="Create and list agencies.")
users_cli = AppGroup("users", help="Manage an agency's staff.")
api_keys_cli = AppGroup("api-keys", help="Issue API keys.")


@contextmanager
def committing() -> Iterator[None]:
    """Commit what the block wrote; on a refused change, say why and exit non-zero."""
    try:
        yield
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.detail) from error


def agency_by_slug(slug: str) -> Agency:
    agency = service.find_agency(slug)
    if agency is None:
        raise click.ClickException(f"No agency with the slug {slug!r}.")
    return agency


def in_agency(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command scoped to the agency named by --agency."""

    @click.option("--agency", "agency_slug", required=True, help="The agency's slug.")
    def wrapper(agency_slug: str, **kwargs: Any) -> Any:
        agency = agency_by_slug(agency_slug)
        with agency_scope(agency.id), committing():
            return command(agency=agency, **kwargs)

    wrapper.__name__ = command.__name__
    wrapper.__doc__ = command.__doc__
    return wrapper


@agencies_cli.command("create")
@click.option("--name", required=True)
@click.option("--slug", required=True)
@click.option("--admin-email", required=True, help="The first owner's email.")
@click.option("--admin-password", required=True, help="The first owner's password.")
def create_agency(name: str, slug: str, admin_email: str, admin_password: str) -> None:
    """Create an agency and its first owner."""
    with committing():
        agency = service.create_agency(name, slug, admin_email, admin_password)
    click.echo(f"Created agency {agency.slug} ({agency.id}) with owner {admin_email.lower()}.")


@agencies_cli.command("list")
def list_agencies() -> None:
    """Every agency's slug, id and name."""
    for agency in db.session.scalars(db.select(Agency).order_by(Agency.slug)):
        click.echo(f"{agency.slug}\t{agency.id}\t{agency.name}")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", required=True)
@click.option("--name", default="")
@in_agency
def create_user(agency: Agency, email: str, role: str, password: str, name: str) -> None:
    """Add a staff member to an agency."""
    user = service.create_user(email, Role(role), password, name)
    click.echo(f"Created {user.role} {user.email} ({user.id}) in {agency.slug}.")


@api_keys_cli.command("create")
@click.option("--name", required=True)
@click.option("--scope", required=True, type=click.Choice([s.value for s in Scope]))
@in_agency
def create_api_key(agency: Agency, name: str, scope: str) -> None:
    """Issue an API key; the key itself is printed alone on the last line."""
    issued = service.create_api_key(name, [scope])
    click.echo(f"Created API key {issued.key.name} ({issued.key.id}) for {agency.slug}.")
    click.echo(issued.secret)
