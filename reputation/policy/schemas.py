"""The policy document, validated: positive half-lives, factors in range, thresholds in order,
known kinds only; the error names the field."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import marshmallow as ma
from marshmallow import validate

from reputation.trust.policy import GRADED_BANDS, document_of, policy_from
from reputation.trust.taxonomy import CONDUCT_KINDS, REHABILITATION_KINDS

POSITIVE = validate.Range(min=0, min_inclusive=False, max=1e6)
NON_NEGATIVE = validate.Range(min=0, max=1e6)
FRACTION = validate.Range(min=0, max=1)
SEVERITIES = validate.OneOf(["1", "2", "3", "4", "5"], error="Severities are 1 to 5.")


def kinds(names: Any) -> validate.OneOf:
    return validate.OneOf(sorted(names), error="Unknown kind: {input}. Allowed: {choices}.")


class ConductKindPolicy(ma.Schema):
    half_life_days = ma.fields.Float(validate=POSITIVE)
    base_weight = ma.fields.Float(validate=NON_NEGATIVE)
    repair_cap = ma.fields.Float(validate=FRACTION)


class RehabilitationKindPolicy(ma.Schema):
    weight = ma.fields.Float(validate=NON_NEGATIVE)
    repair_rate = ma.fields.Float(validate=FRACTION)
    half_life_days = ma.fields.Float(validate=POSITIVE)


class BandThresholds(ma.Schema):
    trusted = ma.fields.Float(validate=FRACTION)
    good_standing = ma.fields.Float(validate=FRACTION)
    rebuilding = ma.fields.Float(validate=FRACTION)
    caution = ma.fields.Float(validate=FRACTION)


class PolicySchema(ma.Schema):
    """Any subset of the numbers; what is left out keeps its default."""

    prior_weight = ma.fields.Float(validate=POSITIVE)
    base_rate = ma.fields.Float(validate=FRACTION)
    max_negative_age_days = ma.fields.Float(validate=POSITIVE)
    severity_factor = ma.fields.Dict(keys=ma.fields.String(validate=SEVERITIES),
                                     values=ma.fields.Float(validate=NON_NEGATIVE))  # fmt: skip
    cooling_off_days = ma.fields.Dict(keys=ma.fields.String(validate=SEVERITIES),
                                      values=ma.fields.Float(validate=NON_NEGATIVE))  # fmt: skip
    conduct_kinds = ma.fields.Dict(
        keys=ma.fields.String(validate=kinds(CONDUCT_KINDS)),
        values=ma.fields.Nested(ConductKindPolicy),
    )
    rehabilitation_kinds = ma.fields.Dict(
        keys=ma.fields.String(validate=kinds(REHABILITATION_KINDS)),
        values=ma.fields.Nested(RehabilitationKindPolicy),
    )
    verification_factor = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.OneOf(["verified", "pending"])),
        values=ma.fields.Float(validate=FRACTION),
    )
    unsolicited_outreach_factor = ma.fields.Float(validate=NON_NEGATIVE)
    insufficient_evidence_above_u = ma.fields.Float(validate=FRACTION)
    band_thresholds = ma.fields.Nested(BandThresholds)
    eligibility_threshold = ma.fields.Float(validate=FRACTION)

    @ma.validates_schema
    def _thresholds_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        effective = document_of(policy_from(data))["band_thresholds"]
        values = [effective[name] for name in GRADED_BANDS]  # type: ignore[index]
        if any(higher <= lower for higher, lower in pairwise(values)):
            raise ma.ValidationError(
                "Band thresholds must fall in order: "
                "trusted > good_standing > rebuilding > caution.",
                "band_thresholds",
            )
        for kind, numbers in data.get("conduct_kinds", {}).items():
            if "repair_cap" in numbers and CONDUCT_KINDS[kind].repair_cap is None:
                raise ma.ValidationError(
                    f"{kind} is positive: it has no repair cap.", "conduct_kinds"
                )


class PolicyVersionSchema(ma.Schema):
    version = ma.fields.Integer(metadata={"description": "0 is the defaults of TRUST_MODEL.md"})
    created_at = ma.fields.DateTime(allow_none=True)
    recorded_by = ma.fields.String(allow_none=True)
    overrides = ma.fields.Dict()
    policy = ma.fields.Dict(metadata={"description": "Every number, as in force"})


class PolicyQuerySchema(ma.Schema):
    version = ma.fields.Integer(validate=validate.Range(min=0, max=1_000_000))


class SimulationSchema(ma.Schema):
    id = ma.fields.String()
    status = ma.fields.String(metadata={"description": "queued or completed"})
    overrides = ma.fields.Dict()
    result = ma.fields.Dict(
        allow_none=True,
        metadata={"description": "contractors, band_changes, eligibility_changes, changes"},
    )
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
