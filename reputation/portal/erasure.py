"""The agency's erasure requests: the list, the open ones first, which owners and admins read,
and a request's page with the owners' two answers: carry it out (once confirmed by a checkbox,
since it cannot be undone) or refuse it with a reason. Each answer is a plain form, then a
redirect back to the request's page (Post/Redirect/Get); a refused one comes back with its
errors beside its fields (422) and nothing written."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from reputation.api.pagination import paginate
from reputation.contractors import service as contractors
from reputation.contractors.models import Contractor
from reputation.erasure import service as erasure
from reputation.erasure.models import CARRIED_OUT, MAX_TEXT, REFUSED, REQUESTED, ErasureRequest
from reputation.errors import Conflict, Invalid
from reputation.portal.blueprint import (
    PER_PAGE,
    field_error,
    managers_only,
    owners_only,
    portal,
    requested_page,
    staff_in,
)
from reputation.portal.forms import PortalForm
from reputation.roles import Role
from reputation.tenancy.lookup import find, get_or_404

STATUS_LABELS = {
    REQUESTED: _l("Requested"),
    CARRIED_OUT: _l("Carried out"),
    REFUSED: _l("Refused"),
}


@portal.app_context_processor
def _erasure_words() -> dict[str, Any]:
    return {
        "erasure_status_labels": STATUS_LABELS,
        "may_decide_erasure": staff_in(frozenset({Role.OWNER})),
    }


class CarryOutForm(PortalForm):
    confirm = BooleanField(
        _l("I understand: this record is erased for good"),
        validators=[DataRequired(_l("Tick the box to confirm the erasure."))],
    )


class RefuseErasureForm(PortalForm):
    reason = TextAreaField(
        _l("Reason"),
        description=_l("Emailed to the contractor."),
        validators=[DataRequired(), Length(max=MAX_TEXT)],
    )


@portal.route("/erasure-requests")
@managers_only
def erasure_requests_page() -> Any:
    """The agency's erasure requests, a page at a time: the open ones first, the oldest first,
    then the decided ones, the latest first."""
    page = paginate(erasure.queue(), requested_page(), PER_PAGE)
    names = contractors.names_of({asked.contractor_id for asked in page["items"]})
    return render_template("portal/erasure.html", page=page, names=names)


@portal.route("/erasure-requests/<uuid:erasure_request_id>")
@managers_only
def erasure_request_page(erasure_request_id: uuid.UUID) -> Any:
    """A request: whose record, when, why; the decision, or the owners' two answers."""
    return _render(get_or_404(ErasureRequest, erasure_request_id, "erasure request"))


@portal.route("/erasure-requests/<uuid:erasure_request_id>/carry-out", methods=["POST"])
@owners_only
def carry_out_erasure_form(erasure_request_id: uuid.UUID) -> Any:
    """Erase the record, once the owner has ticked the box that confirms it."""
    asked = get_or_404(ErasureRequest, erasure_request_id, "erasure request")
    form = CarryOutForm(prefix="carry-out")
    if not form.validate_on_submit():
        return _render(asked, 422, carry_out=form)
    try:
        erasure.carry_out(asked)
    except Conflict as refused:
        field_error(form, refused)
        return _render(asked, 409, carry_out=form)
    flash(_("The record is erased. The contractor is told by email."))
    return redirect(url_for("portal.erasure_request_page", erasure_request_id=asked.id))


@portal.route("/erasure-requests/<uuid:erasure_request_id>/refuse", methods=["POST"])
@owners_only
def refuse_erasure_form(erasure_request_id: uuid.UUID) -> Any:
    """Refuse the request, with the reason the contractor is sent."""
    asked = get_or_404(ErasureRequest, erasure_request_id, "erasure request")
    form = RefuseErasureForm(prefix="refuse")
    if not form.validate_on_submit():
        return _render(asked, 422, refuse=form)
    try:
        erasure.refuse(asked, form.reason.data.replace("\r\n", "\n"))
    except (Invalid, Conflict) as refused:
        field_error(form, refused)
        return _render(asked, 409 if isinstance(refused, Conflict) else 422, refuse=form)
    flash(_("The request is refused. The contractor is told why by email."))
    return redirect(url_for("portal.erasure_request_page", erasure_request_id=asked.id))


def _render(asked: ErasureRequest, status: int = 200, **refused: PortalForm) -> Any:
    """The request's page; a refused answer's form keeps what was typed and its errors."""
    forms: dict[str, PortalForm] = {
        "carry_out": CarryOutForm(formdata=None, prefix="carry-out"),
        "refuse": RefuseErasureForm(formdata=None, prefix="refuse"),
        **refused,
    }
    return render_template(
        "portal/erasure_detail.html",
        erasure_request=asked,
        contractor=find(Contractor, asked.contractor_id),
        **forms,
    ), status
