"""Who a row says acted: a referee answering from their one-time link, the request's principal
(a staff member or an API key), a contractor acting through their own account, or, for jobs and
operators' commands, the system."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import g


@dataclass(frozen=True)
class Actor:
    kind: str  # "referee", "user", "api_key", "person" or "system"
    id: uuid.UUID | None
    label: str


SYSTEM = Actor("system", None, "system")


def current_actor() -> Actor:
    referee = g.get("referee")  # whoever else is signed in in that browser
    if referee is not None:
        return Actor("referee", None, referee)
    principal = g.get("principal")
    if principal is not None:
        return Actor(principal.kind, principal.id, principal.label)
    person = g.get("person")
    if person is not None:
        return Actor("person", person.id, person.email)
    return SYSTEM
