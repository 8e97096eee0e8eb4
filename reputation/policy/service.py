"""The agency's policy versions, and the Policy the model uses."""

from __future__ import annotations

from collections.abc import Mapping
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


def versions() -> list[PolicyVersion]:
    """Every version the agency has made, the first first (version 0, the defaults, is no row)."""
    return list(db.session.scalars(select(PolicyVersion).order_by(PolicyVersion.version)))


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


def numbers_of(policy: Policy) -> dict[str, float]:
    """Every number of a policy by its path in the document, in the document's order:
    `eligibility_threshold`, `severity_factor.3`, `conduct_kinds.rudeness.half_life_days`…"""
    numbers: dict[str, float] = {}

    def walk(path: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{path}.{key}" if path else key, inner)
        else:
            numbers[path] = float(value)

    walk("", document_of(policy))
    return numbers


def overrides_of(numbers: Mapping[str, float]) -> dict[str, Any]:
    """The overrides document (as `PUT /policy` takes it) that gives these numbers, each named
    by its path (`numbers_of`): only those that differ from the model's defaults are kept."""
    defaults = numbers_of(Policy())
    overrides: dict[str, Any] = {}
    for path, value in numbers.items():
        if value == defaults[path]:
            continue
        *parents, leaf = path.split(".")
        node = overrides
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return overrides


def differences(before: Policy, after: Policy) -> list[tuple[str, float, float]]:
    """The numbers that differ between two policies: each path with its value before and after,
    in the document's order."""
    old, new = numbers_of(before), numbers_of(after)
    return [(path, old[path], new[path]) for path in new if old[path] != new[path]]
