from __future__ import annotations

import uuid
from typing import Any

from flask import url_for

from reputation.api.blueprint import Blueprint
from reputation.errors import NotFound
from reputation.policy import service
from reputation.policy.models import PolicySimulation
from reputation.policy.schemas import (
    PolicyQuerySchema,
    PolicySchema,
    PolicyVersionSchema,
    SimulationSchema,
)
from reputation.tenancy.auth import agency_manager, signed_in
from reputation.tenancy.lookup import get_or_404

policy = Blueprint("policy", __name__, url_prefix="/api/v1/policy", description="Scoring policy")


@policy.route("", methods=["GET"])
@signed_in
@policy.arguments(PolicyQuerySchema, location="query")
@policy.response(200, PolicyVersionSchema)
def get_policy(query: dict[str, int]) -> Any:
    """The policy in force, or an earlier version (`?version=`); 0 is the model's defaults."""
    if "version" not in query:
        return service.describe(service.current_version())
    if query["version"] == 0:
        return service.describe(None)
    row = service.version(query["version"])
    if row is None:
        raise NotFound(f"No policy version {query['version']}.")
    return service.describe(row)


@policy.route("", methods=["PUT"])
@agency_manager
@policy.arguments(PolicySchema)
@policy.response(200, PolicyVersionSchema)
def put_policy(overrides: dict[str, Any]) -> Any:
    """Set the agency's overrides of the defaults (a partial document: what is left out keeps
    its default). Makes a new version; every contractor is recomputed with it."""
    return service.describe(service.change_policy(overrides))


@policy.route("/simulate", methods=["POST"])
@agency_manager
@policy.arguments(PolicySchema)
@policy.response(202, SimulationSchema)
def simulate(overrides: dict[str, Any]) -> Any:
    """Run a proposed policy over the agency's contractors (a background job) and report how
    many would change band or eligibility, and which; follow it at the `Location`."""
    simulation = service.start_simulation(overrides)
    location = url_for("policy.get_simulation", simulation_id=simulation.id)
    return simulation, {"Location": location}


@policy.route("/simulations/<uuid:simulation_id>", methods=["GET"])
@signed_in
@policy.response(200, SimulationSchema)
def get_simulation(simulation_id: uuid.UUID) -> Any:
    """A policy simulation and, once completed, its result."""
    return get_or_404(PolicySimulation, simulation_id, "policy simulation")
