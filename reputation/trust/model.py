"""The trust model `beta-decay-v1`, exactly as TRUST_MODEL.md states it.

Plain data in, plain data out: `assess(evidence, as_of, policy)` is a pure function. The caller
decides which evidence counts (the current version of each event, nothing retracted) and passes
each step's status with the time it was decided, so that any past moment can be recomputed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from reputation.trust.policy import GRADED_BANDS, INSUFFICIENT_EVIDENCE, LOWEST_BAND, Policy
from reputation.trust.taxonomy import CONDUCT_KINDS, Valence

MODEL_VERSION = "beta-decay-v1"
DAY = timedelta(days=1)
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class ConductEvidence:
    """The current version of a conduct event that has not been retracted."""

    id: str
    kind: str
    severity: int
    occurred_at: datetime
    # Earlier versions it supersedes: a step that addresses one of them addresses this one.
    supersedes: frozenset[str] = frozenset()
    # When a dispute overturned it: it counts before that moment, not after (§1).
    counts_until: datetime | None = None

    @property
    def negative(self) -> bool:
        return CONDUCT_KINDS[self.kind].valence is Valence.NEGATIVE

    def counts_at(self, t: datetime) -> bool:
        return self.occurred_at <= t and (self.counts_until is None or t < self.counts_until)


@dataclass(frozen=True)
class StepEvidence:
    """A rehabilitation step with its status now and the moment that status was decided."""

    id: str
    kind: str
    occurred_at: datetime
    status: str = "pending"  # pending, verified or rejected
    decided_at: datetime | None = None
    addresses: str | None = None
    unsolicited: bool = False

    def status_at(self, t: datetime) -> str:
        """Verified or rejected from the moment it was decided; pending before."""
        if self.status == "pending" or (self.decided_at is not None and self.decided_at > t):
            return "pending"
        return self.status


@dataclass(frozen=True)
class Evidence:
    events: tuple[ConductEvidence, ...] = ()
    steps: tuple[StepEvidence, ...] = ()

    def times(self) -> list[datetime]:
        """Every moment at which the evidence changes."""
        moments = [e.occurred_at for e in self.events]
        moments += [e.counts_until for e in self.events if e.counts_until is not None]
        moments += [s.occurred_at for s in self.steps]
        moments += [s.decided_at for s in self.steps if s.decided_at is not None]
        return sorted(set(moments))


@dataclass(frozen=True)
class Contribution:
    """One item's part of r or s at the moment of the assessment (§6)."""

    item_type: str  # conduct_event or rehabilitation_step
    item_id: str
    kind: str
    side: str  # "r" or "s"
    contribution: float
    repair: float = 0.0


@dataclass(frozen=True)
class Opinion:
    r: float
    s: float
    belief: float
    disbelief: float
    uncertainty: float
    trust: float
    band: str


@dataclass(frozen=True)
class Blocker:
    """A condition of the second chance that does not hold (§5), and what would lift it."""

    code: str  # trust_below_threshold, unacknowledged_severe_incident or cooling_off
    detail: str
    event_id: str | None = None
    until: datetime | None = None
    lifted_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class NextStep:
    """A kind of verified evidence, what it would lift, and how much sooner it would help."""

    blocker: str
    kind: str
    addresses_event_id: str | None
    lifts_blocker_now: bool
    eligible_from: date | None
    days_earlier: int | None  # None when it does not bring the date forward


@dataclass(frozen=True)
class Point:
    at: datetime
    trust: float
    uncertainty: float
    band: str


@dataclass(frozen=True)
class Assessment:
    as_of: datetime
    opinion: Opinion
    eligible: bool
    eligible_from: date | None
    blockers: tuple[Blocker, ...]
    explanation: tuple[Contribution, ...]
    next_steps: tuple[NextStep, ...]
    model_version: str = MODEL_VERSION


def _age_days(t: datetime, at: datetime) -> float:
    return (t - at).total_seconds() / SECONDS_PER_DAY


def _decay(age_days: float, half_life_days: float) -> float:
    return math.pow(0.5, age_days / half_life_days)


def _verification(step: StepEvidence, t: datetime, policy: Policy) -> float:
    return policy.verification_factor[step.status_at(t)]


def _addresses(step: StepEvidence, event: ConductEvidence) -> bool:
    return step.addresses is not None and (
        step.addresses == event.id or step.addresses in event.supersedes
    )


def repair(event: ConductEvidence, evidence: Evidence, t: datetime, policy: Policy) -> float:
    """§3: the capped sum of the repair of the steps that address the event, undecayed."""
    total = sum(
        policy.repair_rate[step.kind] * _verification(step, t, policy)
        for step in evidence.steps
        if step.occurred_at <= t and _addresses(step, event)
    )
    return min(policy.repair_cap[event.kind], total)


def _too_old(event: ConductEvidence, t: datetime, policy: Policy) -> bool:
    return event.negative and _age_days(t, event.occurred_at) > policy.max_negative_age_days


def explain(evidence: Evidence, t: datetime, policy: Policy) -> list[Contribution]:
    """§4 item by item: every counting item's contribution to r or s at `t`."""
    items = []
    for event in evidence.events:
        if not event.counts_at(t):
            continue
        weight = policy.conduct_base_weight[event.kind] * policy.severity_factor[event.severity]
        decay = _decay(_age_days(t, event.occurred_at), policy.conduct_half_life_days[event.kind])
        if not event.negative:
            items.append(Contribution("conduct_event", event.id, event.kind, "r", weight * decay))
        elif _too_old(event, t, policy):
            items.append(Contribution("conduct_event", event.id, event.kind, "s", 0.0))
        else:
            repaired = repair(event, evidence, t, policy)
            share = weight * decay * (1 - repaired)
            items.append(Contribution("conduct_event", event.id, event.kind, "s", share, repaired))
    for step in evidence.steps:
        v = _verification(step, t, policy)
        if step.occurred_at > t or v == 0:
            continue
        factor = (
            policy.unsolicited_outreach_factor
            if step.unsolicited and step.kind == "outreach"
            else 1.0
        )
        decay = _decay(_age_days(t, step.occurred_at), policy.step_half_life_days[step.kind])
        share = policy.step_weight[step.kind] * factor * v * decay
        items.append(Contribution("rehabilitation_step", step.id, step.kind, "r", share))
    return items


def band(trust: float, uncertainty: float, policy: Policy) -> str:
    """§5, first match wins."""
    if uncertainty > policy.insufficient_evidence_above_u:
        return INSUFFICIENT_EVIDENCE
    for name, threshold in zip(GRADED_BANDS, policy.band_thresholds, strict=True):
        if trust >= threshold:
            return name
    return LOWEST_BAND


def opinion_of(items: Iterable[Contribution], policy: Policy) -> Opinion:
    """§4: the subjective-logic opinion of the evidence weights r and s."""
    items = list(items)
    r = math.fsum(i.contribution for i in items if i.side == "r")
    s = math.fsum(i.contribution for i in items if i.side == "s")
    total = r + s + policy.prior_weight
    belief, disbelief, uncertainty = r / total, s / total, policy.prior_weight / total
    trust = belief + policy.base_rate * uncertainty
    return Opinion(r, s, belief, disbelief, uncertainty, trust, band(trust, uncertainty, policy))


def opinion(evidence: Evidence, t: datetime, policy: Policy) -> Opinion:
    return opinion_of(explain(evidence, t, policy), policy)


def _counting_negatives(evidence: Evidence, t: datetime, policy: Policy) -> list[ConductEvidence]:
    return [
        e for e in evidence.events if e.counts_at(t) and e.negative and not _too_old(e, t, policy)
    ]


def _acknowledged(event: ConductEvidence, evidence: Evidence, t: datetime) -> bool:
    return any(
        step.kind == "acknowledgement"
        and step.occurred_at <= t
        and step.status_at(t) == "verified"
        and _addresses(step, event)
        for step in evidence.steps
    )


def blockers(
    evidence: Evidence, t: datetime, policy: Policy, current: Opinion | None = None
) -> list[Blocker]:
    """§5: the conditions of the second chance that fail at `t` (none: eligible)."""
    negatives = _counting_negatives(evidence, t, policy)
    if not negatives:
        return []  # no counting negative event: no second chance needed
    current = current or opinion(evidence, t, policy)
    found = []
    if current.trust < policy.eligibility_threshold:
        found.append(
            Blocker(
                "trust_below_threshold",
                f"Trust {current.trust:.3f} is below {policy.eligibility_threshold}.",
                lifted_by=("time", "verified rehabilitation steps", "verified positive conduct"),
            )
        )
    for event in negatives:
        if event.severity >= policy.severe_from and not _acknowledged(event, evidence, t):
            found.append(
                Blocker(
                    "unacknowledged_severe_incident",
                    f"A severity {event.severity} incident has no verified acknowledgement.",
                    event_id=event.id,
                    lifted_by=("acknowledgement",),
                )
            )
    for event in negatives:
        until = event.occurred_at + timedelta(days=policy.cooling_off_days[event.severity])
        if t < until:
            found.append(
                Blocker(
                    "cooling_off",
                    f"The cooling-off period of a severity {event.severity} incident runs on.",
                    event_id=event.id,
                    until=until,
                    lifted_by=("time",),
                )
            )
    return found


def known_at(evidence: Evidence, t: datetime) -> Evidence:
    """The evidence as it stood at `t`: "if nothing changes" projects only this forward."""
    return Evidence(
        events=tuple(
            replace(
                e, counts_until=e.counts_until if e.counts_until and e.counts_until <= t else None
            )
            for e in evidence.events
            if e.occurred_at <= t
        ),
        steps=tuple(
            replace(
                s,
                status=s.status_at(t),
                decided_at=s.decided_at if s.status_at(t) != "pending" else None,
            )
            for s in evidence.steps
            if s.occurred_at <= t
        ),
    )


class _Forecast:
    """The opinion at t + d days with nothing new, in O(number of half-lives) per day.

    With nothing new every item's weight only decays (repair and verification stay as they are)
    until it leaves the evidence (a negative event ageing out), so the items group by half-life:
    sum(c_i * 0.5 ** (d / h)) over a group is (sum c_i) * 0.5 ** (d / h).
    """

    def __init__(self, evidence: Evidence, t: datetime, policy: Policy) -> None:
        self.t, self.policy = t, policy
        self.sums: dict[tuple[str, float], float] = {}
        self.leaving: list[tuple[datetime, str, float, float]] = []  # when, side, half-life, c
        self.negatives = 0
        events = {e.id: e for e in evidence.events}
        steps = {s.id: s for s in evidence.steps}
        for item in explain(evidence, t, policy):
            if item.item_type == "rehabilitation_step":
                half_life = policy.step_half_life_days[steps[item.item_id].kind]
            else:
                event = events[item.item_id]
                half_life = policy.conduct_half_life_days[event.kind]
                if event.negative and not _too_old(event, t, policy):
                    self.negatives += 1
                    # It counts while its age is at most the limit, then not at all.
                    leaves = event.occurred_at + timedelta(days=policy.max_negative_age_days)
                    self.leaving.append((leaves, item.side, half_life, item.contribution))
            key = (item.side, half_life)
            self.sums[key] = self.sums.get(key, 0.0) + item.contribution
        self.leaving.sort()

    def days(self, first: int, last: int) -> Iterable[tuple[int, float, int]]:
        """(d, E, counting negatives) for each whole day from `first` to `last`."""
        sums, pending = dict(self.sums), list(self.leaving)
        negatives = self.negatives
        policy = self.policy
        for d in range(first, last + 1):
            at = self.t + d * DAY
            while pending and pending[0][0] < at:
                _, side, half_life, contribution = pending.pop(0)
                sums[(side, half_life)] -= contribution
                negatives -= 1
            r = s = 0.0
            for (side, half_life), total in sums.items():
                weight = total * math.pow(0.5, d / half_life)
                if side == "r":
                    r += weight
                else:
                    s += weight
            trust = (r + policy.base_rate * policy.prior_weight) / (r + s + policy.prior_weight)
            yield d, trust, negatives


def eligible_from(evidence: Evidence, t: datetime, policy: Policy) -> date | None:
    """§6: the first whole day d >= 1 on which, with nothing new, the contractor is eligible at
    t + d days; None when eligible now or never within the projection."""
    if not blockers(evidence, t, policy):
        return None
    evidence = known_at(evidence, t)
    negatives = _counting_negatives(evidence, t, policy)
    # No day before every cooling-off has run can qualify, nor, while an unacknowledged severe
    # incident still counts, any day before it ages out (nothing new can acknowledge it).
    bounds = [
        e.occurred_at + timedelta(days=policy.cooling_off_days[e.severity]) for e in negatives
    ]
    bounds += [
        e.occurred_at + timedelta(days=policy.max_negative_age_days) + timedelta(microseconds=1)
        for e in negatives
        if e.severity >= policy.severe_from and not _acknowledged(e, evidence, t)
    ]
    first = max(1, math.ceil(_age_days(max(bounds), t)))
    for d, trust, remaining in _Forecast(evidence, t, policy).days(first, policy.projection_days):
        # The fast forecast finds the day; the reference computation confirms it.
        if (remaining == 0 or trust >= policy.eligibility_threshold - 1e-9) and not blockers(
            evidence, t + d * DAY, policy
        ):
            return (t + d * DAY).date()
    return None


def _with_verified_step(
    evidence: Evidence, kind: str, event: ConductEvidence | None, t: datetime
) -> Evidence:
    step = StepEvidence(
        id=f"hypothetical-{kind}",
        kind=kind,
        occurred_at=t,
        status="verified",
        decided_at=t,
        addresses=event.id if event is not None else None,
        unsolicited=kind == "outreach",
    )
    return replace(evidence, steps=(*evidence.steps, step))


def next_steps(
    evidence: Evidence, t: datetime, policy: Policy, found: list[Blocker], when: date | None
) -> list[NextStep]:
    """§6: for each blocker time alone does not lift, the kinds of verified evidence that would
    lift it, and how many days earlier each would make `eligible_from`."""
    steps = []
    events = {e.id: e for e in evidence.events}
    codes = {b.code for b in found}
    weights = {i.item_id: i.contribution for i in explain(evidence, t, policy)}
    heaviest = max(
        _counting_negatives(evidence, t, policy),
        key=lambda e: weights.get(e.id, 0.0),
        default=None,
    )
    candidates: list[tuple[str, str, ConductEvidence | None]] = []
    for blocker in found:
        if blocker.code == "unacknowledged_severe_incident" and blocker.event_id:
            candidates.append((blocker.code, "acknowledgement", events[blocker.event_id]))
    if "trust_below_threshold" in codes:
        candidates += [
            ("trust_below_threshold", kind, heaviest) for kind in sorted(policy.step_weight)
        ]
    for code, kind, event in candidates:
        hypothetical = _with_verified_step(evidence, kind, event, t)
        remaining = {b.code for b in blockers(hypothetical, t, policy)}
        sooner = eligible_from(hypothetical, t, policy)
        if not blockers(hypothetical, t, policy):
            sooner = t.date()
        days = (
            (when - sooner).days
            if when is not None and sooner is not None and sooner < when
            else None
        )
        if when is None and sooner is not None:
            days = None  # from never to a date: the date says it
        steps.append(
            NextStep(
                blocker=code,
                kind=kind,
                addresses_event_id=event.id if event is not None else None,
                lifts_blocker_now=code not in remaining,
                eligible_from=sooner,
                days_earlier=days,
            )
        )
    return steps


def assess(evidence: Evidence, t: datetime, policy: Policy | None = None) -> Assessment:
    """Everything about one contractor at `t`: opinion, eligibility, explanation, next steps."""
    policy = policy or Policy()
    items = explain(evidence, t, policy)
    current = opinion_of(items, policy)
    found = blockers(evidence, t, policy, current)
    when = eligible_from(evidence, t, policy) if found else None
    return Assessment(
        as_of=t,
        opinion=current,
        eligible=not found,
        eligible_from=when,
        blockers=tuple(found),
        explanation=tuple(items),
        next_steps=tuple(next_steps(evidence, t, policy, found, when)) if found else (),
    )


def _point(evidence: Evidence, at: datetime, policy: Policy) -> Point:
    o = opinion(evidence, at, policy)
    return Point(at, o.trust, o.uncertainty, o.band)


def trajectory(evidence: Evidence, t: datetime, policy: Policy | None = None) -> list[Point]:
    """§6: the opinion at every evidence time and every week from the first evidence to `t`."""
    policy = policy or Policy()
    moments = [m for m in evidence.times() if m <= t]
    if not moments:
        return [_point(evidence, t, policy)]
    step = timedelta(days=policy.trajectory_sample_days)
    samples, at = set(moments), moments[0]
    while at < t:
        samples.add(at)
        at += step
    samples.add(t)
    return [_point(evidence, at, policy) for at in sorted(samples)]


def projection(evidence: Evidence, t: datetime, policy: Policy | None = None) -> list[Point]:
    """§6: the opinion every week for the next seven years if nothing new happens."""
    policy = policy or Policy()
    step = timedelta(days=policy.trajectory_sample_days)
    weeks = policy.projection_days // policy.trajectory_sample_days
    known = known_at(evidence, t)
    return [_point(known, t + i * step, policy) for i in range(1, weeks + 1)]
