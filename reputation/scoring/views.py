from __future__ import annotations

import uuid
from typing import Any

from reputation.api.blueprint import Blueprint
from reputation.contractors.models import Contractor
from reputation.scoring import service
from reputation.scoring.schemas import AssessmentSchema, PeriodSchema, TrajectorySchema
from reputation.tenancy.auth import signed_in
from reputation.tenancy.lookup import get_or_404

scoring = Blueprint("scoring", __name__, url_prefix="/api/v1", description="Trust")


@scoring.route("/contractors/<uuid:contractor_id>/assessment", methods=["GET"])
@signed_in
@scoring.response(200, AssessmentSchema)
def assessment(contractor_id: uuid.UUID) -> Any:
    """The contractor's current assessment: opinion, band, eligibility with its blockers, next
    steps and the explanation of every item (TRUST_MODEL.md)."""
    return service.current_assessment(get_or_404(Contractor, contractor_id, "contractor"))


@scoring.route("/contractors/<uuid:contractor_id>/trajectory", methods=["GET"])
@signed_in
@scoring.arguments(PeriodSchema, location="query")
@scoring.response(200, TrajectorySchema)
def trajectory(period: dict[str, Any], contractor_id: uuid.UUID) -> Any:
    """The opinion over time (`from`, `to` inclusive), its projection, and the current one."""
    contractor = get_or_404(Contractor, contractor_id, "contractor")
    snapshot = service.snapshot_of(contractor)
    return {
        "points": service.trajectory_points(contractor, period.get("start"), period.get("end")),
        "projection": snapshot.projection if snapshot else [],
        "current": service.current_assessment(contractor),
    }
