"""Job functions. Each is thin: it takes ids, scopes to the agency, and calls a service.

`tenant_job` gives each run an app context, the agency's scope and one transaction that commits
when the job returns and rolls back when it raises (RQ then retries it). The web app names these
functions through `reputation.jobs`, never by importing this module.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select

from reputation.contractors.models import Contractor
from reputation.exports import service as exports
from reputation.exports.models import Export
from reputation.extensions import db
from reputation.imports import service as imports
from reputation.imports.models import Import
from reputation.mail import service as mail
from reputation.policy.models import PolicySimulation
from reputation.scoring import service as scoring
from reputation.tenancy.lookup import find
from reputation.tenancy.models import Agency
from reputation.tenancy.scope import agency_scope
from reputation.webhooks import dispatch
from workers.app import worker_app

R = TypeVar("R")

log = logging.getLogger(__name__)


def tenant_job(function: Callable[..., R]) -> Callable[..., R]:
    @functools.wraps(function)
    def run(agency_id: str, **kwargs: Any) -> R:
        with worker_app().app_context(), agency_scope(uuid.UUID(agency_id)):
            try:
                result = function(**kwargs)
                db.session.commit()
                return result
            except BaseException:
                db.session.rollback()
                raise

    return run


@tenant_job
def recompute_contractor(contractor_id: str) -> None:
    """Recompute one contractor's trust snapshot and trajectory (reputation.scoring)."""
    contractor = find(Contractor, uuid.UUID(contractor_id))
    if contractor is not None:
        scoring.recompute(contractor)


@tenant_job
def recompute_agency() -> int:
    """Recompute every contractor of an agency (after a change of its policy)."""
    return scoring.recompute_agency()


@tenant_job
def recompute_contractors(contractor_ids: list[str]) -> int:
    """Recompute a batch of an agency's contractors (a share of the nightly sweep)."""
    return scoring.recompute_contractors([uuid.UUID(c) for c in contractor_ids])


@tenant_job
def simulate_policy(simulation_id: str) -> None:
    """Run a proposed policy over an agency's contractors (reputation.scoring.service)."""
    simulation = find(PolicySimulation, uuid.UUID(simulation_id))
    if simulation is not None:
        scoring.run_simulation(simulation)


@tenant_job
def run_import(import_id: str) -> None:
    """Apply an uploaded import file (reputation.imports.service.run_import)."""
    record = find(Import, uuid.UUID(import_id))
    if record is not None:
        imports.run_import(record)


@tenant_job
def run_export(export_id: str) -> None:
    """Write an export's file (reputation.exports.service.run_export)."""
    record = find(Export, uuid.UUID(export_id))
    if record is not None:
        exports.run_export(record)


@tenant_job
def deliver_webhooks(message_ids: list[str]) -> dict[str, int]:
    """One attempt at each of these due webhook messages (reputation.webhooks.dispatch)."""
    return dispatch.deliver([uuid.UUID(message_id) for message_id in message_ids])


@tenant_job
def send_mail(to: str, subject: str, text: str, message_id: str, date: str) -> bool:
    """Send one message over SMTP (reputation.mail.service.deliver). A server that cannot be
    reached or answers "try later" makes the job fail, and RQ tries it again later."""
    return mail.deliver(to, subject, text, message_id, date)


def nightly_sweep() -> int:
    """Refresh every agency's current scores (scores move with time alone), delete its expired
    export files and fail its imports whose job died; one agency at a time, each in its own
    scope. The recomputes are queued in batches (`recompute_contractors`), which every worker
    shares. Returns how many contractors were queued."""
    with worker_app().app_context():
        agencies = db.session.scalars(select(Agency.id).order_by(Agency.id)).all()
        total, failed = 0, []
        for agency_id in agencies:
            # One agency's failure does not cost the others their refresh; the job still fails
            # at the end, so RQ tries it again.
            try:
                with agency_scope(agency_id):
                    # Exports are agency rows (row-level security), so they are purged here, in
                    # the agency's scope, rather than by the relay's housekeeping in system scope.
                    exports.purge_expired_exports()
                    imports.fail_abandoned_imports()
                    total += scoring.queue_sweep()
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("the nightly sweep of agency %s failed", agency_id)
                failed.append(agency_id)
        if failed:
            raise RuntimeError(f"the nightly sweep failed for {len(failed)} agencies")
        return total
