from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from reputation.api.fields import Timestamp, check_period, period_start
from reputation.api.pagination import PageArgs


class AuditEntrySchema(ma.Schema):
    id = ma.fields.String()
    at = ma.fields.DateTime()
    actor_type = ma.fields.String()
    actor_id = ma.fields.String(allow_none=True)
    actor_label = ma.fields.String()
    action = ma.fields.String()
    object_type = ma.fields.String()
    object_id = ma.fields.String()
    details = ma.fields.Dict()
    request_id = ma.fields.String(allow_none=True)


class AuditQuerySchema(PageArgs):
    action = ma.fields.String(validate=validate.Length(max=100))
    object_type = ma.fields.String(validate=validate.Length(max=50))
    object_id = ma.fields.String(validate=validate.Length(max=64))
    actor_id = ma.fields.String(validate=validate.Length(max=64))
    since = period_start("until")
    until = Timestamp()

    @ma.validates_schema
    def _period_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        check_period(data, "since", "until", ("since", "until"))
