from __future__ import annotations

from sqlalchemy import Select, select

from reputation.audit.service import record_audit
from reputation.contractors.models import Contractor
from reputation.decisions.models import Decision
from reputation.evidence import recorder
from reputation.extensions import db
from reputation.scoring.schemas import AssessmentSchema
from reputation.scoring.service import current_assessment


def record_decision(contractor: Contractor, decision: str, reason: str) -> Decision:
    """A person's decision on a contractor, with its reason. The score advises; a person decides."""
    row = Decision(
        contractor_id=contractor.id,
        decision=decision,
        reason=reason,
        assessment=AssessmentSchema().dump(current_assessment(contractor)),
        **recorder(),
    )
    db.session.add(row)
    db.session.flush()
    record_audit(
        "decision.recorded",
        "decision",
        row.id,
        {"contractor_id": str(contractor.id), "decision": decision},
    )
    return row


def decisions_of(contractor: Contractor) -> Select[tuple[Decision]]:
    return (
        select(Decision)
        .where(Decision.agency_id == contractor.agency_id, Decision.contractor_id == contractor.id)
        .order_by(Decision.decided_at.desc(), Decision.id.desc())
    )
