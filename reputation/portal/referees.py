"""References on the portal: a recruiter asks a referee; the referee answers on the page their
emailed link opens (`/r/<token>`, no account, once); and beside the pending step the answer
made, the staff read the warning signs that the contractor wrote it themselves, before they
verify it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import (
    DateField,
    EmailField,
    Field,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from reputation import clock
from reputation.conduct import service as conduct
from reputation.conduct.models import ConductEvent
from reputation.contractors.models import Contractor
from reputation.errors import Conflict, DomainError, Forbidden, Gone, Invalid
from reputation.extensions import db
from reputation.policy.service import policy_in_force
from reputation.portal.blueprint import field_error, portal, writers_only
from reputation.portal.contractors import counting_incidents, write_page
from reputation.portal.forms import PortalForm, email_address, incident_choices
from reputation.references import service as references
from reputation.references.models import (
    FREE_MAIL,
    OWN_EMAIL,
    QUICK_ANSWER,
    SAME_DOMAIN,
    SESSION_ADDRESS,
)
from reputation.rehabilitation.models import RehabilitationStep
from reputation.tenancy import login_limits
from reputation.tenancy.lookup import get_or_404
from reputation.tenancy.models import Agency


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _text(value: str | None) -> str:
    """A textarea's text with the line breaks stored as the API's: a browser sends CRLF."""
    return (value or "").replace("\r\n", "\n")


class ReferenceRequestForm(PortalForm):
    """Who to ask for a reference, and the incident they should speak to, if any."""

    referee_name = StringField(
        _l("The referee's name"),
        filters=[_stripped],
        validators=[DataRequired(), Length(max=200)],
    )
    referee_email = EmailField(
        _l("The referee's email address"),
        filters=[_stripped],
        description=_l("The link to answer goes there; an address at their workplace is best."),
        validators=[DataRequired(), Length(max=254), email_address],
    )
    relationship = StringField(
        _l("Relationship"),
        filters=[_stripped],
        description=_l("How the referee knows the contractor: a client, a manager, a colleague…"),
        validators=[DataRequired(), Length(max=200)],
    )
    addresses_event_id = SelectField(
        _l("The incident they should speak to"), validators=[Optional()]
    )

    def __init__(self, *args: Any, incidents: Sequence[ConductEvent] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.addresses_event_id.choices = incident_choices(incidents)

    def facts(self) -> dict[str, Any]:
        """The request as the service takes it."""
        return {
            "referee_name": self.referee_name.data,
            "referee_email": self.referee_email.data,
            "relationship": self.relationship.data,
            "addresses_event_id": uuid.UUID(self.addresses_event_id.data)
            if self.addresses_event_id.data
            else None,
        }


def _not_ahead(form: Any, field: Field) -> None:
    if field.data is not None and field.data > clock.now().date():
        raise ValidationError(_l("This is in the future."))


class RefereeForm(PortalForm):
    """A referee's answers: the relationship and its dates, whether they would work with the
    contractor again, what the contractor did about the incident named (only when one is), and
    their own words."""

    relationship = StringField(
        _l("How you know them"),
        filters=[_stripped],
        description=_l("A client, a manager, a colleague…"),
        validators=[DataRequired(), Length(max=200)],
    )
    known_from = DateField(_l("Since"), validators=[InputRequired(), _not_ahead])
    known_until = DateField(
        _l("Until"),
        description=_l("Leave it empty if you still work together."),
        validators=[Optional(), _not_ahead],
    )
    would_work_again = RadioField(
        _l("Would you work with them again?"),
        choices=[
            SelectChoice("yes", _l("Yes")),
            SelectChoice("no", _l("No")),
            SelectChoice("unsure", _l("Not sure")),
        ],
        validators=[InputRequired()],
    )
    repair = TextAreaField(
        _l("What did they do to repair the incident?"),
        description=_l("What you saw them do, and what came of it."),
        validators=[Optional(), Length(max=5000)],
    )
    comments = TextAreaField(
        _l("Anything else the agency should know"), validators=[Optional(), Length(max=10_000)]
    )

    def __init__(self, *args: Any, incident: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not incident:
            del self.repair

    def validate_known_until(self, field: Field) -> None:
        start: date | None = self.known_from.data
        if field.data is not None and start is not None and field.data < start:
            raise ValidationError(_("This is before the start."))

    def answers(self) -> dict[str, Any]:
        """The answers as the service records them: dates in ISO 8601."""
        return {
            "relationship": self.relationship.data,
            "known_from": self.known_from.data.isoformat(),
            "known_until": self.known_until.data.isoformat() if self.known_until.data else None,
            "would_work_again": self.would_work_again.data,
            "repair": (_text(self.repair.data) or None) if "repair" in self else None,
            "comments": _text(self.comments.data),
        }


@portal.route("/contractors/<uuid:contractor_id>/reference-requests", methods=["GET", "POST"])
@writers_only
def request_reference_form(contractor_id: uuid.UUID) -> Any:
    """Email a referee a one-time link to vouch for the contractor."""
    contractor = get_or_404(Contractor, contractor_id, "contractor")
    events = db.session.scalars(conduct.search(contractor)).all()
    form = ReferenceRequestForm(incidents=counting_incidents(events, policy_in_force()[0]))
    status = None
    if form.validate_on_submit():
        try:
            references.request_reference(contractor, form.facts())
        except (Invalid, Conflict) as refused:
            field_error(form, refused)
            status = 409 if isinstance(refused, Conflict) else 422
        else:
            flash(
                _(
                    "A request for a reference was emailed to %(email)s. The answer will show "
                    "here as a pending step, with any warning signs.",
                    email=form.referee_email.data,
                )
            )
            return redirect(url_for("portal.contractor_page", contractor_id=contractor.id))
    return write_page(
        form,
        contractor,
        _("Ask for a reference"),
        _("Send the request"),
        intro=_(
            "The referee gets an email with a link that works once, for 14 days, and needs no "
            "account. Their answer is recorded as a reference step, pending until you verify it."
        ),
        status=status,
    )


@portal.route("/r/<token>", methods=["GET", "POST"])
@login_limits.token_limited
def referee_page(token: str) -> Any:
    """A referee's form, from the link emailed to them: who asks, about whom, and their answers,
    recorded once as a pending reference step."""
    if g.get("principal") is not None:
        raise Forbidden(_("This link is for the referee it was sent to; sign out of the portal."))
    try:
        reference = references.open_request(token, answering=request.method == "POST")
    except (Gone, Conflict) as closed:
        return _closed(closed)
    contractor = db.session.get(Contractor, (reference.agency_id, reference.contractor_id))
    event = (
        db.session.get(ConductEvent, (reference.agency_id, reference.addresses_event_id))
        if reference.addresses_event_id
        else None
    )
    agency = db.session.get(Agency, reference.agency_id)
    assert contractor is not None and agency is not None  # the request's foreign keys hold them
    form = RefereeForm(incident=event is not None, data={"relationship": reference.relationship})
    if form.validate_on_submit():
        try:
            references.answer(reference, form.answers(), request.remote_addr)
        except Conflict as closed:
            return _closed(closed)
        flash(
            _("Thank you: your reference is recorded, and %(agency)s has it.", agency=agency.name)
        )
        return redirect(url_for("portal.referee_thanks"))
    page = render_template(
        "portal/referee.html",
        form=form,
        reference=reference,
        contractor=contractor,
        agency=agency,
        event=event,
        asked_by_contractor=reference.recorded_by_type == "person",
    )
    return page, 422 if form.is_submitted() else 200


@portal.route("/r/thanks")
def referee_thanks() -> Any:
    """Where a referee lands once their answer is recorded."""
    return render_template("portal/referee_thanks.html")


def _closed(refusal: DomainError) -> Any:
    """A link that no longer takes an answer: what happened, and what to do next."""
    status = 409 if isinstance(refusal, Conflict) else 410
    return render_template("portal/referee_closed.html", message=refusal.detail), status


@portal.app_template_global()
def reference_warnings(step: RehabilitationStep) -> list[str] | None:
    """The warning signs of the referee's answer that made `step`, in sentences (an empty list:
    none); None when no referee's answer made it."""
    reference = references.request_of_step(step)
    if reference is None:
        return None
    return [
        warning_sentence(signal["code"], signal["details"]) for signal in reference.fraud_signals
    ]


def warning_sentence(code: str, details: dict[str, Any]) -> str:
    """One warning sign in plain words, for the staff who verify the reference."""
    if code == OWN_EMAIL:
        return _("The referee's address, %(email)s, is the contractor's own.", **details)
    if code == SAME_DOMAIN:
        return _("The referee's address is at the contractor's own domain, %(domain)s.", **details)
    if code == FREE_MAIL:
        return _(
            "The referee writes from a free-mail address (%(domain)s), which anyone can open "
            "in any name.",
            **details,
        )
    if code == SESSION_ADDRESS:
        return _(
            "The answer was sent from an address the contractor signed in from (%(address)s).",
            **details,
        )
    assert code == QUICK_ANSWER, code  # the last of models.SIGNALS
    return ngettext(
        "The answer came %(num)d second after the request was sent.",
        "The answer came %(num)d seconds after the request was sent.",
        details["seconds"],
    )
