"""The agency's staff and API keys, for its owners and admins.

Each page offers only what the signed-in manager may do (reputation/roles.py: `may_grant`,
`may_manage`), and the services (tenancy/service.py) refuse the rest, so a forged form is the
403 page like any other refusal. A new key's secret is on the page that answers its creation and
nowhere else: it is never stored, so no later page could show it again.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from reputation.api.fields import MAX_EMAIL_LENGTH
from reputation.api.pagination import paginate
from reputation.errors import Conflict, Invalid
from reputation.portal.blueprint import (
    PER_PAGE,
    field_error,
    managers_only,
    portal,
    requested_page,
)
from reputation.portal.forms import PortalForm, email_address
from reputation.portal.labels import ROLES, SCOPES, role_label
from reputation.roles import Role, Scope, may_grant, may_manage
from reputation.tenancy import service as tenancy
from reputation.tenancy.lookup import get_or_404
from reputation.tenancy.models import ApiKey, User
from reputation.tenancy.service import MIN_PASSWORD_LENGTH


def _choices(labels: dict[Any, Any]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


def _password(label: Any) -> PasswordField:
    too_short = _l("A password needs at least %(min)d characters, and at most %(max)d.")
    return PasswordField(
        label,
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024, message=too_short)],
    )


def _role(label: Any, **options: Any) -> SelectField:
    # Every role is a valid answer, so that one the manager may not grant reaches the service,
    # which refuses it (a 403); the page offers only those they may (`_offer_roles`).
    return SelectField(label, choices=_choices(ROLES), validators=[DataRequired()], **options)


class StaffMemberForm(PortalForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(), Length(max=MAX_EMAIL_LENGTH), email_address]
    )
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    # Most people an agency adds are recruiters; a manager chooses more power on purpose.
    role = _role(_l("Role"), default=Role.RECRUITER.value)
    password = _password(_l("Initial password"))


class RoleForm(PortalForm):
    role = _role(_l("Their role"))


class AccessForm(PortalForm):
    active = HiddenField(validators=[AnyOf(["yes", "no"])])


class PasswordResetForm(PortalForm):
    password = _password(_l("New password"))


class ApiKeyForm(PortalForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    scope = RadioField(_l("Access"), choices=_choices(SCOPES), default=Scope.READ.value)


class ConfirmForm(PortalForm):
    """A form of one button: its CSRF token is all it carries."""


def _offer_roles(field: SelectField) -> None:
    field.choices = _choices(
        {r: label for r, label in ROLES.items() if may_grant(g.principal.role, r)}
    )


# Staff.


@portal.route("/staff", methods=["GET", "POST"])
@managers_only
def staff_page() -> Any:
    """The agency's staff, and a form to add one."""
    form = StaffMemberForm(prefix="new")
    status = 200
    if form.validate_on_submit():
        try:
            user = tenancy.create_user(
                form.email.data, Role(form.role.data), form.password.data, form.name.data or "",
                g.principal,
            )  # fmt: skip
        except Conflict:
            form.email.errors = [_("A staff member with this email exists already.")]
            status = 422
        except Invalid as refused:
            field_error(form, refused)
            status = 422
        else:
            flash(
                _("%(email)s joins the staff with the role %(role)s. Give them their initial "
                  "password: they change it on their account page.",
                  email=user.email, role=role_label(user.role))
            )  # fmt: skip
            return redirect(url_for("portal.staff_page"))
    elif form.is_submitted():
        status = 422
    _offer_roles(form.role)
    page = paginate(tenancy.staff(), requested_page(), PER_PAGE)
    return render_template(
        "portal/staff.html", form=form, page=page, manageable=_manageable
    ), status


def _manageable(user: User) -> bool:
    """Whether the signed-in manager may change this staff member: never themselves."""
    me = g.principal
    return user.id != me.id and may_manage(me.role, Role(user.role))


def _staff_member_page(user: User, status: int = 200, **forms: PortalForm) -> Any:
    role_form = forms.get("role") or RoleForm(prefix="role", role=user.role)
    _offer_roles(role_form.role)
    return render_template(
        "portal/staff_member.html",
        user=user,
        manageable=_manageable(user),
        role_form=role_form,
        access_form=forms.get("access") or AccessForm(prefix="access"),
        password_form=forms.get("password") or PasswordResetForm(prefix="password"),
    ), status


@portal.route("/staff/<uuid:user_id>")
@managers_only
def staff_member_page(user_id: uuid.UUID) -> Any:
    """One staff member: their role, access and password, for a manager who may change them."""
    return _staff_member_page(get_or_404(User, user_id, "staff member"))


@portal.route("/staff/<uuid:user_id>/role", methods=["POST"])
@managers_only
def change_staff_role(user_id: uuid.UUID) -> Any:
    user = get_or_404(User, user_id, "staff member")
    form = RoleForm(prefix="role")
    try:
        if form.validate_on_submit():
            tenancy.update_user(user, g.principal, role=Role(form.role.data))
            flash(
                _(
                    "The role of %(email)s is now %(role)s.",
                    email=user.email,
                    role=role_label(user.role),
                )
            )
            return redirect(url_for("portal.staff_page"))
    except Invalid as refused:
        field_error(form, refused)
    return _staff_member_page(user, 422, role=form)


@portal.route("/staff/<uuid:user_id>/access", methods=["POST"])
@managers_only
def change_staff_access(user_id: uuid.UUID) -> Any:
    user = get_or_404(User, user_id, "staff member")
    form = AccessForm(prefix="access")
    try:
        if form.validate_on_submit():
            tenancy.update_user(user, g.principal, active=form.active.data == "yes")
            flash(
                _("%(email)s may sign in again.", email=user.email)
                if user.active
                else _("%(email)s may no longer sign in; their sessions have ended.",
                       email=user.email)
            )  # fmt: skip
            return redirect(url_for("portal.staff_page"))
    except Invalid as refused:
        field_error(form, refused)
    return _staff_member_page(user, 422, access=form)


@portal.route("/staff/<uuid:user_id>/password", methods=["POST"])
@managers_only
def reset_staff_password(user_id: uuid.UUID) -> Any:
    user = get_or_404(User, user_id, "staff member")
    form = PasswordResetForm(prefix="password")
    try:
        if form.validate_on_submit():
            tenancy.update_user(user, g.principal, password=form.password.data)
            flash(_("%(email)s has a new password; their sessions have ended.", email=user.email))
            return redirect(url_for("portal.staff_page"))
    except Invalid as refused:
        field_error(form, refused)
    return _staff_member_page(user, 422, password=form)


# API keys.


@portal.route("/keys", methods=["GET", "POST"])
@managers_only
def api_keys_page() -> Any:
    """The agency's API keys, and a form to create one. A created key's secret is shown on the
    answer to the form, once: reloading that page asks to send the form again, which makes
    another key, never shows this one again."""
    form = ApiKeyForm(prefix="key")
    if form.validate_on_submit():
        issued = tenancy.create_api_key(form.name.data, [form.scope.data], g.principal)
        return render_template(
            "portal/keys_created.html", key=issued.key, secret=issued.secret
        ), 201
    page = paginate(tenancy.api_keys(), requested_page(), PER_PAGE)
    status = 422 if form.is_submitted() else 200
    return render_template("portal/keys.html", form=form, page=page), status


@portal.route("/keys/<uuid:key_id>/revoke", methods=["GET", "POST"])
@managers_only
def revoke_api_key_page(key_id: uuid.UUID) -> Any:
    """Revoking a key asks first: the systems that use it stop working at once."""
    key = get_or_404(ApiKey, key_id, "API key")
    form = ConfirmForm(prefix="revoke")
    if form.validate_on_submit():
        tenancy.revoke_api_key(key)
        flash(_("The key %(name)s is revoked.", name=key.name))
        return redirect(url_for("portal.api_keys_page"))
    return render_template("portal/keys_revoke.html", key=key, form=form)
