"""Who is calling: a staff member's session or an agency's API key, and what they may do."""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from flask import g, request
from flask_login import current_user, login_user
from sqlalchemy import select

from reputation import clock
from reputation.audit.service import record_audit
from reputation.errors import Forbidden, NotAuthenticated
from reputation.extensions import db, login_manager
from reputation.persons.models import Person
from reputation.roles import AGENCY_MANAGERS, AUDIT_READERS, EVIDENCE_WRITERS, Role, Scope
from reputation.tenancy import login_limits
from reputation.tenancy.models import ApiKey, User
from reputation.tenancy.scope import (
    act_as_person,
    agency_setting,
    enter_agency,
    entered_agency,
)

F = TypeVar("F", bound=Callable[..., Any])

# last_used_at is a hint, not a log: writing it at most once a minute keeps writes off reads.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """The caller of a request, resolved from its credentials."""

    kind: str  # "user" or "api_key"
    id: uuid.UUID
    agency_id: uuid.UUID
    label: str
    role: Role | None = None
    scopes: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    def has_role(self, roles: frozenset[Role]) -> bool:
        return self.role in roles

    def may_write_evidence(self) -> bool:
        return self.role in EVIDENCE_WRITERS or Scope.WRITE in self.scopes


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _api_key_principal(token: str) -> Principal | None:
    key_hash = hash_api_key(token)
    g.api_key_hash = key_hash  # carried into the transaction's settings (scope.py)
    # The key's row, and on PostgreSQL its agency set for the transaction as the row is read:
    # one round trip. A revoked key reads no row, so it sets nothing.
    setting = agency_setting(ApiKey.agency_id)
    columns = (ApiKey,) if setting is None else (ApiKey, setting)
    key = db.session.scalar(
        select(*columns)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        .execution_options(tenant_unscoped=True)
    )
    if key is None:
        return None
    entered_agency(key.agency_id)
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now
        db.session.commit()
    return Principal(
        kind="api_key",
        id=key.id,
        agency_id=key.agency_id,
        label=f"API key {key.name} ({key.prefix}…)",
        scopes=frozenset(key.scopes),
    )


def user_principal(user: User) -> Principal:
    return Principal(
        kind="user", id=user.id, agency_id=user.agency_id, label=user.email, role=Role(user.role)
    )


def start_session(user: User) -> Principal:
    """A staff member who has just signed in, through the API or the portal: the session
    cookie, this browser remembered as theirs (login_limits), the request's principal and the
    audit row."""
    login_user(user)
    login_limits.remember_device()
    g.principal = user_principal(user)
    record_audit("auth.login", "user", user.id)
    return g.principal


@login_manager.user_loader
def load_user(session_id: str) -> User | Person | None:
    agency_part, _, token = session_id.partition(":")
    if agency_part == "person":
        return db.session.scalar(select(Person).where(Person.session_token == token))
    try:
        agency_id = uuid.UUID(agency_part)
    except ValueError:
        return None
    enter_agency(agency_id)
    user = db.session.scalar(select(User).where(User.session_token == token))
    if user is None or not user.active:
        enter_agency(None)
        return None
    return user


def load_principal() -> None:
    """Before every request: resolve the credentials, if any, and scope to their agency."""
    g.principal = None
    g.person = None
    g.api_key_hash = None
    enter_agency(None)
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            g.principal = _api_key_principal(token.strip())
        g.credentials_rejected = g.principal is None
        return
    if isinstance(current_user, Person):
        # A contractor's own account: no principal, so no agency's API or portal page admits it.
        g.person = current_user._get_current_object()
        act_as_person(g.person.id)
    elif current_user.is_authenticated:
        g.principal = user_principal(current_user)


def current_principal() -> Principal:
    """The authenticated caller; a 401 when there is none, a 403 for a contractor's account."""
    principal = g.get("principal")
    if principal is None and g.get("person") is not None:
        raise Forbidden("A contractor's account reaches only its own records, under /api/v1/me.")
    if principal is None:
        detail = (
            "The API key is not valid or has been revoked."
            if g.get("credentials_rejected")
            else "Authentication is required: a session, or Authorization: Bearer <API key>."
        )
        raise NotAuthenticated(detail)
    return principal


def current_person() -> Person:
    """The contractor signed in to their own account; a 401 when there is none, a 403 for
    staff and API keys, which never reach a contractor's pages."""
    person = g.get("person")
    if person is not None:
        return person
    if g.get("principal") is not None:
        raise Forbidden("Only a contractor's own account reaches /api/v1/me.")
    raise NotAuthenticated("Sign in to your account first: POST /api/v1/me/login.")


def person_only(view: F) -> F:
    """A view for a contractor signed in to their own account."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_person()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _guard(check: Callable[[Principal], bool], denial: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not check(current_principal()):
                raise Forbidden(denial)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


# Views declare what they need with one of these.
signed_in = _guard(lambda p: True, "")
evidence_writer = _guard(
    Principal.may_write_evidence,
    "Writing needs a recruiter, admin or owner, or an API key with the write scope.",
)
staff_recruiter = _guard(
    lambda p: p.kind == "user" and p.has_role(EVIDENCE_WRITERS),
    "Only the agency's staff (recruiters, admins, owners) do this, not an API key.",
)
agency_manager = _guard(
    lambda p: p.has_role(AGENCY_MANAGERS), "Only the agency's owners and admins may do this."
)
audit_reader = _guard(
    lambda p: p.has_role(AUDIT_READERS),
    "Only the agency's owners, admins and viewers read the audit log.",
)
