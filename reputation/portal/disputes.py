"""The agency's disputes: the queue, the open ones first with their deadlines, and a dispute's
page (the event, the contractor's reason, links and statement) with the form that resolves it,
for those who write the agency's evidence. A resolution is a plain form, then a redirect back
to the dispute's page (Post/Redirect/Get); a refused one comes back with its errors beside its
fields (422) and nothing written."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from reputation.api.pagination import paginate
from reputation.conduct.models import ACTIVE, ConductEvent
from reputation.contractors import service as contractors
from reputation.contractors.models import Contractor
from reputation.disputes import service as disputes
from reputation.disputes.models import (
    AMENDED,
    MAX_TEXT,
    OPEN,
    OVERTURNED,
    RESOLVED,
    UPHELD,
    Dispute,
)
from reputation.errors import Conflict, DomainError, Invalid
from reputation.portal.blueprint import (
    PER_PAGE,
    field_error,
    portal,
    requested_page,
    staff_only,
    writers_only,
)
from reputation.portal.forms import AmendForm, FilterForm, PortalForm
from reputation.tenancy.lookup import find, get_or_404
from reputation.trust.taxonomy import Valence

OUTCOME_LABELS = {UPHELD: _l("Upheld"), AMENDED: _l("Amended"), OVERTURNED: _l("Overturned")}
STATUS_LABELS = {OPEN: _l("Open"), RESOLVED: _l("Resolved")}


@portal.app_template_global()
def outcome_label(outcome: str) -> str:
    return str(OUTCOME_LABELS[outcome])


@portal.app_template_global()
def dispute_status_label(status: str) -> str:
    return str(STATUS_LABELS[status])


class DisputeFilterForm(FilterForm):
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("Open first, then resolved")),
            SelectChoice(OPEN, _l("Open")),
            SelectChoice(RESOLVED, _l("Resolved")),
        ],
        validators=[Optional()],
    )


class ResolveForm(PortalForm):
    outcome = RadioField(
        _l("Outcome"),
        choices=[
            SelectChoice(UPHELD, _l("Upheld: the event stands as recorded")),
            SelectChoice(AMENDED, _l("Amended: a new version of the event counts in its place")),
            SelectChoice(OVERTURNED, _l("Overturned: the event stops counting from now on")),
        ],
        validators=[InputRequired()],
    )
    reason = TextAreaField(
        _l("Reason"),
        description=_l("Emailed to the contractor with the outcome."),
        validators=[DataRequired(), Length(max=MAX_TEXT)],
    )


class AmendmentForm(AmendForm):
    """What an `amended` outcome records: the event's fields, as the amend page has them. It is
    sent with the resolution, under its CSRF token; the resolution's reason is its reason."""

    class Meta:
        csrf = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="amendment", **kwargs)


@portal.route("/disputes")
@staff_only
def disputes_page() -> Any:
    """The agency's disputes, a page at a time: the open ones first, the nearest deadline
    first, then the resolved ones, the latest first; or only the open or resolved ones."""
    form = DisputeFilterForm(request.args)
    status = form.status.data if form.validate() and form.status.data else None
    page = paginate(disputes.queue(status), requested_page(), PER_PAGE)
    disputes.with_events(page["items"])
    names = contractors.names_of({dispute.contractor_id for dispute in page["items"]})
    return render_template("portal/disputes.html", form=form, page=page, names=names)


@portal.route("/disputes/<uuid:dispute_id>")
@staff_only
def dispute_page(dispute_id: uuid.UUID) -> Any:
    """A dispute: the event, the contractor's reason, links and statements, the deadline or
    the outcome; and the form that resolves it, for those who may."""
    return _render(get_or_404(Dispute, dispute_id, "dispute"))


@portal.route("/disputes/<uuid:dispute_id>/resolve", methods=["POST"])
@writers_only
def resolve_dispute_form(dispute_id: uuid.UUID) -> Any:
    """Resolve a dispute with its outcome and reason (and, amended, the amendment)."""
    dispute = get_or_404(Dispute, dispute_id, "dispute")
    event = _event_of(dispute)
    form = ResolveForm(prefix="resolve")
    amendment = AmendmentForm(valence=Valence(event.valence))
    if not form.validate_on_submit():
        return _render(dispute, 422, form, amendment)
    changes = None
    if form.outcome.data == AMENDED and event.status == ACTIVE:
        if not amendment.validate():
            return _render(dispute, 422, form, amendment)
        changes = amendment.changes(event)
    try:
        disputes.resolve(dispute, form.outcome.data, _text(form.reason.data), changes)
    except (Invalid, Conflict) as refused:
        _refusal(form, amendment, refused)
        return _render(dispute, 409 if isinstance(refused, Conflict) else 422, form, amendment)
    flash(
        _(
            "The dispute is resolved: %(outcome)s. The contractor is told why by email.",
            outcome=OUTCOME_LABELS[form.outcome.data],
        )
    )
    return redirect(url_for("portal.dispute_page", dispute_id=dispute.id))


def _text(value: str) -> str:
    return value.replace("\r\n", "\n")  # a browser sends CRLF; the API's text has LF


def _refusal(form: ResolveForm, amendment: AmendmentForm, refused: DomainError) -> None:
    """A refusal beside its field: the amendment's (`amendment.kind`) in the amendment."""
    field = refused.field or ""
    if field == "amendment" or field.startswith("amendment."):
        field_error(amendment, Invalid(field.partition(".")[2] or None, refused.detail))
    else:
        field_error(form, refused)


def _event_of(dispute: Dispute) -> ConductEvent:
    event = find(ConductEvent, dispute.event_id)
    assert event is not None  # a dispute's event exists (a foreign key)
    return event


def _render(
    dispute: Dispute,
    status: int = 200,
    form: ResolveForm | None = None,
    amendment: AmendmentForm | None = None,
) -> Any:
    """The dispute's page; a refused resolution's forms keep what was typed and their errors."""
    event = _event_of(dispute)
    contractor = find(Contractor, dispute.contractor_id)
    if form is None:
        form = ResolveForm(formdata=None, prefix="resolve")
    if amendment is None and event.status == ACTIVE:
        amendment = AmendmentForm.of(event)
    return render_template(
        "portal/disputes_detail.html",
        dispute=dispute,
        event=event,
        contractor=contractor,
        form=form,
        amendment=amendment,
    ), status
