"""The contractors' pages: the searchable list, and a contractor's assessment, trajectory,
explanation and evidence."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from reputation.api.pagination import paginate
from reputation.conduct import service as conduct
from reputation.contractors import service as contractors
from reputation.contractors.models import Contractor
from reputation.extensions import db
from reputation.policy.service import policy_in_force
from reputation.portal import labels
from reputation.portal.blueprint import PER_PAGE, portal, staff_only
from reputation.portal.forms import ContractorSearchForm
from reputation.rehabilitation import service as rehabilitation
from reputation.scoring import service as scoring
from reputation.scoring.models import TrustSnapshot
from reputation.tenancy.lookup import get_or_404
from reputation.trust.policy import BANDS


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
