from __future__ import annotations

import marshmallow as ma

from reputation.api.fields import one_of, required_text
from reputation.decisions.models import DECISIONS


class DecisionSchema(ma.Schema):
    id = ma.fields.String()
    contractor_id = ma.fields.String()
    decision = ma.fields.String()
    reason = ma.fields.String()
    decided_at = ma.fields.DateTime()
    recorded_by = ma.fields.String(metadata={"description": "Who decided"})
    assessment = ma.fields.Dict(
        allow_none=True, metadata={"description": "The assessment current when decided"}
    )


class DecisionCreateSchema(ma.Schema):
    decision = one_of(DECISIONS, "decision", required=True)
    reason = required_text(5000)
