"""The migrations are the schema: they build it from nothing, and the models agree with them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from reputation.db import render_item
from reputation.extensions import db


def test_models_and_migrations_agree(app):
    # The session's database was built by `flask db upgrade` from empty (see conftest).
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_item": render_item}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []
