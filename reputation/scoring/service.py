"""Recompute a contractor's trust from the stored evidence, store it, and read it back."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, text

from reputation import clock
from reputation.conduct.models import OVERTURNED, ConductEvent
from reputation.contractors.models import Contractor
from reputation.extensions import db
from reputation.outbox.service import enqueue_after_commit, publish_event
from reputation.policy.service import policy_in_force
from reputation.rehabilitation.models import RehabilitationStep
from reputation.scoring.models import TrajectoryPoint, TrustSnapshot
from reputation.trust import model
from reputation.trust.policy import Policy


def load_evidence(contractor: Contractor) -> model.Evidence:
    """The model's evidence: the current version of every unretracted event (with the ids of
    the versions it supersedes) and every step with the moment it was decided."""
    rows = db.session.scalars(
        select(ConductEvent).where(ConductEvent.contractor_id == contractor.id)
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
        if row.status in ("active", OVERTURNED)
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
            select(RehabilitationStep).where(RehabilitationStep.contractor_id == contractor.id)
        )
    )
    return model.Evidence(events, steps)


def evidence_watermark(contractor: Contractor) -> datetime | None:
    """The latest change to the contractor's evidence: recorded, retracted, amended, verified."""
    moments = [
        db.session.scalar(select(func.max(column)).where(table.contractor_id == contractor.id))
        for table, column in (
            (ConductEvent, ConductEvent.recorded_at),
            (ConductEvent, ConductEvent.status_changed_at),
            (RehabilitationStep, RehabilitationStep.recorded_at),
            (RehabilitationStep, RehabilitationStep.verified_at),
        )
    ]
    return max((m for m in moments if m is not None), default=None)


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
    opinion = result.opinion
    snapshot.computed_at = now
    snapshot.model_version = result.model_version
    snapshot.policy_version = policy_version
    snapshot.evidence_watermark = watermark
    snapshot.trust, snapshot.belief = opinion.trust, opinion.belief
    snapshot.disbelief, snapshot.uncertainty = opinion.disbelief, opinion.uncertainty
    snapshot.r, snapshot.s, snapshot.band = opinion.r, opinion.s, opinion.band
    snapshot.eligible, snapshot.eligible_from = result.eligible, result.eligible_from
    snapshot.blockers = _plain(result.blockers)
    snapshot.next_steps = _plain(result.next_steps)
    snapshot.explanation = _plain(result.explanation)
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
    data = {"contractor_id": str(contractor.id), "trust": opinion.trust, "band": opinion.band,
            "eligible": result.eligible, "computed_at": now.isoformat()}  # fmt: skip
    publish_event("trajectory.updated", data)
    if before != (snapshot.band, snapshot.eligible):
        publish_event("assessment.changed", {**data, "previous": _plain(before)})
    return snapshot


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
            "bulk",
            "workers.jobs.recompute_contractors",
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
        contractor = db.session.scalar(select(Contractor).where(Contractor.id == contractor_id))
        if contractor is not None:
            recompute(contractor, policy_in_use)
            db.session.commit()
            done += 1
    return done


def snapshot_of(contractor: Contractor) -> TrustSnapshot | None:
    return db.session.get(TrustSnapshot, (contractor.agency_id, contractor.id))


def current_assessment(contractor: Contractor) -> dict[str, Any]:
    """The stored assessment, `pending` when evidence changed since it was computed; before the
    first computation, the opinion of no evidence, pending."""
    snapshot = snapshot_of(contractor)
    if snapshot is None:
        policy, policy_version = policy_in_force()
        o = model.assess(model.Evidence(), clock.now(), policy).opinion
        return {
            "trust": o.trust, "belief": o.belief, "disbelief": o.disbelief,
            "uncertainty": o.uncertainty, "r": o.r, "s": o.s, "band": o.band,
            "eligible": True, "eligible_from": None, "blockers": [], "next_steps": [],
            "explanation": [], "model_version": model.MODEL_VERSION,
            "policy_version": policy_version, "computed_at": None, "pending": True,
        }  # fmt: skip
    watermark = evidence_watermark(contractor)
    pending = watermark is not None and (
        snapshot.evidence_watermark is None or watermark > snapshot.evidence_watermark
    )
    return {
        "trust": snapshot.trust, "belief": snapshot.belief, "disbelief": snapshot.disbelief,
        "uncertainty": snapshot.uncertainty, "r": snapshot.r, "s": snapshot.s,
        "band": snapshot.band, "eligible": snapshot.eligible,
        "eligible_from": snapshot.eligible_from.isoformat() if snapshot.eligible_from else None,
        "blockers": snapshot.blockers, "next_steps": snapshot.next_steps,
        "explanation": snapshot.explanation, "model_version": snapshot.model_version,
        "policy_version": snapshot.policy_version,
        "computed_at": snapshot.computed_at.isoformat(), "pending": pending,
    }  # fmt: skip


def trajectory_points(
    contractor: Contractor, start: datetime | None, end: datetime | None
) -> list[TrajectoryPoint]:
    statement = (
        select(TrajectoryPoint)
        .where(TrajectoryPoint.contractor_id == contractor.id)
        .order_by(TrajectoryPoint.at)
    )
    if start is not None:
        statement = statement.where(TrajectoryPoint.at >= start)
    if end is not None:
        statement = statement.where(TrajectoryPoint.at <= end)
    return list(db.session.scalars(statement))
