"""The one way to fetch an object of the current agency by id, and of any agency by the token
of a one-time link.

The agency is named in the query itself, not left to the global filter alone: on SQLite, which
has no row-level security, the filter is the only other layer, and a query that names its agency
is what a distributed PostgreSQL (Citus) routes to the agency's node.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, TypeVar

from sqlalchemy import select

from reputation.errors import NotFound
from reputation.extensions import db
from reputation.tenancy.scope import current_agency_id, present_token

T = TypeVar("T")


def find(model: type[T], object_id: uuid.UUID) -> T | None:
    """The agency's `model` with this id, or None; another agency's id finds nothing."""
    column: Any = model
    return db.session.scalar(
        select(model).where(column.agency_id == current_agency_id(), column.id == object_id)
    )


def get_or_404(model: type[T], object_id: uuid.UUID, what: str) -> T:
    """The agency's `model` with this id; NotFound (a 404 in the API) otherwise, another
    agency's id included."""
    obj = find(model, object_id)
    if obj is None:
        raise NotFound(f"No {what} with id {object_id}.")
    return obj


def token_hash(token: str) -> str:
    """What a one-time link's table stores of its token: the SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def find_by_token(model: type[T], token: str) -> T | None:
    """The row of `model` (a table of one-time links, with a `token_hash`) that this token
    opens, in whichever agency it is, or None. The hash is shown to the row-level security
    (its token_holder policy) for this one read only."""
    column: Any = model
    digest = token_hash(token)
    present_token(digest)
    try:
        return db.session.scalar(
            select(model).where(column.token_hash == digest).execution_options(tenant_unscoped=True)
        )
    finally:
        present_token(None)
