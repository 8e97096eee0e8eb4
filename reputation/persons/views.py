"""The contractor's side of the API (`/api/v1/me`), and the agency's invitations."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g
from flask_login import logout_user

from reputation.api.blueprint import Blueprint
from reputation.contractors.models import Contractor
from reputation.errors import NotAuthenticated
from reputation.persons import service
from reputation.persons.schemas import (
    InvitationSchema,
    LinkSchema,
    PersonLoginSchema,
    PersonSchema,
    RecordSchema,
    RecordSummarySchema,
    SignupSchema,
)
from reputation.tenancy import login_limits
from reputation.tenancy.auth import current_person, evidence_writer, person_only
from reputation.tenancy.lookup import get_or_404
from reputation.tenancy.scope import act_as_person

me = Blueprint("me", __name__, url_prefix="/api/v1/me", description="A contractor's own account")
invitations = Blueprint("invitations", __name__, url_prefix="/api/v1", description="Invitations")


@invitations.route("/contractors/<uuid:contractor_id>/invitations", methods=["POST"])
@evidence_writer
@invitations.response(201, InvitationSchema)
def invite(contractor_id: uuid.UUID) -> Any:
    """Email the contractor a one-time link (valid 7 days) to see their record and answer it.
    The contractor's email address must be one a message can be sent to (422 naming `email`)."""
    return service.invite(get_or_404(Contractor, contractor_id, "contractor"))


@me.route("/signup", methods=["POST"])
@login_limits.token_limited
@me.arguments(SignupSchema)
@me.doc(security=[])
@me.response(201, PersonSchema)
def signup(body: dict[str, str]) -> Any:
    """Create your account from the link an agency emailed you; that agency's record is linked
    to it, and you are signed in."""
    return service.sign_up(body["token"], body["password"])


@me.route("/login", methods=["POST"])
@login_limits.limited
@me.arguments(PersonLoginSchema)
@me.doc(security=[])
@me.response(200, PersonSchema)
def login(body: dict[str, str]) -> Any:
    """Sign in to your account with its email and password."""
    person = service.sign_in(body["email"], body["password"])
    if person is None:
        raise NotAuthenticated("The email or password is not right.")
    return person


@me.route("/logout", methods=["POST"])
@me.doc(security=[])
@me.response(204)
def logout() -> None:
    """Sign out (a 204 without a session too)."""
    person = g.get("person")
    if person is not None:
        service.end_sessions(person)
    act_as_person(None)
    logout_user()


@me.route("/link", methods=["POST"])
@person_only
@login_limits.token_limited
@me.arguments(LinkSchema)
@me.response(201, RecordSummarySchema)
def link(body: dict[str, str]) -> Any:
    """Add the record that another agency's link names to your account."""
    found = service.link(current_person(), body["token"])
    return service.record_of(found, full=False)


@me.route("/records", methods=["GET"])
@person_only
@me.response(200, RecordSummarySchema(many=True))
def records() -> Any:
    """Every agency's record linked to your account, with its assessment."""
    return [service.record_of(found, full=False) for found in service.links_of(current_person())]


@me.route("/records/<uuid:record_id>", methods=["GET"])
@person_only
@me.response(200, RecordSchema)
def record(record_id: uuid.UUID) -> Any:
    """One record, all of it: the evidence and who recorded what and when, the assessment and
    its explanation, the trajectory, and the decisions the agency recorded about you."""
    return service.record_of(service.link_of(current_person(), record_id), full=True)
