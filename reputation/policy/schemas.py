"""The policy document, validated: positive half-lives, factors in range, thresholds in order,
known kinds only; the error names the field."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import marshmallow as ma
from marshmallow import validate

from reputation.api.fields import KeyedDict, StrictNumber
from reputation.trust.policy import GRADED_BANDS, document_of, policy_from
from reputation.trust.taxonomy import CONDUCT_KINDS, REHABILITATION_KINDS

POSITIVE = validate.Range(min=0, min_inclusive=False, max=1e6)
NON_NEGATIVE = validate.Range(min=0, max=1e6)
FRACTION = validate.Range(min=0, max=1)
SEVERITIES = ["1", "2", "3", "4", "5"]
UNKNOWN_KIND = "Unknown kind: {input}. Allowed: {choices}."


class PositiveKindPolicy(ma.Schema):
    """A positive conduct kind's numbers: nothing repairs it, so it has no repair cap."""

    half_life_days = StrictNumber(validate=POSITIVE)
    base_weight = StrictNumber(validate=NON_NEGATIVE)


class ConductKindPolicy(PositiveKindPolicy):
    repair_cap = StrictNumber(validate=FRACTION)


class RehabilitationKindPolicy(ma.Schema):
    weight = StrictNumber(validate=NON_NEGATIVE)
    repair_rate = StrictNumber(validate=FRACTION)
    half_life_days = StrictNumber(validate=POSITIVE)


class BandThresholds(ma.Schema):
    """Each band's lower bound of E; they fall in order, trusted > good_standing > rebuilding >
    caution, counting the defaults of the bands left out (TRUST_MODEL.md)."""

    trusted = StrictNumber(validate=FRACTION)
    good_standing = StrictNumber(validate=FRACTION)
    rebuilding = StrictNumber(validate=FRACTION)
    caution = StrictNumber(validate=FRACTION)


def per_severity() -> KeyedDict:
    return KeyedDict(
        SEVERITIES, StrictNumber(validate=NON_NEGATIVE), error="Severities are 1 to 5."
    )


class PolicySchema(ma.Schema):
    """Any subset of the numbers; what is left out keeps its default."""

    prior_weight = StrictNumber(validate=POSITIVE)
    base_rate = StrictNumber(validate=FRACTION)
    max_negative_age_days = StrictNumber(validate=POSITIVE)
    severity_factor = per_severity()
    cooling_off_days = per_severity()
    # Checked as ConductKindPolicy, and a positive kind's repair cap refused below, naming
    # conduct_kinds; the document gives positive kinds the narrower schema that says so.
    conduct_kinds = KeyedDict(
        sorted(CONDUCT_KINDS),
        ma.fields.Nested(ConductKindPolicy),
        error=UNKNOWN_KIND,
        documented={
            name: ma.fields.Nested(PositiveKindPolicy)
            for name, kind in CONDUCT_KINDS.items()
            if kind.repair_cap is None
        },
    )
    rehabilitation_kinds = KeyedDict(
        sorted(REHABILITATION_KINDS), ma.fields.Nested(RehabilitationKindPolicy), error=UNKNOWN_KIND
    )
    verification_factor = KeyedDict(
        ["verified", "pending"],
        StrictNumber(validate=FRACTION),
        error="Verification states are verified and pending.",
    )
    unsolicited_outreach_factor = StrictNumber(validate=NON_NEGATIVE)
    insufficient_evidence_above_u = StrictNumber(validate=FRACTION)
    band_thresholds = ma.fields.Nested(
        BandThresholds,
        metadata={
            "description": "In order: trusted > good_standing > rebuilding > caution, the "
            "defaults counting for the bands left out"
        },
    )
    eligibility_threshold = StrictNumber(validate=FRACTION)

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
        metadata={
            "description": "as_of, policy_version (the version in force it was compared "
            "with), contractors, band_changes, eligibility_changes, changes"
        },
    )
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
