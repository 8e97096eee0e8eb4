"""The rules of agencies, staff and API keys; views, jobs and operators' commands call these."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import Select, select

from reputation import clock
from reputation.audit.service import record_audit
from reputation.errors import Conflict, Forbidden, Invalid
from reputation.extensions import db
from reputation.roles import Role, may_grant, may_manage, normalise_scopes
from reputation.tenancy.auth import Principal, hash_api_key
from reputation.tenancy.models import Agency, ApiKey, User
from reputation.tenancy.scope import agency_scope, current_agency_id, enter_agency

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
MIN_PASSWORD_LENGTH = 12
API_KEY_PREFIX = "rk_"


def password_hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"], memory_cost=config["ARGON2_MEMORY_COST"]
    )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("password", f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def find_agency(slug: str) -> Agency | None:
    return db.session.scalar(select(Agency).where(Agency.slug == slug))


def create_agency(name: str, slug: str, admin_email: str, admin_password: str) -> Agency:
    """A new agency with its first owner."""
    if not SLUG.match(slug):
        raise Invalid("slug", "A slug is lowercase letters, digits and inner hyphens.")
    if find_agency(slug) is not None:
        raise Conflict(f"An agency with the slug {slug!r} exists already.", field="slug")
    agency = Agency(name=name, slug=slug, settings={})
    db.session.add(agency)
    db.session.flush()
    with agency_scope(agency.id):
        record_audit("agency.created", "agency", agency.id, {"name": name, "slug": slug})
        create_user(admin_email, Role.OWNER, admin_password)
    return agency


def create_user(
    email: str, role: Role, password: str, name: str = "", by: Principal | None = None
) -> User:
    """A staff member of the agency in scope; `by` is the staff member granting the role."""
    role = Role(role)
    if by is not None and (by.role is None or not may_grant(by.role, role)):
        raise Forbidden(f"A {by.role} may not make an {role}.")
    email = email.strip().lower()
    check_password(password)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("A staff member with this email exists already.", field="email")
    user = User(
        email=email,
        name=name,
        role=role,
        password_hash=password_hasher().hash(password),
        session_token=new_session_token(),
        active=True,
    )
    db.session.add(user)
    db.session.flush()
    record_audit("user.created", "user", user.id, {"email": email, "role": str(role)})
    return user


def staff() -> Select[tuple[User]]:
    """The agency's staff, by email."""
    return select(User).where(User.agency_id == current_agency_id()).order_by(User.email)


def update_user(
    user: User,
    by: Principal,
    *,
    role: Role | None = None,
    name: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> User:
    """Change a staff member. A new password, or the loss of access, ends their sessions.

    Owners manage anyone; admins manage recruiters and viewers (roles.may_manage). Nobody changes
    their own role or access, and one's own password changes only with the current one
    (`change_own_password`).
    """
    if user.id == by.id and (role is not None or active is not None or password is not None):
        field = "role" if role is not None else "active" if active is not None else "password"
        raise Invalid(field, "Change your own password at /auth/password; not your role or access.")
    if (role is not None or active is not None or password is not None) and (
        by.role is None or not may_manage(by.role, Role(user.role))
    ):
        raise Forbidden(f"A {by.role} may not change an {user.role}'s role, access or password.")
    changes: dict[str, object] = {}
    if role is not None and role != user.role:
        if not may_grant(by.role, Role(role)):  # type: ignore[arg-type]
            raise Forbidden("Only owners make owners.")
        changes["role"] = [str(user.role), str(role)]
        user.role = Role(role)
    if name is not None and name != user.name:
        changes["name"] = [user.name, name]
        user.name = name
    if active is not None and active != user.active:
        changes["active"] = [user.active, active]
        user.active = active
        user.session_token = new_session_token()
    if password is not None:
        set_password(user, password)
        changes["password"] = "reset"
    if changes:
        record_audit("user.updated", "user", user.id, changes)
    return user


def end_sessions(user: User) -> None:
    """Every session of this staff member stops working."""
    user.session_token = new_session_token()


def set_password(user: User, password: str) -> None:
    """Store a new password; the session token changes with it, so old sessions die."""
    check_password(password)
    user.password_hash = password_hasher().hash(password)
    user.session_token = new_session_token()
    user.password_changed_at = clock.now()


def change_own_password(user: User, current_password: str, new_password: str) -> None:
    """A staff member's own change of password, which needs the current one."""
    if not verifies(password_hasher(), user.password_hash, current_password):
        raise Invalid("current_password", "The current password is not right.")
    set_password(user, new_password)
    record_audit("user.password_changed", "user", user.id)


def choose_language(user: User, locale: str | None, offered: tuple[str, ...]) -> None:
    """The portal's language for this staff member; None leaves it to their browser."""
    if locale is not None and locale not in offered:
        raise Invalid("locale", f"The portal speaks {', '.join(offered)}.")
    user.locale = locale


def authenticate(agency_slug: str, email: str, password: str) -> User | None:
    """The active staff member these credentials name, or None.

    On success the rest of the request is scoped to the staff member's agency.
    """
    agency = find_agency(agency_slug)
    user = None
    if agency is not None:
        enter_agency(agency.id)
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    hasher = password_hasher()
    if user is None:
        # Spend the same time as a real check, so timing does not reveal who exists.
        hasher.hash(password)
    elif verifies(hasher, user.password_hash, password) and user.active:
        if hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
        user.last_login_at = clock.now()
        return user
    enter_agency(None)
    return None


def verifies(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str  # shown once, never stored


def create_api_key(name: str, scopes: list[str], by: Principal | None = None) -> IssuedKey:
    """A new API key for the agency in scope. The secret is returned once and stored hashed."""
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=secret[:10],
        key_hash=hash_api_key(secret),
        scopes=normalise_scopes(scopes),
        created_by_id=by.id if by is not None and by.kind == "user" else None,
    )
    db.session.add(key)
    db.session.flush()
    record_audit("api_key.created", "api_key", key.id, {"name": name, "scopes": key.scopes})
    return IssuedKey(key=key, secret=secret)


def api_keys() -> Select[tuple[ApiKey]]:
    """The agency's API keys, newest first, revoked ones included."""
    return (
        select(ApiKey)
        .where(ApiKey.agency_id == current_agency_id())
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )


def revoke_api_key(key: ApiKey) -> None:
    """Revoke a key at once; revoking a revoked key changes nothing."""
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        record_audit("api_key.revoked", "api_key", key.id, {"name": key.name})
