"""`flask --app wsgi trust recompute [--agency S] [--contractor ID]`."""

from __future__ import annotations

import uuid

import click
from flask.cli import AppGroup
from sqlalchemy import select

from reputation.contractors.models import Contractor
from reputation.extensions import db
from reputation.scoring import service
from reputation.tenancy.cli import agency_by_slug
from reputation.tenancy.models import Agency
from reputation.tenancy.scope import agency_scope

trust_cli = AppGroup("trust", help="Trust scores.")


@trust_cli.command("recompute")
@click.option("--agency", "agency_slug", help="Only this agency (all agencies by default).")
@click.option("--contractor", "contractor_id", type=click.UUID, help="Only this contractor.")
def recompute(agency_slug: str | None, contractor_id: uuid.UUID | None) -> None:
    """Recompute current scores now, as the nightly sweep does."""
    if contractor_id is not None and agency_slug is None:
        raise click.UsageError("--contractor needs --agency.")
    agencies = (
        [agency_by_slug(agency_slug)]
        if agency_slug
        else list(db.session.scalars(select(Agency).order_by(Agency.slug)))
    )
    for agency in agencies:
        with agency_scope(agency.id):
            if contractor_id is None:
                count = service.recompute_agency()
            else:
                contractor = db.session.scalar(
                    select(Contractor).where(Contractor.id == contractor_id)
                )
                if contractor is None:
                    raise click.ClickException(f"No contractor {contractor_id} in {agency.slug}.")
                service.recompute(contractor)
                count = 1
            db.session.commit()
        click.echo(f"{agency.slug}: recomputed {count} contractor(s).")
