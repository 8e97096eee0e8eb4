"""The portal's own pages (sign-in and out, one's account) and `register_portal`, which brings
every area's pages onto the app. Pages are thin, like the API's views: read the form, call a
service, render. A service's refusal is a form error beside its field, or the portal's own error
page (another agency's object is the 404 page)."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import HTTPException

from reputation.api.problems import handle_http_exception
from reputation.errors import Invalid
from reputation.portal import (
    audit,
    bulk,
    contractors,
    disputes,
    erasure,
    evidence,
    labels,
    me,
    me_data,
    me_disputes,
    me_evidence,
    policy,
    referees,
    team,
    webhooks,
)
from reputation.portal.blueprint import asset, error_page, field_error, local, portal, staff_only
from reputation.portal.forms import LanguageForm, PasswordForm, SignInForm
from reputation.tenancy import login_limits
from reputation.tenancy import service as tenancy
from reputation.tenancy.auth import start_session
from reputation.tenancy.lookup import get_or_404
from reputation.tenancy.models import User

# Each area's module puts its pages on the blueprint as it is imported.
AREAS = (
    contractors,
    evidence,
    disputes,
    policy,
    team,
    audit,
    webhooks,
    bulk,
    me,
    me_evidence,
    me_disputes,
    me_data,
    erasure,
    referees,
)


def register_portal(app: Flask) -> None:
    """The blueprint with every area's pages, their language, and the portal's 404 page for
    paths outside the API."""
    app.register_blueprint(portal)
    app.jinja_env.globals.update(
        asset=asset,
        band_badge=labels.band_badge,
        band_label=labels.band_label,
        kind_label=labels.kind_label,
        kind_description=labels.kind_description,
        status_label=labels.status_label,
        severity_label=labels.severity_label,
        role_label=labels.role_label,
        scopes_label=labels.scopes_label,
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
            return redirect(local(request.args.get("next")) or url_for("portal.contractors_page"))
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
            field_error(password_form, refused)
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
    return redirect(local(request.form.get("next")) or url_for("portal.account"))


def _not_found_outside_the_api(error: HTTPException) -> Any:
    """The portal's 404 page for a page address; the API keeps its problem+json."""
    if request.path.startswith("/api/") or request.path in ("/healthz", "/readyz", "/metrics"):
        return handle_http_exception(error)
    g.csp_nonce = g.get("csp_nonce") or secrets.token_urlsafe(16)
    return error_page(404, _("There is no such page or object in your agency."))
