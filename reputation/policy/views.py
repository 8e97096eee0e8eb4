from __future__ import annotations

from typing import Any

from reputation.api.blueprint import Blueprint
from reputation.api.problems import ApiError
from reputation.policy import service
from reputation.policy.schemas import PolicyQuerySchema, PolicySchema, PolicyVersionSchema
from reputation.tenancy.auth import agency_manager, signed_in

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
        raise ApiError(404, f"No policy version {query['version']}.")
    return service.describe(row)


@policy.route("", methods=["PUT"])
@agency_manager
@policy.arguments(PolicySchema)
@policy.response(200, PolicyVersionSchema)
def put_policy(overrides: dict[str, Any]) -> Any:
    """Set the agency's overrides of the defaults (a partial document: what is left out keeps
    its default). Makes a new version; every contractor is recomputed with it."""
    return service.describe(service.change_policy(overrides))
