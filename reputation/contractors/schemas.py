from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from reputation.api.fields import email_address, one_of, required_text, text
from reputation.api.pagination import PageArgs
from reputation.contractors.models import STATUSES
from reputation.trust.policy import BANDS


def tag_list(**kwargs: Any) -> ma.fields.List:
    """Up to 50 tags or skills of 1 to 50 characters each."""
    return ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=50)),
        validate=validate.Length(max=50),
        **kwargs,
    )


class ContractorSchema(ma.Schema):
    id = ma.fields.String(dump_only=True)
    name = ma.fields.String(dump_only=True)
    email = ma.fields.String(dump_only=True, allow_none=True)
    external_ref = ma.fields.String(dump_only=True, allow_none=True)
    tags = ma.fields.List(ma.fields.String(), dump_only=True)
    status = ma.fields.String(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class ContractorCreateSchema(ma.Schema):
    name = required_text(200)
    email = email_address(load_default=None, allow_none=True)
    external_ref = text(100, load_default=None, allow_none=True)
    tags = tag_list(load_default=list)
    status = one_of(STATUSES, "status", load_default="active")


class ContractorUpdateSchema(ma.Schema):
    """The fields to change; the band and eligibility are the trust model's, not editable."""

    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    email = email_address(allow_none=True)
    external_ref = text(100, allow_none=True)
    tags = tag_list()
    status = one_of(STATUSES, "status")


class ContractorQuerySchema(PageArgs):
    q = text(200, metadata={"description": "Part of the name, email or external reference"})
    email = text(254)
    external_ref = text(100)
    tag = text(50)
    status = one_of(STATUSES, "status")
    band = one_of(
        BANDS,
        "band",
        metadata={"description": "The current band (never computed: insufficient_evidence)"},
    )
    eligible = ma.fields.Boolean(metadata={"description": "Currently eligible for a second chance"})
