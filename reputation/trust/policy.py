"""An agency's scoring policy: every number of TRUST_MODEL.md, with its defaults."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from reputation.trust.taxonomy import (
    CONDUCT_KINDS,
    COOLING_OFF_DAYS,
    REHABILITATION_KINDS,
    SEVERITY_FACTOR,
    VERIFICATION_FACTOR,
)

# §5, in the order they are tried: too uncertain first, then each threshold of
# `Policy.band_thresholds` from the highest, and below the last of them, the last band.
INSUFFICIENT_EVIDENCE = "insufficient_evidence"
GRADED_BANDS = ("trusted", "good_standing", "rebuilding", "caution")
LOWEST_BAND = "do_not_engage"
BANDS = (INSUFFICIENT_EVIDENCE, *GRADED_BANDS, LOWEST_BAND)


@dataclass(frozen=True)
class Policy:
    """The numbers the model uses. Every field may be overridden by an agency (TRUST_MODEL.md)."""

    prior_weight: float = 2.0  # W
    base_rate: float = 0.5  # a
    max_negative_age_days: float = 2555.0
    severity_factor: dict[int, float] = field(default_factory=lambda: dict(SEVERITY_FACTOR))
    cooling_off_days: dict[int, float] = field(default_factory=lambda: dict(COOLING_OFF_DAYS))
    conduct_half_life_days: dict[str, float] = field(
        default_factory=lambda: {k.name: k.half_life_days for k in CONDUCT_KINDS.values()}
    )
    conduct_base_weight: dict[str, float] = field(
        default_factory=lambda: {k.name: k.base_weight for k in CONDUCT_KINDS.values()}
    )
    repair_cap: dict[str, float] = field(
        default_factory=lambda: {
            k.name: k.repair_cap for k in CONDUCT_KINDS.values() if k.repair_cap is not None
        }
    )
    step_weight: dict[str, float] = field(
        default_factory=lambda: {k.name: k.weight for k in REHABILITATION_KINDS.values()}
    )
    repair_rate: dict[str, float] = field(
        default_factory=lambda: {k.name: k.repair_rate for k in REHABILITATION_KINDS.values()}
    )
    step_half_life_days: dict[str, float] = field(
        default_factory=lambda: {k.name: k.half_life_days for k in REHABILITATION_KINDS.values()}
    )
    verification_factor: dict[str, float] = field(default_factory=lambda: dict(VERIFICATION_FACTOR))
    unsolicited_outreach_factor: float = 2.0
    # Bands, first match wins: u above the first, then E at or above each threshold in turn.
    insufficient_evidence_above_u: float = 0.8
    band_thresholds: tuple[float, float, float, float] = (0.70, 0.55, 0.40, 0.25)
    eligibility_threshold: float = 0.45
    severe_from: int = 4  # severities from which a verified acknowledgement is required
    projection_days: int = 2557
    trajectory_sample_days: int = 7


def document_of(policy: Policy) -> dict[str, object]:
    """The policy as the API shows it: every number, by name."""
    return {
        "prior_weight": policy.prior_weight,
        "base_rate": policy.base_rate,
        "max_negative_age_days": policy.max_negative_age_days,
        "severity_factor": {str(k): v for k, v in sorted(policy.severity_factor.items())},
        "cooling_off_days": {str(k): v for k, v in sorted(policy.cooling_off_days.items())},
        "conduct_kinds": {
            kind: {
                "half_life_days": policy.conduct_half_life_days[kind],
                "base_weight": policy.conduct_base_weight[kind],
                **({"repair_cap": policy.repair_cap[kind]} if kind in policy.repair_cap else {}),
            }
            for kind in sorted(policy.conduct_half_life_days)
        },
        "rehabilitation_kinds": {
            kind: {
                "weight": policy.step_weight[kind],
                "repair_rate": policy.repair_rate[kind],
                "half_life_days": policy.step_half_life_days[kind],
            }
            for kind in sorted(policy.step_weight)
        },
        "verification_factor": {
            k: v for k, v in policy.verification_factor.items() if k != "rejected"
        },
        "unsolicited_outreach_factor": policy.unsolicited_outreach_factor,
        "insufficient_evidence_above_u": policy.insufficient_evidence_above_u,
        "band_thresholds": dict(zip(GRADED_BANDS, policy.band_thresholds, strict=True)),
        "eligibility_threshold": policy.eligibility_threshold,
    }


def policy_from(overrides: dict[str, Any]) -> Policy:
    """The defaults with an agency's overrides (a partial document, already validated)."""
    base = Policy()
    conduct = overrides.get("conduct_kinds", {})
    steps = overrides.get("rehabilitation_kinds", {})

    def per_kind(current: dict[str, float], kinds: dict[str, Any], name: str) -> dict[str, float]:
        return {**current, **{k: v[name] for k, v in kinds.items() if name in v}}

    thresholds = {**dict(zip(GRADED_BANDS, base.band_thresholds, strict=True)),
                  **overrides.get("band_thresholds", {})}  # fmt: skip
    return replace(
        base,
        prior_weight=overrides.get("prior_weight", base.prior_weight),
        base_rate=overrides.get("base_rate", base.base_rate),
        max_negative_age_days=overrides.get("max_negative_age_days", base.max_negative_age_days),
        severity_factor={
            **base.severity_factor,
            **{int(k): v for k, v in overrides.get("severity_factor", {}).items()},
        },
        cooling_off_days={
            **base.cooling_off_days,
            **{int(k): v for k, v in overrides.get("cooling_off_days", {}).items()},
        },
        conduct_half_life_days=per_kind(base.conduct_half_life_days, conduct, "half_life_days"),
        conduct_base_weight=per_kind(base.conduct_base_weight, conduct, "base_weight"),
        repair_cap=per_kind(base.repair_cap, conduct, "repair_cap"),
        step_weight=per_kind(base.step_weight, steps, "weight"),
        repair_rate=per_kind(base.repair_rate, steps, "repair_rate"),
        step_half_life_days=per_kind(base.step_half_life_days, steps, "half_life_days"),
        verification_factor={
            **base.verification_factor,
            **overrides.get("verification_factor", {}),
        },
        unsolicited_outreach_factor=overrides.get(
            "unsolicited_outreach_factor", base.unsolicited_outreach_factor
        ),
        insufficient_evidence_above_u=overrides.get(
            "insufficient_evidence_above_u", base.insufficient_evidence_above_u
        ),
        band_thresholds=tuple(thresholds[name] for name in GRADED_BANDS),
        eligibility_threshold=overrides.get("eligibility_threshold", base.eligibility_threshold),
    )
