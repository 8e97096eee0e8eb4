"""The contractors' pages: the searchable list, a new contractor and a contractor's details, and a
contractor's assessment, trajectory, explanation, evidence and decisions, with the forms that
write them for those who may (the writes themselves are in portal/evidence.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import load_only
from wtforms.fields.choices import SelectChoice

from reputation import clock
from reputation.api.pagination import paginate
from reputation.conduct import service as conduct
from reputation.conduct.models import ACTIVE, ConductEvent
from reputation.contractors import service as contractors
from reputation.contractors.models import Contractor
from reputation.decisions.models import Decision
from reputation.decisions.service import decisions_of
from reputation.errors import Conflict, Invalid, Stale
from reputation.extensions import db
from reputation.persons import service as persons
from reputation.policy.service import policy_in_force
from reputation.portal import labels
from reputation.portal.blueprint import (
    PER_PAGE,
    page_or_part,
    portal,
    requested_page,
    staff_in,
    staff_only,
    writers_only,
)
from reputation.portal.forms import (
    ContractorEditForm,
    ContractorForm,
    ContractorSearchForm,
    DecisionForm,
    VerifyForm,
)
from reputation.rehabilitation import service as rehabilitation
from reputation.rehabilitation.models import PENDING, RehabilitationStep
from reputation.roles import EVIDENCE_WRITERS
from reputation.scoring import service as scoring
from reputation.scoring.models import TrustSnapshot
from reputation.scoring.schemas import AssessmentSchema
from reputation.tenancy.lookup import get_or_404
from reputation.trust.policy import BANDS, Policy
from reputation.trust.taxonomy import Valence


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
        filters = {
            "q": form.q.data or None,
            "band": form.band.data or None,
            "eligible": eligible,
            "tag": form.tag.data.strip().lower() if form.tag.data else None,
            "status": form.status.data or None,
            "order": form.order.data or "name",
        }
    found, total = contractors.search_with_total(**filters)
    page = paginate(found, requested_page(), PER_PAGE, total)
    # Only what the list shows of each snapshot, not its explanation or next steps.
    snapshots = {
        snapshot.contractor_id: snapshot
        for snapshot in db.session.scalars(
            select(TrustSnapshot)
            .options(
                load_only(
                    TrustSnapshot.contractor_id,
                    TrustSnapshot.band,
                    TrustSnapshot.eligible,
                    TrustSnapshot.eligible_from,
                )
            )
            .where(
                TrustSnapshot.agency_id == g.principal.agency_id,
                TrustSnapshot.contractor_id.in_([c.id for c in page["items"]]),
            )
        )
    }
    template = page_or_part("portal/contractors.html", "portal/_contractor_results.html")
    return render_template(template, form=form, page=page, snapshots=snapshots)


@portal.route("/contractors/new", methods=["GET", "POST"])
@writers_only
def new_contractor() -> Any:
    """Add a contractor; their page next."""
    form = ContractorForm()
    if form.validate_on_submit():
        try:
            contractor = contractors.create_contractor(**form.facts())
        except Conflict:
            form.external_ref.errors = [_("Another contractor has this external reference.")]
        else:
            flash(_("The contractor %(name)s is added.", name=contractor.name))
            return redirect(url_for("portal.contractor_page", contractor_id=contractor.id))
    return write_page(form, None, _("New contractor"), _("Add the contractor"))


@portal.route("/contractors/<uuid:contractor_id>/edit", methods=["GET", "POST"])
@writers_only
def edit_contractor(contractor_id: uuid.UUID) -> Any:
    """Change a contractor's details, unless someone changed them since the form was opened."""
    contractor = get_or_404(Contractor, contractor_id, "contractor")
    form = ContractorEditForm(
        data={
            "name": contractor.name,
            "email": contractor.email or "",
            "external_ref": contractor.external_ref or "",
            "tags": ", ".join(contractor.tags),
            "status": contractor.status,
            "version": contractor.version,
        }
    )
    status = None
    if form.validate_on_submit():
        try:
            contractors.update_contractor(contractor, form.facts(), f'"{form.version.data}"')
        except Stale:
            # What they typed stays; sent again, it knowingly replaces the change made meanwhile.
            flash(_("Someone changed this contractor meanwhile: check, and save again."), "error")
            form.version.data = str(contractor.version)
            status = 409
        except Conflict:
            form.external_ref.errors = [_("Another contractor has this external reference.")]
        else:
            flash(_("The changes are saved."))
            return redirect(url_for("portal.contractor_page", contractor_id=contractor.id))
    title = _("Edit the contractor's details")
    return write_page(form, contractor, title, _("Save the changes"), status=status)


@portal.route("/contractors/<uuid:contractor_id>")
@staff_only
def contractor_page(contractor_id: uuid.UUID) -> Any:
    """A contractor: the assessment, the trajectory chart, the explanation, the evidence and
    the decisions."""
    return render_contractor(get_or_404(Contractor, contractor_id, "contractor"))


@portal.route("/contractors/<uuid:contractor_id>/invitations", methods=["POST"])
@writers_only
def invite_contractor(contractor_id: uuid.UUID) -> Any:
    """Email the contractor a one-time link to see their record and answer it."""
    contractor = get_or_404(Contractor, contractor_id, "contractor")
    try:
        persons.invite(contractor)
    except Invalid as refused:
        flash(refused.detail, "error")
    else:
        flash(
            _("An invitation to see their record was emailed to %(email)s.", email=contractor.email)
        )
    return redirect(url_for("portal.contractor_page", contractor_id=contractor.id))


def write_page(
    form: Any,
    contractor: Contractor | None,
    title: str,
    submit: str,
    event: ConductEvent | None = None,
    intro: str | None = None,
    status: int | None = None,
) -> Any:
    """A form on a page of its own, about a contractor (or a new one) and maybe one of their
    events; 422 when it was sent and refused."""
    page = render_template(
        "portal/contractor_write.html",
        form=form,
        contractor=contractor,
        title=title,
        submit=submit,
        event=event,
        intro=intro,
    )
    return page, status or (422 if form.is_submitted() else 200)


def render_contractor(contractor: Contractor, status: int = 200, **failed: Any) -> Any:
    """The contractor's page; with `failed`, the form (by name) that was refused, its errors
    beside its fields and what was typed kept, in its disclosure left open."""
    events = list(db.session.scalars(conduct.search(contractor)))
    steps = list(db.session.scalars(rehabilitation.search(contractor)))
    policy = policy_in_force()[0]
    context = assessment_context(contractor, events, steps, policy)
    forms: dict[str, Any] = {}
    if staff_in(EVIDENCE_WRITERS):
        forms = writers_forms(steps, failed)
    return render_template(
        "portal/contractor.html",
        timeline=timeline(events, steps),
        decision_label=labels.decision_label,
        decisions=[
            (decision, saved_assessment(decision))
            for decision in db.session.scalars(decisions_of(contractor))
        ],
        forms=forms,
        **context,
    ), status


def saved_assessment(decision: Decision) -> SimpleNamespace | None:
    """The assessment a decision was saved with, read back through the schema that wrote it,
    so that the page says it as it says the current one."""
    if decision.assessment is None:
        return None
    return SimpleNamespace(**AssessmentSchema().load(decision.assessment))


def assessment_context(
    contractor: Contractor,
    events: Sequence[ConductEvent],
    steps: Sequence[RehabilitationStep],
    policy: Policy,
    poll_url: str | None = None,
) -> dict[str, Any]:
    """What the assessment's part of the page shows, which refreshes itself while the worker
    recomputes (asking `poll_url`, by default the staff's address of the part): the assessment,
    the chart's data, and the blockers and next steps in words."""
    assessment = scoring.current_assessment(contractor)
    incidents = {str(event.id): event for event in events}
    today = assessment.computed_at.date() if assessment.computed_at else clock.now().date()
    chart = {
        "computed_at": assessment.computed_at.isoformat() if assessment.computed_at else None,
        "points": [
            {"at": p.at.timestamp(), "trust": p.trust, "uncertainty": p.uncertainty}
            for p in scoring.trajectory_points(contractor, None, None)
        ],
        "projection": assessment.projection or [],  # none before the first computation
        # The agency's own thresholds, which its policy may have moved.
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
    return {
        "contractor": contractor,
        "assessment": assessment,
        # A contractor with no evidence yet is never computed, and nothing is on its way.
        "live": assessment.pending and bool(events or steps),
        "poll_url": poll_url
        or url_for("portal.contractor_assessment", contractor_id=contractor.id),
        "chart": chart,
        "evidence_by_id": {str(item.id): item for item in (*events, *steps)},
        "blockers": [
            labels.blocker_sentence(
                blocker, incidents, assessment.trust, policy.eligibility_threshold
            )
            for blocker in assessment.blockers
        ],
        "next_steps": labels.next_step_advice(
            assessment.next_steps, incidents, assessment.eligible_from, today
        ),
    }


def timeline(
    events: Sequence[ConductEvent], steps: Sequence[RehabilitationStep]
) -> list[dict[str, Any]]:
    """Events and steps, the latest first; each event with the version it amended, if any, and
    each step with the incident it addresses."""
    by_id = {event.id: event for event in events}
    entries = [
        {"what": "event", "item": event, "amends": by_id.get(event.supersedes_id)}
        for event in events
    ] + [
        {"what": "step", "item": step, "addresses": by_id.get(step.addresses_event_id)}
        for step in steps
    ]
    return sorted(entries, key=lambda entry: entry["item"].occurred_at, reverse=True)


def counting_incidents(events: Sequence[ConductEvent], policy: Policy) -> list[ConductEvent]:
    """The negative events a step may address and the model still counts: the current version
    of each, younger than the age at which negative evidence stops counting (§1)."""
    oldest = clock.now() - timedelta(days=policy.max_negative_age_days)
    return [
        event
        for event in events
        if event.status == ACTIVE
        and event.valence == Valence.NEGATIVE
        and event.occurred_at >= oldest
    ]


def writers_forms(steps: Sequence[RehabilitationStep], failed: dict[str, Any]) -> dict[str, Any]:
    """The write forms of the page itself, a verdict for each pending step and the decision:
    fresh (formdata=None: what the request sent belongs to the refused one), and the refused
    one, if any, in its place."""
    verify = {
        step.id: VerifyForm(formdata=None, prefix=f"verify-{step.id}")
        for step in steps
        if step.status == PENDING
    }
    if "verify" in failed:
        step_id, refused = failed["verify"]
        verify[step_id] = refused
    decision = failed.get("decision") or DecisionForm(formdata=None, prefix="decision")
    return {"verify": verify, "decision": decision}
