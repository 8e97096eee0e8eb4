"""Writing a contractor's evidence: events, steps, retractions, amendments, verifications and
decisions; and the assessment refreshed as soon as the worker has stored it.

Recording an event or a step, amending and retracting an event are forms on pages of their own,
linked from the contractor's page; verifying a step and recording a decision are forms on that
page. Each write is a plain form, then a redirect back to the contractor's page
(Post/Redirect/Get), so it works without JavaScript. A refused form comes back with its errors
beside its fields (422) and nothing written: the request's transaction rolls back
(api/hooks.py). The contractor's page then polls `contractor_assessment` while the assessment is
pending, and the worker's result replaces the stale one without a reload.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from reputation.conduct import service as conduct
from reputation.conduct.models import ACTIVE, ConductEvent
from reputation.contractors.models import Contractor
from reputation.decisions.service import record_decision
from reputation.errors import Conflict, Invalid
from reputation.extensions import db
from reputation.policy.service import policy_in_force
from reputation.portal.blueprint import field_error, portal, staff_only, writers_only
from reputation.portal.contractors import (
    assessment_context,
    counting_incidents,
    render_contractor,
    write_page,
)
from reputation.portal.forms import (
    AmendForm,
    DecisionForm,
    EventForm,
    RetractForm,
    StepForm,
    VerifyForm,
    typed_now,
)
from reputation.rehabilitation import service as rehabilitation
from reputation.rehabilitation.models import RehabilitationStep
from reputation.tenancy.lookup import find, get_or_404
from reputation.trust.taxonomy import Valence


def _back_to(contractor_id: uuid.UUID, message: str) -> Any:
    flash(message)
    return redirect(url_for("portal.contractor_page", contractor_id=contractor_id))


def _current_version(event_id: uuid.UUID, refusal: str) -> ConductEvent:
    """The event, if it is the current version of one that counts (retracted, superseded and
    overturned versions are the record, not something to change)."""
    event = get_or_404(ConductEvent, event_id, "conduct event")
    if event.status != ACTIVE:
        raise Conflict(refusal)
    return event


def _contractor_of(item: ConductEvent | RehabilitationStep) -> Contractor:
    contractor = find(Contractor, item.contractor_id)
    assert contractor is not None  # the evidence's foreign key holds it
    return contractor


@portal.route("/contractors/<uuid:contractor_id>/assessment")
@staff_only
def contractor_assessment(contractor_id: uuid.UUID) -> Any:
    """The assessment, the chart's data and the explanation: the part of the page that polls
    itself while the assessment is pending, and stops once the worker's result is in."""
    contractor = get_or_404(Contractor, contractor_id, "contractor")
    events = list(db.session.scalars(conduct.search(contractor)))
    steps = list(db.session.scalars(rehabilitation.search(contractor)))
    context = assessment_context(contractor, events, steps, policy_in_force()[0])
    return render_template("portal/_contractor_assessment.html", polled=True, **context)


@portal.route("/contractors/<uuid:contractor_id>/events/new", methods=["GET", "POST"])
@writers_only
def record_event_form(contractor_id: uuid.UUID) -> Any:
    """Record a conduct event."""
    contractor = get_or_404(Contractor, contractor_id, "contractor")
    form = EventForm(data={"occurred_at": typed_now()})
    if form.validate_on_submit():
        try:
            conduct.record_event(contractor, form.facts())
        except (Invalid, Conflict) as refused:
            field_error(form, refused)
        else:
            return _back_to(contractor.id, _("The event is recorded."))
    return write_page(form, contractor, _("Record an event"), _("Record the event"))


@portal.route("/contractors/<uuid:contractor_id>/steps/new", methods=["GET", "POST"])
@writers_only
def record_step_form(contractor_id: uuid.UUID) -> Any:
    """Record a rehabilitation step, pending until someone verifies or rejects it; it may
    address one of the incidents that count."""
    contractor = get_or_404(Contractor, contractor_id, "contractor")
    events = db.session.scalars(conduct.search(contractor)).all()
    form = StepForm(
        data={"occurred_at": typed_now()},
        incidents=counting_incidents(events, policy_in_force()[0]),
    )
    if form.validate_on_submit():
        try:
            rehabilitation.record_step(contractor, form.facts())
        except (Invalid, Conflict) as refused:
            field_error(form, refused)
        else:
            return _back_to(contractor.id, _("The step is recorded, pending verification."))
    return write_page(form, contractor, _("Record a rehabilitation step"), _("Record the step"))


@portal.route("/events/<uuid:event_id>/retract", methods=["GET", "POST"])
@writers_only
def retract_event_form(event_id: uuid.UUID) -> Any:
    """Retract an event, with the reason: it stops counting and stays on the record."""
    event = _current_version(event_id, _("Only the current version of an event can be retracted."))
    form = RetractForm()
    if form.validate_on_submit():
        conduct.retract_event(event, form.reason.data)
        return _back_to(event.contractor_id, _("The event is retracted."))
    return write_page(
        form,
        _contractor_of(event),
        _("Retract an event"),
        _("Retract the event"),
        event=event,
        intro=_(
            "A retracted event stops counting at once and stays on the record, with the reason: "
            "retract what should never have been recorded, such as an event recorded against the "
            "wrong person. To correct what was recorded, amend it instead."
        ),
    )


@portal.route("/events/<uuid:event_id>/amend", methods=["GET", "POST"])
@writers_only
def amend_event_form(event_id: uuid.UUID) -> Any:
    """A new version of an event, what it changes, and why; the version amended stays on the
    record, superseded."""
    event = _current_version(event_id, _("Only the current version of an event can be amended."))
    form = (
        AmendForm(valence=Valence(event.valence))
        if request.method == "POST"
        else AmendForm.of(event)
    )
    if form.validate_on_submit():
        try:
            conduct.amend_event(event, form.changes(event))
        except Invalid as refused:
            field_error(form, refused)
        else:
            return _back_to(event.contractor_id, _("The event is amended."))
    return write_page(
        form,
        _contractor_of(event),
        _("Amend an event"),
        _("Amend the event"),
        event=event,
        intro=_(
            "The amendment is a new version of the event; this one stays on the record, marked "
            "superseded. An incident stays an incident: to say it was good conduct after all, "
            "retract it and record a new event."
        ),
    )


@portal.route("/steps/<uuid:step_id>/verify", methods=["POST"])
@writers_only
def verify_step_form(step_id: uuid.UUID) -> Any:
    """Verify or reject a pending step; the verdict is final."""
    step = get_or_404(RehabilitationStep, step_id, "rehabilitation step")
    form = VerifyForm(prefix=f"verify-{step.id}")
    if form.validate_on_submit():
        rehabilitation.verify_step(step, form.decision.data, form.note.data or None, g.principal)
        verdict = (
            _("The step is verified.")
            if form.decision.data == "verified"
            else _("The step is rejected.")
        )
        return _back_to(step.contractor_id, verdict)
    return render_contractor(_contractor_of(step), 422, verify=(step.id, form))


@portal.route("/contractors/<uuid:contractor_id>/decisions", methods=["POST"])
@writers_only
def record_decision_form(contractor_id: uuid.UUID) -> Any:
    """Record a person's decision and why, with the assessment current as it is made."""
    contractor = get_or_404(Contractor, contractor_id, "contractor")
    form = DecisionForm(prefix="decision")
    if form.validate_on_submit():
        record_decision(contractor, form.decision.data, form.reason.data)
        return _back_to(contractor.id, _("The decision is recorded."))
    return render_contractor(contractor, 422, decision=form)
