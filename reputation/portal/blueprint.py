"""The portal's blueprint and what every page shares: the script nonce and the CSRF check, the
role guards, safe `next` addresses, the page of a list asked for, the part of a page htmx asks
for, form errors from a service's or a schema's refusal, and the error pages.

Each area of the portal (contractors, policy, team, integrations, audit) is a module of views on
this one blueprint; `views.register_portal` brings them together.
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import marshmallow as ma
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from reputation.api.problems import flatten_messages
from reputation.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    Invalid,
    NotAuthenticated,
    NotFound,
)
from reputation.extensions import csrf
from reputation.roles import AGENCY_MANAGERS, AUDIT_READERS, EVIDENCE_WRITERS, Role

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

portal = Blueprint(
    "portal",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/portal/static",
)

PER_PAGE = 25
# A page number past this is read as this one: no list of an agency's is that long, and the
# offset it makes stays one the database reads quickly.
MAX_PAGE = 100_000
MANIFEST = Path(__file__).parent / "static" / "vendor" / "manifest.json"


@functools.cache
def _manifest() -> dict[str, Any]:
    return dict(json.loads(MANIFEST.read_text())["files"])


def asset(path: str) -> dict[str, str]:
    """A vendored file's address and its Subresource Integrity hash (static/vendor/manifest)."""
    return {
        "url": url_for("portal.static", filename=path),
        "integrity": _manifest()[path]["integrity"],
    }


@portal.before_request
def _protect() -> None:
    # A fresh nonce for this page's scripts (api/security.py puts it in the policy), and the
    # CSRF token checked on every state-changing request, forms and htmx alike.
    g.csp_nonce = secrets.token_urlsafe(16)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def _role() -> Role | None:
    principal = g.get("principal")
    return principal.role if principal is not None and principal.kind == "user" else None


def staff_in(roles: frozenset[Role]) -> bool:
    """Whether the signed-in staff member has one of these roles: what views and templates ask
    before showing a control."""
    return _role() in roles


@portal.app_context_processor
def _page_context() -> dict[str, Any]:
    return {
        "csp_nonce": g.get("csp_nonce", ""),
        "languages": current_app.config["LANGUAGES"],
        # What the signed-in staff member may do: the pages show only those controls.
        "may_write": staff_in(EVIDENCE_WRITERS),
        "may_manage": staff_in(AGENCY_MANAGERS),
        "may_audit": staff_in(AUDIT_READERS),
    }


def _staff(roles: frozenset[Role] | None, denial: Any) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            role = _role()
            if g.get("person") is not None:
                raise Forbidden(
                    _("These pages are the agency staff's; yours are under My records.")
                )
            if role is None:
                return redirect(url_for("portal.sign_in", next=request.full_path.rstrip("?")))
            if roles is not None and role not in roles:
                raise Forbidden(str(denial))
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


# Pages declare who may use them with one of these (the API's guards are in tenancy/auth.py).
# Signed out, any of them sends the person to sign in, and back after.
staff_only = _staff(None, "")
writers_only = _staff(
    EVIDENCE_WRITERS, _l("Only recruiters, admins and owners change the agency's evidence.")
)
managers_only = _staff(AGENCY_MANAGERS, _l("Only the agency's owners and admins may do this."))
audit_readers_only = _staff(
    AUDIT_READERS, _l("Only the agency's owners, admins and viewers read the audit log.")
)
owners_only = _staff(frozenset({Role.OWNER}), _l("Only the agency's owners may do this."))


def local(target: str | None) -> str | None:
    """`next` only when it stays on this site: a path, never another host (browsers read a
    backslash as a slash, so `/\\host` is `//host`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def requested_page() -> int:
    """The page of a list the query string asks for (`?page=`), from 1 to MAX_PAGE; anything
    else is the first page. The pages' links come from the `pager` macro (portal/_pager.html)."""
    return min(max(1, request.args.get("page", 1, type=int) or 1), MAX_PAGE)


def page_or_part(page: str, part: str) -> str:
    """The template to answer with: the part that htmx asked for to swap in, else the page."""
    return part if request.headers.get("HX-Request") else page


def field_error(form: Any, refused: DomainError) -> None:
    """A service's refusal beside the field it names, else at the top of the page."""
    field = getattr(form, refused.field or "", None)
    if field is not None:
        field.errors = [*field.errors, refused.detail]
    else:
        flash(refused.detail, "error")


def schema_errors(form: Any, refused: ma.ValidationError) -> None:
    """The API schema's refusals, each beside the form's field it names (a nested value's beside
    its top field: `headers.X-Name` is the `headers` field), else at the top of the page."""
    for error in flatten_messages(refused.messages, "form"):
        name = (error["field"] or "").partition(".")[0]
        field_error(form, Invalid(name or None, error["detail"]))


# Error pages, in the portal's look.


def error_page(status: int, message: str) -> tuple[str, int]:
    titles = {
        400: _("This request could not be used"),
        403: _("You may not do this"),
        404: _("Nothing here"),
        409: _("This could not be done"),
        410: _("This link no longer works"),
        429: _("Too many tries"),
        500: _("Something went wrong on our side"),
    }
    return render_template(
        "portal/error.html", status=status, title=titles.get(status, titles[400]), message=message
    ), status


@portal.errorhandler(DomainError)
def _refused(error: DomainError) -> Any:
    if isinstance(error, NotAuthenticated):
        return redirect(url_for("portal.sign_in", next=request.full_path.rstrip("?")))
    if isinstance(error, NotFound):
        if g.get("person") is not None:
            return error_page(404, _("There is no such page or record."))
        return error_page(404, _("There is no such page or object in your agency."))
    if isinstance(error, Forbidden):
        return error_page(403, error.detail)
    if isinstance(error, Gone):
        return error_page(410, error.detail)
    if isinstance(error, Conflict):
        return error_page(409, error.detail)
    return error_page(400, error.detail)


@portal.errorhandler(CSRFError)
def _forged(error: CSRFError) -> Any:
    return error_page(400, _("The form had expired or did not come from this site; try again."))


@portal.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if status == 429:
        # The limit's own words ("20 per 1 minute") tell a person nothing they can act on.
        return error_page(429, _("Too many tries from your address: wait a minute, then retry."))
    return error_page(status if status in (400, 403, 404, 409) else 400, str(error.description))


@portal.errorhandler(Exception)
def _unexpected(error: Exception) -> Any:
    log.exception("unhandled error on a portal page", exc_info=error)
    return error_page(500, _("It has been logged. Try again in a moment."))
