"""The one pager: `?page=&per_page=`, a hard cap, and an envelope with the total."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from sqlalchemy import Select, func, select

from reputation.extensions import db

PER_PAGE_DEFAULT = 50
PER_PAGE_MAX = 100


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(
        load_default=PER_PAGE_DEFAULT, validate=ma.validate.Range(min=1, max=PER_PAGE_MAX)
    )


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The response schema of a page of `item_schema`."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return type(
        name,
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "page": ma.fields.Integer(),
            "per_page": ma.fields.Integer(),
            "total": ma.fields.Integer(),
            "pages": ma.fields.Integer(),
        },
    )


def paginate(
    statement: Select[Any], page: int, per_page: int, count: Select[tuple[int]] | None = None
) -> dict[str, Any]:
    """One page of `statement`'s rows (which must be ordered) and the count of all of them: by
    `count`, a cheaper query of the same number, when given."""
    offset = (page - 1) * per_page
    items = db.session.scalars(statement.limit(per_page).offset(offset)).all()
    if len(items) < per_page and (items or offset == 0):
        # The last page: the count is known without counting, which for a search of a large
        # table would read every row again.
        total: int | None = offset + len(items)
    else:
        if count is None:
            count = select(func.count()).select_from(statement.order_by(None).subquery())
        total = db.session.scalar(count)
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total or 0,
        "pages": -(-(total or 0) // per_page),
    }
