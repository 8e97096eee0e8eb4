"""What a contractor adds to a record from its page: evidence of what they did to make amends,
and a request to a referee for a reference. Both forms are on the record's page
(portal/_me_record_actions.html); each write is a plain form, then a redirect back to the page;
a refused form comes back on the page, its errors beside its fields (422), nothing written."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from flask import flash, g, redirect, url_for
from flask_babel import gettext as _
from wtforms import HiddenField
from wtforms.validators import AnyOf

from reputation.conduct import service as conduct
from reputation.conduct.models import ConductEvent
from reputation.contractors.models import Contractor
from reputation.errors import Conflict, Invalid
from reputation.extensions import db
from reputation.persons import service as persons
from reputation.policy.service import policy_in_force
from reputation.portal.blueprint import field_error, portal
from reputation.portal.contractors import counting_incidents
from reputation.portal.forms import StepForm, typed_now
from reputation.portal.me import person_only, person_record_page
from reputation.portal.referees import ReferenceRequestForm
from reputation.references import service as references
from reputation.tenancy.models import Agency


class EvidenceForm(StepForm):
    """A step the contractor records about themselves: its source is theirs, and a reference
    is not among its kinds (a referee gives it, through the other form)."""

    source = HiddenField(default="contractor", validators=[AnyOf(["contractor"])])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [c for c in self.kind.choices if c.value != "reference"]


@portal.app_template_global()
def record_action_forms(timeline: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The forms of a person's record page, offering the incidents of its `timeline` that
    still count: fresh, or the one just refused in its place with its errors and what was
    typed."""
    events = [entry["item"] for entry in timeline if entry["what"] == "event"]
    incidents = counting_incidents(events, policy_in_force()[0])
    fresh = {
        "evidence": EvidenceForm(
            formdata=None, prefix="evidence", data={"occurred_at": typed_now()}, incidents=incidents
        ),
        "reference": ReferenceRequestForm(formdata=None, prefix="reference", incidents=incidents),
    }
    return {**fresh, **g.get("refused_record_forms", {})}


@portal.route("/me/records/<uuid:record_id>/evidence", methods=["POST"])
@person_only
def person_evidence_form(record_id: uuid.UUID) -> Any:
    """Record what the contractor did to make amends, pending until the agency verifies it."""
    with persons.within(persons.link_of(g.person, record_id)) as contractor:
        form = EvidenceForm(prefix="evidence", incidents=_incidents(contractor))
        if form.validate_on_submit():
            try:
                references.bring_evidence(contractor, form.facts())
            except Invalid as refused:
                field_error(form, refused)
            else:
                flash(
                    _(
                        "Your evidence is recorded. %(agency)s sees it now, pending until its "
                        "staff verify it.",
                        agency=_agency_name(contractor),
                    )
                )
                return redirect(url_for("portal.person_record_page", record_id=record_id))
    return _refused(record_id, evidence=form)


@portal.route("/me/records/<uuid:record_id>/reference-requests", methods=["POST"])
@person_only
def person_reference_form(record_id: uuid.UUID) -> Any:
    """Email a referee a one-time link to vouch for the contractor to this record's agency."""
    with persons.within(persons.link_of(g.person, record_id)) as contractor:
        form = ReferenceRequestForm(prefix="reference", incidents=_incidents(contractor))
        status = 422
        if form.validate_on_submit():
            try:
                references.request_reference(contractor, form.facts())
            except (Invalid, Conflict) as refused:
                field_error(form, refused)
                status = 409 if isinstance(refused, Conflict) else 422
            else:
                flash(
                    _(
                        "We emailed %(name)s a link to give their reference. Their answer will "
                        "show on this record, pending until %(agency)s verifies it.",
                        name=form.referee_name.data,
                        agency=_agency_name(contractor),
                    )
                )
                return redirect(url_for("portal.person_record_page", record_id=record_id))
    return _refused(record_id, status, reference=form)


def _incidents(contractor: Contractor) -> list[ConductEvent]:
    events = db.session.scalars(conduct.search(contractor)).all()
    return counting_incidents(events, policy_in_force()[0])


def _agency_name(contractor: Contractor) -> str:
    agency = db.session.get(Agency, contractor.agency_id)
    assert agency is not None
    return agency.name


def _refused(record_id: uuid.UUID, status: int = 422, **refused: Any) -> Any:
    """The record's page again, the refused form in its place (record_action_forms)."""
    g.refused_record_forms = refused
    return person_record_page(record_id), status
