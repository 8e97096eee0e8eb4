"""The contractor's answers to the events of their own records: a statement (their account, shown
beside the event) and a dispute. The forms sit beside each event of a record's page
(portal/_dispute_event.html) and post here; each write is then a redirect back to that event
(Post/Redirect/Get). A refused form comes back on a page of its own, with its errors beside its
fields, and nothing written. An event of a record not theirs is the 404 page."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from reputation.conduct.models import ConductEvent
from reputation.disputes import service as disputes
from reputation.disputes.models import MAX_TEXT
from reputation.errors import Conflict
from reputation.extensions import db
from reputation.portal.blueprint import field_error, portal
from reputation.portal.forms import PortalForm, evidence_links
from reputation.portal.me import person_only
from reputation.tenancy.models import Agency


def _text(value: str | None) -> str:
    return (value or "").replace("\r\n", "\n")  # a browser sends CRLF; the API's text has LF


class StatementForm(PortalForm):
    text = TextAreaField(
        _l("Your statement"),
        description=_l(
            "Up to 2,000 characters. The agency sees it beside the event; a new statement "
            "replaces the one shown, and the earlier ones stay."
        ),
        validators=[DataRequired(), Length(max=MAX_TEXT)],
    )


class DisputeForm(PortalForm):
    reason = TextAreaField(
        _l("Why the event is wrong"), validators=[DataRequired(), Length(max=MAX_TEXT)]
    )
    evidence_urls = TextAreaField(
        _l("Links to your evidence"),
        description=_l("One http:// or https:// address a line."),
        validators=[evidence_links],
    )

    def links(self) -> list[str]:
        return [line.strip() for line in _text(self.evidence_urls.data).split("\n") if line.strip()]


@portal.route("/me/events/<uuid:event_id>/statement", methods=["GET", "POST"])
@person_only
def person_statement_form(event_id: uuid.UUID) -> Any:
    """Give one's account of an event of one's records."""
    form = StatementForm()
    with disputes.persons_event(g.person, event_id) as event:
        status = 200
        if form.validate_on_submit():
            try:
                disputes.add_statement(g.person, event, _text(form.text.data))
            except Conflict as refused:
                field_error(form, refused)
                status = 409
            else:
                return _back_to(event, _("Your statement is added; the agency sees it."))
        elif form.is_submitted():
            status = 422
        return _answer_page(
            form, event, _("Give your account of an event"), _("Add the statement"), status
        )


@portal.route("/me/events/<uuid:event_id>/dispute", methods=["GET", "POST"])
@person_only
def person_dispute_form(event_id: uuid.UUID) -> Any:
    """Dispute an event of one's records."""
    form = DisputeForm()
    with disputes.persons_event(g.person, event_id) as event:
        status = 200
        if form.validate_on_submit():
            try:
                disputes.open_dispute(g.person, event, _text(form.reason.data), form.links())
            except Conflict as refused:
                field_error(form, refused)
                status = 409
            else:
                return _back_to(
                    event,
                    _(
                        "Your dispute is open. The agency has 30 days to resolve it; you will "
                        "be emailed the outcome."
                    ),
                )
        elif form.is_submitted():
            status = 422
        return _answer_page(form, event, _("Dispute an event"), _("Open the dispute"), status)


def _back_to(event: ConductEvent, message: str) -> Any:
    flash(message)
    return redirect(
        url_for(
            "portal.person_record_page",
            record_id=event.contractor_id,
            _anchor=f"event-{event.id}",
        )
    )


def _answer_page(
    form: PortalForm, event: ConductEvent, title: str, submit: str, status: int
) -> Any:
    return render_template(
        "portal/disputes_answer.html",
        form=form,
        event=event,
        agency=db.session.get(Agency, event.agency_id),
        title=title,
        submit=submit,
    ), status
