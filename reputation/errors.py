"""What a service says when it refuses: errors in the domain's words, not HTTP's.

Services, jobs and operators' commands raise these; each front end presents them its own way: the
JSON API as problem+json (`reputation.api.problems`), the pages as form errors and error pages,
a job as a row error or a failure it records. A leaf module: it imports neither Flask nor the
database, so anything may raise these.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal, with words a person can act on and, where one is at fault, the field."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(DomainError):
    """No such object in the agency in scope; another agency's object is not found either."""


class Conflict(DomainError):
    """The request clashes with the current state: a duplicate, or a final status."""


class Stale(Conflict):
    """The object changed since the caller read it (`field` names what carried the version)."""


class Gone(DomainError):
    """The object existed but is no longer kept."""


class Invalid(DomainError):
    """The input breaks a rule; `field` names the input at fault."""

    def __init__(self, field: str | None, detail: str) -> None:
        super().__init__(detail, field=field)


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class NotAuthenticated(DomainError):
    """Nobody is signed in, or the credentials are not valid."""
