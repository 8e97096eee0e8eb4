"""The portal's pages: thin, like the API's views: read the form, call a service, render.

Signed out, any page redirects to sign-in and back. A service's refusal is a form error beside
its field, or the portal's own error page (another agency's contractor is the 404 page).
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from wtforms.fields.choices import SelectChoice

from reputation.api.pagination import paginate
from reputation.api.problems import handle_http_exception
from reputation.conduct import service as conduct
from reputation.contractors import service as contractors
from reputation.contractors.models import Contractor
from reputation.errors import DomainError, Forbidden, Invalid, NotAuthenticated, NotFound
from reputation.extensions import csrf, db
from reputation.policy.service import policy_in_force
from reputation.portal import labels
from reputation.portal.forms import (
    ContractorSearchForm,
    LanguageForm,
    PasswordForm,
    SignInForm,
)
from reputation.rehabilitation import service as rehabilitation
from reputation.scoring import service as scoring
from reputation.scoring.models import TrustSnapshot
from reputation.tenancy import login_limits
from reputation.tenancy import service as tenancy
from reputation.tenancy.auth import start_session
from reputation.tenancy.lookup import get_or_404
from reputation.tenancy.models import User
from reputation.trust.policy import BANDS

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
MANIFEST = Path(__file__).parent / "static" / "vendor" / "manifest.json"


def register_portal(app: Flask) -> None:
    """The blueprint, its language, and its error pages for paths outside the API."""
    app.register_blueprint(portal)
    app.jinja_env.globals.update(
        asset=asset,
        band_badge=labels.band_badge,
        band_label=labels.band_label,
        kind_label=labels.kind_label,
        kind_description=labels.kind_description,
        status_label=labels.status_label,
        severity_label=labels.severity_label,
        format_date=format_date,
        format_datetime=format_datetime,
        format_decimal=format_decimal,
        get_locale=get_locale,
    )
    app.register_error_handler(404, _not_found_outside_the_api)


def select_locale() -> str | None:
    """The signed-in staff member's language, else the best of their browser's."""
    languages = current_app.config["LANGUAGES"]
    principal = g.get("principal")
    signed_in = principal is not None and principal.kind == "user"
    if signed_in and current_user.is_authenticated and current_user.locale in languages:
        return str(current_user.locale)
    return request.accept_languages.best_match(languages) or None


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


@portal.app_context_processor
def _page_context() -> dict[str, Any]:
    return {"csp_nonce": g.get("csp_nonce", ""), "languages": current_app.config["LANGUAGES"]}


def staff_only(view: F) -> F:
    """Pages for signed-in staff: anyone else is sent to sign in, and back here after."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        principal = g.get("principal")
        if principal is None or principal.kind != "user":
            return redirect(url_for("portal.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _local(target: str | None) -> str | None:
    """`next` only when it stays on this site: a path, never another host (browsers read a
    backslash as a slash, so `/\\host` is `//host`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@portal.route("/", methods=["GET", "POST"])
@login_limits.limited
def sign_in() -> Any:
    """Sign in with the agency, an email and a password; signed in, the contractors."""
    if g.get("principal") is not None and request.method == "GET":
        return redirect(url_for("portal.contractors_page"))
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        user = tenancy.authenticate(form.agency.data, form.email.data, form.password.data)
        if user is not None:
            start_session(user)
            return redirect(_local(request.args.get("next")) or url_for("portal.contractors_page"))
        form.password.errors = [_("The agency, email or password is not right.")]
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("portal/sign_in.html", form=form), status


@portal.route("/sign-out", methods=["POST"])
def sign_out() -> Any:
    """End the staff member's sessions (every device: the token they carry changes)."""
    principal = g.get("principal")
    if principal is not None and principal.kind == "user":
        tenancy.end_sessions(get_or_404(User, principal.id, "staff member"))
    logout_user()
    return redirect(url_for("portal.sign_in"))


@portal.route("/account", methods=["GET", "POST"])
@staff_only
def account() -> Any:
    """One's own password and language."""
    user = get_or_404(User, g.principal.id, "staff member")
    password_form = PasswordForm(prefix="password")
    language_form = LanguageForm(prefix="language", locale=user.locale or "")
    status = 200
    if password_form.validate_on_submit():
        try:
            tenancy.change_own_password(
                user, password_form.current_password.data, password_form.new_password.data
            )
        except Invalid as refused:
            _field_error(password_form, refused)
            status = 422
        else:
            login_user(user)
            flash(_("Your password is changed; your other sessions have ended."))
            return redirect(url_for("portal.account"))
    elif password_form.is_submitted():
        status = 422
    return render_template(
        "portal/account.html", password_form=password_form, language_form=language_form
    ), status


@portal.route("/account/language", methods=["POST"])
@staff_only
def choose_language() -> Any:
    user = get_or_404(User, g.principal.id, "staff member")
    form = LanguageForm(prefix="language")
    if form.validate_on_submit():
        tenancy.choose_language(user, form.locale.data or None, current_app.config["LANGUAGES"])
    return redirect(_local(request.form.get("next")) or url_for("portal.account"))


@portal.route("/contractors")
@staff_only
def contractors_page() -> Any:
    """Search, filter and page through the agency's contractors; htmx swaps the results only."""
    form = ContractorSearchForm(request.args)
    form.band.choices = [
        SelectChoice("", _("Any band")),
        *(SelectChoice(band, labels.band_label(band)) for band in BANDS),
    ]
    filters: dict[str, Any] = {}
    if form.validate():
        eligible = {"yes": True, "no": False}.get(form.eligible.data or "")
        filters = {"q": form.q.data or None, "band": form.band.data or None, "eligible": eligible}
    page_number = max(1, request.args.get("page", 1, type=int) or 1)
    page = paginate(contractors.search(**filters), min(page_number, 100_000), PER_PAGE)
    snapshots = {
        snapshot.contractor_id: snapshot
        for snapshot in db.session.scalars(
            select(TrustSnapshot).where(
                TrustSnapshot.agency_id == g.principal.agency_id,
                TrustSnapshot.contractor_id.in_([c.id for c in page["items"]]),
            )
        )
    }
    template = (
        "portal/_contractor_results.html"
        if request.headers.get("HX-Request")
        else "portal/contractors.html"
    )
    return render_template(template, form=form, page=page, snapshots=snapshots)


@portal.route("/contractors/<uuid:contractor_id>")
@staff_only
def contractor_page(contractor_id: uuid.UUID) -> Any:
    """A contractor: the assessment, the trajectory chart, the explanation and the evidence."""
    contractor = get_or_404(Contractor, contractor_id, "contractor")
    assessment = scoring.current_assessment(contractor)
    snapshot = scoring.snapshot_of(contractor)
    events = list(db.session.scalars(conduct.search(contractor)))
    steps = list(db.session.scalars(rehabilitation.search(contractor)))
    # The agency's own thresholds, which its policy may have moved.
    policy = policy_in_force()[0]
    chart = {
        "points": [
            {"at": p.at.timestamp(), "trust": p.trust, "uncertainty": p.uncertainty}
            for p in scoring.trajectory_points(contractor, None, None)
        ],
        "projection": snapshot.projection if snapshot else [],
        "thresholds": dict(zip(BANDS[1:5], policy.band_thresholds, strict=True)),
        "eligibility": policy.eligibility_threshold,
        "marks": [{"at": e.occurred_at.timestamp(), "kind": "event"} for e in events]
        + [{"at": s.occurred_at.timestamp(), "kind": "step"} for s in steps],
        "labels": {
            "time": _("Date"),
            "trust": _("Trust"),
            "projection": _("Projection"),
            "uncertainty": _("Uncertainty"),
            "eligibility": _("Eligibility threshold"),
        },
    }
    timeline = sorted(
        [("event", event) for event in events] + [("step", step) for step in steps],
        key=lambda entry: entry[1].occurred_at,
        reverse=True,
    )
    return render_template(
        "portal/contractor.html",
        contractor=contractor,
        assessment=assessment,
        timeline=timeline,
        chart=chart,
    )


def _field_error(form: Any, refused: DomainError) -> None:
    field = getattr(form, refused.field or "", None)
    if field is not None:
        field.errors = [*field.errors, refused.detail]
    else:
        flash(refused.detail, "error")


# Error pages, in the portal's look.


def error_page(status: int, message: str) -> tuple[str, int]:
    titles = {
        400: _("This request could not be used"),
        403: _("You may not do this"),
        404: _("Nothing here"),
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
        return error_page(404, _("There is no such page or object in your agency."))
    if isinstance(error, Forbidden):
        return error_page(403, error.detail)
    return error_page(400, error.detail)


@portal.errorhandler(CSRFError)
def _forged(error: CSRFError) -> Any:
    return error_page(400, _("The form had expired or did not come from this site; try again."))


@portal.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    return error_page(status if status in (400, 403, 404) else 400, str(error.description))


@portal.errorhandler(Exception)
def _unexpected(error: Exception) -> Any:
    log.exception("unhandled error on a portal page", exc_info=error)
    return error_page(500, _("It has been logged. Try again in a moment."))


def _not_found_outside_the_api(error: HTTPException) -> Any:
    """The portal's 404 page for a page address; the API keeps its problem+json."""
    if request.path.startswith("/api/") or request.path in ("/healthz", "/readyz", "/metrics"):
        return handle_http_exception(error)
    g.csp_nonce = g.get("csp_nonce") or secrets.token_urlsafe(16)
    return error_page(404, _("There is no such page or object in your agency."))
