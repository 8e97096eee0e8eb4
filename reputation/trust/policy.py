"""An agency's scoring policy: every number of TRUST_MODEL.md, with its defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

from reputation.trust.taxonomy import (
    CONDUCT_KINDS,
    COOLING_OFF_DAYS,
    REHABILITATION_KINDS,
    SEVERITY_FACTOR,
    VERIFICATION_FACTOR,
)

BANDS = (
    "insufficient_evidence",
    "trusted",
    "good_standing",
    "rebuilding",
    "caution",
    "do_not_engage",
)


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
