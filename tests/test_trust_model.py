"""The trust model, TRUST_MODEL.md to the letter: its worked examples, vectors computed by hand,
and the properties that must hold for any evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reputation.trust.model import (
    ConductEvidence,
    Evidence,
    StepEvidence,
    assess,
    explain,
    opinion,
    projection,
    trajectory,
)
from reputation.trust.policy import Policy
from reputation.trust.taxonomy import CONDUCT_KINDS, REHABILITATION_KINDS

T0 = datetime(2024, 1, 1, tzinfo=UTC)
POLICY = Policy()


def days(n: float) -> timedelta:
    return timedelta(days=n)


def incident(kind="rudeness", severity=2, at=T0, id="e1", **kw) -> ConductEvidence:
    return ConductEvidence(id=id, kind=kind, severity=severity, occurred_at=at, **kw)


def step(kind, at, status="verified", addresses="e1", id=None, unsolicited=False, decided=None):
    return StepEvidence(
        id=id or f"{kind}-{at.isoformat()}",
        kind=kind,
        occurred_at=at,
        status=status,
        decided_at=decided if decided is not None else (at if status != "pending" else None),
        addresses=addresses,
        unsolicited=unsolicited,
    )


# §5's worked examples


def test_a_moderate_incident_alone_is_eligible_after_about_two_years_and_two_months():
    evidence = Evidence(events=(incident(),))
    result = assess(evidence, T0 + days(1))
    assert not result.eligible
    years = (result.eligible_from - T0.date()).days / 365.25
    assert 2.1 < years < 2.25
    # By hand: E = 1 / (s + 2) >= 0.45 once s = 0.5 ** (d / 365) <= 2 / 9, d >= 792.1 days.
    assert (result.eligible_from - T0.date()).days == 793


def test_acknowledgement_and_unsolicited_outreach_make_it_thirty_days():
    evidence = Evidence(
        events=(incident(),),
        steps=(
            step("acknowledgement", T0 + days(1)),
            step("outreach", T0 + days(2), unsolicited=True),
        ),
    )
    result = assess(evidence, T0 + days(3))
    assert [b.code for b in result.blockers] == ["cooling_off"]  # trust is already enough
    assert (result.eligible_from - T0.date()).days == 30


# Vectors computed by hand


def test_no_evidence_is_unknown_not_bad():
    result = assess(Evidence(), T0)
    o = result.opinion
    assert (o.trust, o.uncertainty, o.band, result.eligible) == (
        0.5,
        1.0,
        "insufficient_evidence",
        True,
    )
    assert result.eligible_from is None


def test_one_fresh_commendation():
    o = opinion(Evidence(events=(incident("commitment_kept"),)), T0, POLICY)
    # r = 1 (weight 1 x factor 1, no decay yet): b = 1/3, u = 2/3, E = 1/3 + 1/3.
    assert (o.r, o.s) == (1.0, 0.0)
    assert o.trust == pytest.approx(2 / 3)
    assert o.band == "good_standing"


def test_one_year_old_moderate_rudeness_counts_half():
    o = opinion(Evidence(events=(incident(),)), T0 + days(365), POLICY)
    assert o.s == pytest.approx(0.5)
    assert o.trust == pytest.approx(1 / 2.5)  # (r + 1) / (r + s + 2)
    assert o.band == "rebuilding"


def test_pending_step_counts_a_quarter_and_repairs_a_quarter():
    evidence = Evidence(events=(incident(),), steps=(step("remediation", T0, status="pending"),))
    items = {i.item_id: i for i in explain(evidence, T0, POLICY)}
    assert items["e1"].repair == pytest.approx(0.2 * 0.25)
    assert items["e1"].contribution == pytest.approx(1 - 0.05)
    assert items[evidence.steps[0].id].contribution == pytest.approx(1.0 * 0.25)


def test_a_step_verified_later_was_pending_until_then():
    verified_later = step("remediation", T0, decided=T0 + days(10))
    evidence = Evidence(events=(incident(),), steps=(verified_later,))
    before = {i.item_id: i for i in explain(evidence, T0 + days(5), POLICY)}
    after = {i.item_id: i for i in explain(evidence, T0 + days(15), POLICY)}
    assert before["e1"].repair == pytest.approx(0.05)
    assert after["e1"].repair == pytest.approx(0.2)


def test_a_rejected_step_is_no_evidence():
    evidence = Evidence(events=(incident(),), steps=(step("remediation", T0, status="rejected"),))
    assert [i.item_id for i in explain(evidence, T0, POLICY)] == ["e1"]


def test_repair_is_capped_by_the_kind_of_incident():
    many = tuple(step("probation_completed", T0 + days(i), id=f"p{i}") for i in range(1, 6))
    burned = incident("unethical_conduct", 5)
    items = {i.item_id: i for i in explain(Evidence((burned,), many), T0 + days(10), POLICY)}
    assert items["e1"].repair == 0.25  # the burned bridge rebuilds slowly
    items = {i.item_id: i for i in explain(Evidence((incident(),), many), T0 + days(10), POLICY)}
    assert items["e1"].repair == 0.6


def test_a_step_addressing_an_earlier_version_repairs_the_amendment():
    amended = incident(id="e2", supersedes=frozenset({"e1"}))
    evidence = Evidence(events=(amended,), steps=(step("remediation", T0, addresses="e1"),))
    assert {i.item_id: i for i in explain(evidence, T0, POLICY)}["e2"].repair == 0.2


def test_negative_evidence_older_than_seven_years_counts_for_nothing():
    old = Evidence(events=(incident("unethical_conduct", 5),))
    result = assess(old, T0 + days(2556))
    assert result.opinion.s == 0.0
    assert result.eligible  # it no longer needs a second chance


def test_an_overturned_event_counts_until_it_was_overturned():
    disputed = Evidence(events=(incident(counts_until=T0 + days(30)),))
    assert opinion(disputed, T0 + days(29), POLICY).s > 0
    assert opinion(disputed, T0 + days(30), POLICY).s == 0


def test_a_severe_incident_needs_a_verified_acknowledgement():
    severe = incident("costly_mistake", 4)
    result = assess(Evidence((severe,)), T0 + days(400))
    assert "unacknowledged_severe_incident" in {b.code for b in result.blockers}
    ack = [n for n in result.next_steps if n.blocker == "unacknowledged_severe_incident"]
    assert [(n.kind, n.lifts_blocker_now) for n in ack] == [("acknowledgement", True)]
    pending = Evidence((severe,), (step("acknowledgement", T0 + days(1), status="pending"),))
    blocked = assess(pending, T0 + days(400))
    assert "unacknowledged_severe_incident" in {b.code for b in blocked.blockers}
    # Time alone lifts it only when the incident ages out of the evidence, after seven years.
    assert blocked.eligible_from == (T0 + days(2556)).date()


def test_next_steps_say_how_much_sooner_each_kind_of_evidence_helps():
    result = assess(Evidence((incident(),)), T0 + days(40))
    steps = {n.kind: n for n in result.next_steps if n.blocker == "trust_below_threshold"}
    assert set(steps) == set(REHABILITATION_KINDS)
    probation = steps["probation_completed"]
    assert probation.lifts_blocker_now
    assert probation.days_earlier == (result.eligible_from - probation.eligible_from).days > 0


def test_trajectory_and_projection():
    evidence = Evidence((incident(),), (step("acknowledgement", T0 + days(10)),))
    points = trajectory(evidence, T0 + days(30))
    assert points[0].at == T0 and points[-1].at == T0 + days(30)
    assert T0 + days(10) in {p.at for p in points}
    future = projection(evidence, T0 + days(30))
    assert len(future) == 365  # weekly for seven years
    assert future[-1].trust > future[0].trust  # the incident fades


# Properties, for any evidence

KINDS = sorted(CONDUCT_KINDS)
STEP_KINDS = sorted(REHABILITATION_KINDS)
moments = st.integers(min_value=0, max_value=3000).map(lambda d: T0 + days(d))


@st.composite
def evidence_sets(draw) -> Evidence:
    events = tuple(
        ConductEvidence(
            f"e{i}", draw(st.sampled_from(KINDS)), draw(st.integers(1, 5)), draw(moments)
        )
        for i in range(draw(st.integers(0, 6)))
    )
    steps = tuple(
        StepEvidence(
            f"s{i}",
            draw(st.sampled_from(STEP_KINDS)),
            draw(moments),
            draw(st.sampled_from(["pending", "verified", "rejected"])),
            draw(moments),
            draw(st.sampled_from([None, *[e.id for e in events]])),
            draw(st.booleans()),
        )
        for i in range(draw(st.integers(0, 6)))
    )
    return Evidence(events, steps)


@settings(max_examples=200, deadline=None)
@given(evidence_sets(), moments)
def test_opinion_is_well_formed_and_explained_exactly(evidence, t):
    items = explain(evidence, t, POLICY)
    o = opinion(evidence, t, POLICY)
    assert 0 <= o.trust <= 1 and 0 <= o.uncertainty <= 1
    assert o.belief + o.disbelief + o.uncertainty == pytest.approx(1.0, abs=1e-12)
    assert sum(i.contribution for i in items if i.side == "r") == pytest.approx(o.r, abs=1e-12)
    assert sum(i.contribution for i in items if i.side == "s") == pytest.approx(o.s, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(evidence_sets(), st.sampled_from(STEP_KINDS), st.booleans(), moments)
def test_a_verified_step_never_lowers_trust(evidence, kind, unsolicited, t):
    addressed = evidence.events[0].id if evidence.events else None
    extra = StepEvidence("new", kind, t, "verified", t, addressed, unsolicited)
    with_step = Evidence(evidence.events, (*evidence.steps, extra))
    assert opinion(with_step, t, POLICY).trust >= opinion(evidence, t, POLICY).trust - 1e-12


NEGATIVE_KINDS = [k for k in KINDS if CONDUCT_KINDS[k].valence == "negative"]


@settings(max_examples=200, deadline=None)
@given(evidence_sets(), st.sampled_from(NEGATIVE_KINDS), st.integers(1, 5), moments)
def test_a_negative_event_never_raises_trust(evidence, kind, severity, t):
    with_event = Evidence(
        (*evidence.events, ConductEvidence("new", kind, severity, t)), evidence.steps
    )
    assert opinion(with_event, t, POLICY).trust <= opinion(evidence, t, POLICY).trust + 1e-12


def negative_weights(evidence, at):
    return {i.item_id: i.contribution for i in explain(evidence, at, POLICY) if i.side == "s"}


@settings(max_examples=200, deadline=None)
@given(evidence_sets(), moments, st.integers(0, 3000))
def test_ageing_never_makes_negative_evidence_weigh_more(evidence, t, later):
    # A step rejected meanwhile takes back the repair it gave while pending (the next test);
    # time alone, and steps verified meanwhile, never make an event heavier.
    assume(
        not any(
            s.status_at(t + days(later)) == "rejected" != s.status_at(t) for s in evidence.steps
        )
    )
    now, then = negative_weights(evidence, t), negative_weights(evidence, t + days(later))
    for item_id, weight in now.items():
        assert then.get(item_id, 0.0) <= weight + 1e-12


def test_a_rejected_step_takes_back_the_repair_it_gave_while_pending():
    t = datetime(2024, 1, 1, tzinfo=UTC)
    event = ConductEvidence("e0", "blame_shifting", 1, t)
    step = StepEvidence("s0", "acknowledgement", t, "rejected", t + days(1), "e0")
    evidence, alone = Evidence((event,), (step,)), Evidence((event,), ())
    assert negative_weights(evidence, t)["e0"] < negative_weights(alone, t)["e0"]
    assert negative_weights(evidence, t + days(1)) == negative_weights(alone, t + days(1))


def reference_eligible_from(evidence, t):
    """§6 read literally: try every whole day in turn with the full computation."""
    from reputation.trust.model import blockers, known_at

    if not blockers(evidence, t, POLICY):
        return None
    known = known_at(evidence, t)
    for d in range(1, POLICY.projection_days + 1):
        if not blockers(known, t + days(d), POLICY):
            return (t + days(d)).date()
    return None


@settings(max_examples=25, deadline=None)
@given(evidence_sets(), moments)
def test_the_fast_forecast_finds_the_same_day_as_the_literal_reading(evidence, t):
    from reputation.trust.model import eligible_from

    assert eligible_from(evidence, t, POLICY) == reference_eligible_from(evidence, t)
