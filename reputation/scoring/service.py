"""Recompute a contractor's trust from the stored evidence, store it, and read it back."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, text, union_all
from sqlalchemy.orm import undefer

from reputation import clock, jobs
from reputation.conduct.models import ACTIVE, OVERTURNED, ConductEvent
from reputation.contractors.models import Contractor
from reputation.extensions import db
from reputation.outbox.service import enqueue_after_commit, publish_event
from reputation.policy.models import PolicySimulation
from reputation.policy.service import policy_in_force
from reputation.rehabilitation.models import RehabilitationStep
from reputation.scoring.models import TrajectoryPoint, TrustSnapshot
from reputation.scoring.schemas import AssessmentSchema
from reputation.tenancy.lookup import find
from reputation.tenancy.scope import current_agency_id
from reputation.trust import model
from reputation.trust.policy import Policy, policy_from


def load_evidence(contractor: Contractor) -> model.Evidence:
    """The model's evidence: the current version of every unretracted event (with the ids of
    the versions it supersedes) and every step with the moment it was decided."""
    rows = db.session.scalars(
        select(ConductEvent).where(
            ConductEvent.agency_id == contractor.agency_id,
            ConductEvent.contractor_id == contractor.id,
        )
    ).all()
    by_id = {row.id: row for row in rows}

    def earlier_versions(row: ConductEvent) -> frozenset[str]:
        ids, current = set(), row
        while current.supersedes_id is not None and current.supersedes_id in by_id:
            ids.add(str(current.supersedes_id))
            current = by_id[current.supersedes_id]
        return frozenset(ids)

    events = tuple(
        model.ConductEvidence(
            id=str(row.id),
            kind=row.kind,
            severity=row.severity,
            occurred_at=row.occurred_at,
            supersedes=earlier_versions(row),
            counts_until=row.status_changed_at if row.status == OVERTURNED else None,
        )
        for row in rows
        if row.status in (ACTIVE, OVERTURNED)
    )
    steps = tuple(
        model.StepEvidence(
            id=str(step.id),
            kind=step.kind,
            occurred_at=step.occurred_at,
            status=step.status,
            decided_at=step.verified_at,
            addresses=str(step.addresses_event_id) if step.addresses_event_id else None,
            unsolicited=step.unsolicited,
        )
        for step in db.session.scalars(
            select(RehabilitationStep).where(
                RehabilitationStep.agency_id == contractor.agency_id,
                RehabilitationStep.contractor_id == contractor.id,
            )
        )
    )
    return model.Evidence(events, steps)


def evidence_watermark(contractor: Contractor) -> datetime | None:
    """The latest change to the contractor's evidence: recorded, retracted, amended, verified."""
    return evidence_watermarks([contractor.id]).get(contractor.id)


def evidence_watermarks(contractor_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """`evidence_watermark` of each of these contractors (those with evidence), in one query
    for them all (each page of the portal and the API that shows an assessment asks)."""
    agency_id = current_agency_id()
    latest: dict[uuid.UUID, datetime] = {}
    rows = db.session.execute(
        union_all(
            *(
                select(table.contractor_id, func.max(column))
                .where(table.agency_id == agency_id, table.contractor_id.in_(contractor_ids))
                .group_by(table.contractor_id)
                for table, column in (
                    (ConductEvent, ConductEvent.recorded_at),
                    (ConductEvent, ConductEvent.status_changed_at),
                    (RehabilitationStep, RehabilitationStep.recorded_at),
                    (RehabilitationStep, RehabilitationStep.verified_at),
                )
            )
        )
    )
    for contractor_id, moment in rows:
        if moment is not None and (contractor_id not in latest or moment > latest[contractor_id]):
            latest[contractor_id] = moment
    return latest


def _plain(value: Any) -> Any:
    """Model results as JSON: dataclasses as objects, times as ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def recompute(
    contractor: Contractor, policy_in_use: tuple[Policy, int] | None = None
) -> TrustSnapshot:
    """Assess the contractor now and store the snapshot and trajectory.

    Idempotent: the same evidence and time give the same numbers. Emits `trajectory.updated`,
    and `assessment.changed` when the band or eligibility moved.
    """
    _one_recompute_at_a_time(contractor)
    now = clock.now()
    policy, policy_version = policy_in_use or policy_in_force()
    watermark = evidence_watermark(contractor)
    evidence = load_evidence(contractor)
    result = model.assess(evidence, now, policy)
    snapshot = db.session.get(TrustSnapshot, (contractor.agency_id, contractor.id))
    before = (snapshot.band, snapshot.eligible) if snapshot else None
    if snapshot is None:
        snapshot = TrustSnapshot(contractor_id=contractor.id)
        db.session.add(snapshot)
    _store(snapshot, result, policy_version)
    snapshot.computed_at, snapshot.evidence_watermark = now, watermark
    snapshot.projection = _plain(model.projection(evidence, now, policy))
    db.session.execute(
        delete(TrajectoryPoint).where(TrajectoryPoint.contractor_id == contractor.id)
    )
    db.session.add_all(
        TrajectoryPoint(
            contractor_id=contractor.id,
            at=p.at,
            trust=p.trust,
            uncertainty=p.uncertainty,
            band=p.band,
        )
        for p in model.trajectory(evidence, now, policy)
    )
    db.session.flush()
    data = AssessmentSchema().dump(snapshot)
    publish_event("trajectory.updated", data)
    if before != (snapshot.band, snapshot.eligible):
        # `previous` is [band, eligible] before the change, as it always was; null at first.
        publish_event("assessment.changed", {**data, "previous": list(before) if before else None})
    return snapshot


def _store(snapshot: TrustSnapshot, result: model.Assessment, policy_version: int) -> None:
    """The model's result on the snapshot, as the assessment schema shows it."""
    opinion = result.opinion
    snapshot.model_version, snapshot.policy_version = result.model_version, policy_version
    snapshot.trust, snapshot.belief = opinion.trust, opinion.belief
    snapshot.disbelief, snapshot.uncertainty = opinion.disbelief, opinion.uncertainty
    snapshot.r, snapshot.s, snapshot.band = opinion.r, opinion.s, opinion.band
    snapshot.eligible, snapshot.eligible_from = result.eligible, result.eligible_from
    snapshot.blockers = _plain(result.blockers)
    snapshot.next_steps = _plain(result.next_steps)
    snapshot.explanation = _plain(result.explanation)


def _one_recompute_at_a_time(contractor: Contractor) -> None:
    """Wait until no other transaction is recomputing this contractor, and hold them off until
    this one ends: a recompute asked for while one runs can start on another worker, and both would
    write the same snapshot. (SQLite has one writer at a time anyway.)"""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"recompute:{contractor.agency_id}:{contractor.id}"},
        )


def recompute_agency(batch: int = 500) -> int:
    """Recompute every contractor of the agency in scope, since scores move with time alone.
    Returns how many were recomputed.

    Reads contractors batch by batch, and commits each one as soon as it is recomputed: a
    recompute holds its contractor's lock until it commits, and a live recompute of that
    contractor must not wait for the rest of a batch."""
    done, after = 0, None
    policy_in_use = policy_in_force()  # one read for the whole agency
    while True:
        statement = select(Contractor).order_by(Contractor.id).limit(batch)
        if after is not None:
            statement = statement.where(Contractor.id > after)
        contractors = db.session.scalars(statement).all()
        if not contractors:
            return done
        after = contractors[-1].id
        for contractor in contractors:
            recompute(contractor, policy_in_use)
            db.session.commit()
        done += len(contractors)


def queue_sweep(batch: int = 500) -> int:
    """Queue the recompute of every contractor of the agency in scope, as `bulk` jobs of `batch`
    contractors each, so that every worker takes a share of a large agency. Returns how many
    contractors were queued."""
    day = clock.now().date().isoformat()
    queued, after = 0, None
    while True:
        statement = select(Contractor.id).order_by(Contractor.id).limit(batch)
        if after is not None:
            statement = statement.where(Contractor.id > after)
        ids = db.session.scalars(statement).all()
        if not ids:
            return queued
        enqueue_after_commit(
            jobs.RECOMPUTE_CONTRACTORS,
            job_id=f"sweep-{day}-{ids[0]}",
            contractor_ids=[str(contractor_id) for contractor_id in ids],
        )
        after, queued = ids[-1], queued + len(ids)


def recompute_contractors(contractor_ids: list[uuid.UUID]) -> int:
    """Recompute these contractors of the agency in scope, committing each one as it is done (see
    `recompute_agency`). Returns how many there were."""
    policy_in_use = policy_in_force()  # one read for the whole batch
    done = 0
    for contractor_id in contractor_ids:
        contractor = find(Contractor, contractor_id)
        if contractor is not None:
            recompute(contractor, policy_in_use)
            db.session.commit()
            done += 1
    return done


def snapshot_of(contractor: Contractor) -> TrustSnapshot | None:
    """The contractor's stored assessment, its projection too (deferred only for lists)."""
    return db.session.get(
        TrustSnapshot,
        (contractor.agency_id, contractor.id),
        options=[undefer(TrustSnapshot.projection)],
    )


def current_assessment(contractor: Contractor) -> TrustSnapshot:
    """The stored assessment, `pending` when evidence changed since it was computed; before the
    first computation, the opinion of no evidence (not stored), pending."""
    snapshot = snapshot_of(contractor)
    if snapshot is None:
        policy, policy_version = policy_in_force()
        snapshot = TrustSnapshot(agency_id=contractor.agency_id, contractor_id=contractor.id)
        _store(snapshot, model.assess(model.Evidence(), clock.now(), policy), policy_version)
        snapshot.pending = True
        return snapshot
    return with_pending([snapshot])[0]


def with_pending(snapshots: Sequence[TrustSnapshot]) -> Sequence[TrustSnapshot]:
    """These stored assessments, each marked `pending` when evidence changed after it was
    computed (a recompute is on its way); four queries however many there are."""
    latest = evidence_watermarks([snapshot.contractor_id for snapshot in snapshots])
    for snapshot in snapshots:
        watermark = latest.get(snapshot.contractor_id)
        snapshot.pending = watermark is not None and (
            snapshot.evidence_watermark is None or watermark > snapshot.evidence_watermark
        )
    return snapshots


def trajectory_points(
    contractor: Contractor, start: datetime | None, end: datetime | None
) -> Sequence[Row[tuple[datetime, float, float, str]]]:
    """The stored points (their values only: a chart reads a hundred or more of them, which as
    objects of the session would cost more than the query)."""
    statement = (
        select(
            TrajectoryPoint.at,
            TrajectoryPoint.trust,
            TrajectoryPoint.uncertainty,
            TrajectoryPoint.band,
        )
        .where(TrajectoryPoint.contractor_id == contractor.id)
        .order_by(TrajectoryPoint.at)
    )
    if start is not None:
        statement = statement.where(TrajectoryPoint.at >= start)
    if end is not None:
        statement = statement.where(TrajectoryPoint.at <= end)
    return db.session.execute(statement).all()


MAX_LISTED_CHANGES = 1000


def run_simulation(simulation: PolicySimulation) -> None:
    """Assess every contractor now under the policy in force and under the proposal, and count
    (and list, up to MAX_LISTED_CHANGES) those whose band or eligibility would change."""
    now = clock.now()
    current, version = policy_in_force()
    proposed = policy_from(simulation.overrides)
    counted = band_changes = eligibility_changes = 0
    changes: list[dict[str, Any]] = []
    for contractor in db.session.scalars(select(Contractor).order_by(Contractor.id)):
        evidence = load_evidence(contractor)
        before, after = model.assess(evidence, now, current), model.assess(evidence, now, proposed)
        counted += 1
        band_moved = before.opinion.band != after.opinion.band
        eligibility_moved = before.eligible != after.eligible
        band_changes += band_moved
        eligibility_changes += eligibility_moved
        if (band_moved or eligibility_moved) and len(changes) < MAX_LISTED_CHANGES:
            changes.append({
                "contractor_id": str(contractor.id), "name": contractor.name,
                "band": [before.opinion.band, after.opinion.band],
                "eligible": [before.eligible, after.eligible],
            })  # fmt: skip
    simulation.status, simulation.finished_at = "completed", clock.now()
    simulation.result = {
        "as_of": now.isoformat(),
        # What the proposal was compared with: saving it is what the result says only while
        # this version is still in force.
        "policy_version": version,
        "contractors": counted,
        "band_changes": band_changes,
        "eligibility_changes": eligibility_changes,
        "changes": changes,
    }
