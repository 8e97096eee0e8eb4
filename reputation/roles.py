"""Staff roles and API-key scopes, and what each may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A staff member's role within their agency, from most to least powerful."""

    OWNER = "owner"
    ADMIN = "admin"
    RECRUITER = "recruiter"
    VIEWER = "viewer"


class Scope(StrEnum):
    """What an API key may do. `write` implies `read`."""

    READ = "read"
    WRITE = "write"


# Roles that change the agency's evidence (contractors, events, steps, decisions).
EVIDENCE_WRITERS = frozenset({Role.OWNER, Role.ADMIN, Role.RECRUITER})
# Roles that manage the agency itself: staff, API keys, policy, webhooks, exports.
AGENCY_MANAGERS = frozenset({Role.OWNER, Role.ADMIN})
# Roles that read the audit log.
AUDIT_READERS = frozenset({Role.OWNER, Role.ADMIN, Role.VIEWER})


def normalise_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    """The stored form of a key's scopes: `write` brings `read` with it."""
    chosen = {Scope(s) for s in scopes}
    if Scope.WRITE in chosen:
        chosen.add(Scope.READ)
    return sorted(chosen)


def may_grant(granter: Role, role: Role) -> bool:
    """Only owners make owners; admins make anyone below owner."""
    if granter is Role.OWNER:
        return True
    return granter is Role.ADMIN and role is not Role.OWNER


def may_manage(manager: Role, staff: Role) -> bool:
    """Who may change another's role, password or access: owners anyone; admins only the
    recruiters and viewers, so no admin can take over an owner or a fellow admin."""
    if manager is Role.OWNER:
        return True
    return manager is Role.ADMIN and staff in (Role.RECRUITER, Role.VIEWER)
