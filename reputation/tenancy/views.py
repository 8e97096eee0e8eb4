from __future__ import annotations

import uuid
from typing import Any

from flask import g
from flask.views import MethodView
from flask_login import login_user, logout_user

from reputation.api import idempotency
from reputation.api.blueprint import Blueprint
from reputation.api.pagination import PageArgs, page_schema, paginate
from reputation.errors import Forbidden, NotAuthenticated
from reputation.roles import Role
from reputation.tenancy import login_limits, service
from reputation.tenancy.auth import agency_manager, current_principal, signed_in, start_session
from reputation.tenancy.lookup import get_or_404
from reputation.tenancy.models import ApiKey, User
from reputation.tenancy.schemas import (
    ApiKeyCreateSchema,
    ApiKeySchema,
    IssuedApiKeySchema,
    LoginSchema,
    PasswordChangeSchema,
    PrincipalSchema,
    UserCreateSchema,
    UserSchema,
    UserUpdateSchema,
)

auth = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Staff sessions")
users = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Agency staff")
api_keys = Blueprint(
    "api_keys", __name__, url_prefix="/api/v1/api-keys", description="API keys for integrations"
)


@auth.route("/login", methods=["POST"])
@login_limits.limited
@auth.arguments(LoginSchema)
@auth.doc(security=[])  # what gives credentials asks for none
@auth.response(200, PrincipalSchema)
def login(credentials: dict[str, str]) -> Any:
    """Start a staff session (a cookie) with the agency's slug, an email and a password."""
    user = service.authenticate(
        credentials["agency"], credentials["email"], credentials["password"]
    )
    if user is None:
        raise NotAuthenticated("The agency, email or password is not right.")
    return start_session(user)


@auth.route("/logout", methods=["POST"])
@auth.doc(security=[])  # without a session, there is none to end: a 204 all the same
@auth.response(204)
def logout() -> None:
    """End the staff member's sessions.

    The session lives in a signed cookie, so ending it server-side means changing the token it
    carries: a copy of the cookie taken before logout stops working too, on every device.
    """
    principal = g.get("principal")
    if principal is not None and principal.kind == "user":
        service.end_sessions(get_or_404(User, principal.id, "staff member"))
    logout_user()


@auth.route("/password", methods=["POST"])
@signed_in
@auth.arguments(PasswordChangeSchema)
@auth.response(204)
def change_password(body: dict[str, str]) -> None:
    """Change your own password. Your other sessions end; this one goes on."""
    if current_principal().kind != "user":
        raise Forbidden("An API key has no password; staff change their own.")
    user = get_or_404(User, current_principal().id, "staff member")
    service.change_own_password(user, body["current_password"], body["new_password"])
    login_user(user)


@auth.route("/me", methods=["GET"])
@signed_in
@auth.response(200, PrincipalSchema)
def me() -> Any:
    """Who the credentials of this request belong to."""
    return current_principal()


@users.route("")
class Users(MethodView):
    @agency_manager
    @users.arguments(PageArgs, location="query")
    @users.response(200, page_schema(UserSchema))
    def get(self, page: dict[str, int]) -> Any:
        """The agency's staff."""
        return paginate(service.staff(), **page)

    @agency_manager
    @users.arguments(UserCreateSchema)
    @users.response(201, UserSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Add a staff member. Only owners make owners."""
        return service.create_user(
            body["email"], Role(body["role"]), body["password"], body["name"], current_principal()
        )


@users.route("/<uuid:user_id>")
class UserById(MethodView):
    @agency_manager
    @users.response(200, UserSchema)
    def get(self, user_id: uuid.UUID) -> Any:
        """One staff member."""
        return get_or_404(User, user_id, "staff member")

    @agency_manager
    # No body, like `{}`, changes nothing.
    @users.arguments(UserUpdateSchema, required=False)
    @users.response(200, UserSchema)
    def patch(self, changes: dict[str, Any], user_id: uuid.UUID) -> Any:
        """Change a staff member's role, name, password or whether they may sign in."""
        user = get_or_404(User, user_id, "staff member")
        role = Role(changes["role"]) if "role" in changes else None
        return service.update_user(
            user,
            current_principal(),
            role=role,
            name=changes.get("name"),
            active=changes.get("active"),
            password=changes.get("password"),
        )


@api_keys.route("")
class ApiKeys(MethodView):
    @agency_manager
    @api_keys.arguments(PageArgs, location="query")
    @api_keys.response(200, page_schema(ApiKeySchema))
    def get(self, page: dict[str, int]) -> Any:
        """The agency's API keys, revoked ones included; never their secrets."""
        return paginate(service.api_keys(), **page)

    @agency_manager
    @api_keys.arguments(ApiKeyCreateSchema)
    @api_keys.response(201, IssuedApiKeySchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Create a key. Its secret is in this response only: store it now."""
        issued = service.create_api_key(body["name"], body["scopes"], current_principal())
        idempotency.redact_on_replay("key")
        shown = {name: getattr(issued.key, name) for name in ApiKeySchema().fields}
        return {**shown, "key": issued.secret}


@api_keys.route("/<uuid:key_id>")
class ApiKeyById(MethodView):
    @agency_manager
    @api_keys.response(204)
    def delete(self, key_id: uuid.UUID) -> None:
        """Revoke a key at once."""
        service.revoke_api_key(get_or_404(ApiKey, key_id, "API key"))
