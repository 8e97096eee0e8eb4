"""The agency's policy versions, and the Policy the model uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from reputation import jobs
from reputation.audit.service import record_audit
from reputation.evidence import recorder
from reputation.extensions import db
from reputation.outbox.service import enqueue_after_commit
from reputation.policy.models import PolicySimulation, PolicyVersion
from reputation.trust.policy import Policy, document_of, policy_from


def current_version() -> PolicyVersion | None:
    """The agency's latest policy version; None while it uses the defaults (version 0)."""
    return db.session.scalar(select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1))


def version(number: int) -> PolicyVersion | None:
    return db.session.scalar(select(PolicyVersion).where(PolicyVersion.version == number))


def policy_in_force() -> tuple[Policy, int]:
    """The Policy the model uses for the agency in scope, and its version."""
    latest = current_version()
    if latest is None:
        return Policy(), 0
    return policy_from(latest.overrides), latest.version


def change_policy(overrides: dict[str, Any]) -> PolicyVersion:
    """A new version with these overrides of the defaults; every contractor is recomputed."""
    latest = current_version()
    created = PolicyVersion(
        version=(latest.version if latest else 0) + 1, overrides=overrides, **recorder()
    )
    db.session.add(created)
    db.session.flush()
    record_audit("policy.changed", "policy", created.version, {"overrides": overrides})
    enqueue_after_commit(jobs.RECOMPUTE_AGENCY, job_id=f"policy-{created.version}")
    return created


def start_simulation(overrides: dict[str, Any]) -> PolicySimulation:
    """Queue a run of a proposed policy over the agency's contractors (a `bulk` job)."""
    simulation = PolicySimulation(overrides=overrides, status="queued", **recorder())
    db.session.add(simulation)
    db.session.flush()
    record_audit("policy.simulated", "policy_simulation", simulation.id, {"overrides": overrides})
    enqueue_after_commit(jobs.SIMULATE_POLICY, simulation_id=str(simulation.id))
    return simulation


def describe(row: PolicyVersion | None) -> dict[str, Any]:
    """A version as the API shows it; None is the defaults."""
    if row is None:
        return {"version": 0, "created_at": None, "recorded_by": None, "overrides": {},
                "policy": document_of(Policy())}  # fmt: skip
    return {
        "version": row.version,
        "created_at": row.created_at,
        "recorded_by": row.recorded_by,
        "overrides": row.overrides,
        "policy": document_of(policy_from(row.overrides)),
    }
