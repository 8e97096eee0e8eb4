"""The contractor's own pages: the invitation an agency emailed, signing in and out, the records
linked to the account, and each record as the agency sees it (the assessment, the chart, the
explanation, the evidence with who recorded it, the decisions)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import logout_user

from reputation.conduct import service as conduct
from reputation.contractors.models import Contractor
from reputation.decisions.service import decisions_of
from reputation.errors import Conflict, Forbidden, Invalid
from reputation.extensions import db
from reputation.persons import service as persons
from reputation.policy.service import policy_in_force
from reputation.portal import labels
from reputation.portal.blueprint import F, field_error, local, portal
from reputation.portal.contractors import assessment_context, saved_assessment, timeline
from reputation.portal.forms import AccountCreationForm, PersonSignInForm, PortalForm
from reputation.rehabilitation import service as rehabilitation
from reputation.tenancy import login_limits
from reputation.tenancy.models import Agency
from reputation.tenancy.scope import act_as_person


def person_only(view: F) -> F:
    """A page for a contractor signed in to their own account: signed out, the sign-in page and
    back; staff never reach these pages (403)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("principal") is not None:
            raise Forbidden(_("These pages are the contractors' own; staff use the portal."))
        if g.get("person") is None:
            return redirect(url_for("portal.person_sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@portal.route("/invite/<token>", methods=["GET", "POST"])
@login_limits.token_limited
def invitation_page(token: str) -> Any:
    """An agency's invitation: create an account, or add the record to the one signed in."""
    if g.get("principal") is not None:
        raise Forbidden(_("This link is for the contractor it was sent to; sign out first."))
    invitation = persons.open_invitation(token)
    agency = db.session.get(Agency, invitation.agency_id)
    form: PortalForm = PortalForm() if g.get("person") else AccountCreationForm()
    status = 200
    if form.validate_on_submit():
        try:
            if g.get("person"):
                found = persons.link(g.person, token)
            else:
                persons.sign_up(token, form.password.data)
                found = persons.link_of(g.person, invitation.contractor_id)
        except (Conflict, Invalid) as refused:
            field_error(form, refused)
            status = 409 if isinstance(refused, Conflict) else 422
        else:
            flash(_("%(agency)s's record is now linked to your account.", agency=agency.name))
            return redirect(url_for("portal.person_record_page", record_id=found.contractor_id))
    elif form.is_submitted():
        status = 422
    return render_template(
        "portal/me_invitation.html", form=form, agency=agency, invitation=invitation
    ), status


@portal.route("/me/sign-in", methods=["GET", "POST"])
@login_limits.limited
def person_sign_in() -> Any:
    """A contractor signs in to their own account; signed in, their records."""
    form = PersonSignInForm()
    status = 200
    if form.validate_on_submit():
        if persons.sign_in(form.email.data, form.password.data) is not None:
            return redirect(local(request.args.get("next")) or url_for("portal.person_home"))
        form.password.errors = [_("The email or password is not right.")]
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("portal/me_sign_in.html", form=form), status


@portal.route("/me/sign-out", methods=["POST"])
def person_sign_out() -> Any:
    """End the contractor's sessions, on every device."""
    if g.get("person") is not None:
        persons.end_sessions(g.person)
    act_as_person(None)
    logout_user()
    return redirect(url_for("portal.person_sign_in"))


@portal.route("/me")
@person_only
def person_home() -> Any:
    """The records of every agency linked to the account, each with its assessment."""
    records = [persons.record_of(found, full=False) for found in persons.links_of(g.person)]
    return render_template("portal/me.html", records=records)


@portal.route("/me/records/<uuid:record_id>")
@person_only
def person_record_page(record_id: uuid.UUID) -> Any:
    """One agency's record, all of it, as the agency sees it."""
    with _record(record_id) as (contractor, events, steps, context):
        return render_template(
            "portal/me_record.html",
            timeline=timeline(events, steps),
            decision_label=labels.decision_label,
            decisions=[
                (decision, saved_assessment(decision))
                for decision in db.session.scalars(decisions_of(contractor))
            ],
            **context,
        )


@portal.route("/me/records/<uuid:record_id>/assessment")
@person_only
def person_record_assessment(record_id: uuid.UUID) -> Any:
    """The assessment's part of a record's page, which asks for itself while it is pending."""
    with _record(record_id) as (_contractor, _events, _steps, context):
        return render_template("portal/_contractor_assessment.html", **context)


@contextmanager
def _record(record_id: uuid.UUID) -> Iterator[tuple[Contractor, list[Any], list[Any], dict]]:
    """A record of the signed-in person (a 404 if it is not theirs), in its agency's scope:
    the contractor, the events, the steps and the assessment's part of the page."""
    found = persons.link_of(g.person, record_id)
    with persons.within(found) as contractor:
        events = list(db.session.scalars(conduct.search(contractor)))
        steps = list(db.session.scalars(rehabilitation.search(contractor)))
        poll_url = url_for("portal.person_record_assessment", record_id=record_id)
        context = assessment_context(contractor, events, steps, policy_in_force()[0], poll_url)
        context["agency"] = db.session.get(Agency, found.agency_id)
        yield contractor, events, steps, context
