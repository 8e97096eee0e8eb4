"""The one way to fetch an object of the current agency by id."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import select

from reputation.errors import NotFound
from reputation.extensions import db
from reputation.tenancy.scope import current_agency_id

T = TypeVar("T")


def get_or_404(model: type[T], object_id: uuid.UUID, what: str) -> T:
    """The agency's `model` with this id, or a 404; another agency's id is a 404 too."""
    agency_id = current_agency_id()
    column: Any = model
    obj = db.session.scalar(
        select(model).where(column.agency_id == agency_id, column.id == object_id)
    )
    if obj is None:
        raise NotFound(f"No {what} with id {object_id}.")
    return obj
