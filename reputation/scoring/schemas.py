from __future__ import annotations

from typing import Any

import marshmallow as ma

from reputation.api.fields import Timestamp, check_period, period_start


class AssessmentSchema(ma.Schema):
    contractor_id = ma.fields.String()
    trust = ma.fields.Float(metadata={"description": "E, the expected trustworthiness"})
    belief = ma.fields.Float()
    disbelief = ma.fields.Float()
    uncertainty = ma.fields.Float()
    r = ma.fields.Float()
    s = ma.fields.Float()
    band = ma.fields.String()
    eligible = ma.fields.Boolean()
    eligible_from = ma.fields.Date(allow_none=True)
    blockers = ma.fields.List(ma.fields.Dict())
    next_steps = ma.fields.List(ma.fields.Dict())
    explanation = ma.fields.List(ma.fields.Dict())
    model_version = ma.fields.String()
    policy_version = ma.fields.Integer()
    computed_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "Null before the first computation"}
    )
    pending = ma.fields.Boolean(
        metadata={"description": "Evidence changed since it was computed; a recompute is queued"}
    )


class PointSchema(ma.Schema):
    at = ma.fields.DateTime()
    trust = ma.fields.Float()
    uncertainty = ma.fields.Float()
    band = ma.fields.String()


class ContractorPointSchema(PointSchema):
    """A point with its contractor: an export's row (the API names the contractor in the path)."""

    contractor_id = ma.fields.String()


class TrajectorySchema(ma.Schema):
    points = ma.fields.List(ma.fields.Nested(PointSchema))
    projection = ma.fields.List(ma.fields.Dict())
    current = ma.fields.Nested(AssessmentSchema)


class PeriodSchema(ma.Schema):
    start = period_start("to", data_key="from")
    end = Timestamp(data_key="to")

    @ma.validates_schema
    def _in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        check_period(data, "start", "end", ("from", "to"))
