"""The agency's webhook endpoints and their deliveries: owners and admins only, as in the API.

An endpoint's signing secret is shown once, in the answer to the form that made it or rotated
it, never again. The delivery log follows the messages that are about to be attempted (htmx).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from reputation import clock
from reputation.api.pagination import paginate
from reputation.errors import Invalid
from reputation.portal.blueprint import (
    PER_PAGE,
    field_error,
    managers_only,
    page_or_part,
    portal,
    requested_page,
    schema_errors,
)
from reputation.portal.forms import FilterForm, PortalForm
from reputation.portal.labels import DELIVERY_STATUSES
from reputation.tenancy.lookup import get_or_404
from reputation.webhooks import service
from reputation.webhooks.models import EVENT_TYPES, PENDING, WebhookEndpoint, WebhookMessage
from reputation.webhooks.schemas import (
    MAX_HEADERS,
    WEBHOOK_URL,
    EndpointCreateSchema,
    EndpointUpdateSchema,
)

# What each event type tells the receiver, in the reader's words; the names stay as integrators
# read them in the payloads (DESIGN.md, "Webhooks").
EVENT_TYPE_LABELS = {
    "contractor.created": _l("a contractor is added"),
    "conduct_event.recorded": _l("a conduct event is recorded"),
    "conduct_event.retracted": _l("a conduct event is retracted"),
    "rehabilitation.recorded": _l("a rehabilitation step is recorded"),
    "rehabilitation.verified": _l("a rehabilitation step is verified or rejected"),
    "trajectory.updated": _l("a contractor's trajectory is recomputed"),
    "assessment.changed": _l("a contractor's band or eligibility changes"),
    "dispute.opened": _l("a contractor disputes an event"),
    "dispute.resolved": _l("a dispute is resolved"),
    "statement.added": _l("a contractor adds a statement to an event"),
}
# The delivery log asks again for news while a message shown is due this soon.
FOLLOW_DUE_WITHIN = timedelta(minutes=1)


class EndpointForm(PortalForm):
    """An endpoint as the API takes it: `url`, `description`, `event_types`, `headers`."""

    url = StringField(
        _l("URL"),
        validators=[
            DataRequired(),
            Length(max=2000),
            Regexp(
                WEBHOOK_URL,
                message=_l("Give an https:// address, in printable ASCII without spaces."),
            ),
        ],
    )
    description = StringField(_l("Description"), validators=[Optional(), Length(max=500)])
    event_types = SelectMultipleField(
        _l("Events to send (none ticked: every event)"),
        choices=list(EVENT_TYPES),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[Optional()],
    )
    headers = TextAreaField(
        _l("Custom headers (one “Name: value” a line)"),
        validators=[Optional(), Length(max=MAX_HEADERS * 1200)],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.event_types.choices = [
            SelectChoice(name, f"{name} — {EVENT_TYPE_LABELS[name]}") for name in EVENT_TYPES
        ]

    def validate_headers(self, field: TextAreaField) -> None:
        for line in (field.data or "").splitlines():
            if line.strip() and ":" not in line:
                raise ValidationError(_("Write each header as “Name: value”, one a line."))

    def facts(self) -> dict[str, Any]:
        """The form's values as an API body."""
        headers = {}
        for line in (self.headers.data or "").splitlines():
            if line.strip():
                name, _colon, value = line.partition(":")
                headers[name.strip()] = value.strip()
        return {
            "url": self.url.data.strip(),
            "description": self.description.data or "",
            "event_types": list(self.event_types.data or []),
            "headers": headers,
        }


class RecoverForm(PortalForm):
    since = DateField(_l("Failed since"), validators=[DataRequired()])


class DeliveryFilterForm(FilterForm):
    """The delivery log's filter."""

    status = SelectField(_l("Status"), validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = [
            SelectChoice("", _("Any status")),
            *(SelectChoice(status, str(label)) for status, label in DELIVERY_STATUSES.items()),
        ]


def _headers_text(headers: dict[str, str]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in headers.items())


def _loaded(form: EndpointForm, schema: ma.Schema, facts: dict[str, Any]) -> dict[str, Any] | None:
    """`facts` as the API's schema loads them, or None with its refusals beside their fields:
    the form accepts exactly what the API does."""
    try:
        return dict(schema.load(facts))
    except ma.ValidationError as refused:
        schema_errors(form, refused)
        return None


def _endpoint_page(endpoint: WebhookEndpoint, recover_form: RecoverForm | None = None) -> str:
    filters = DeliveryFilterForm(request.args)
    status = filters.status.data if filters.validate() else None
    page = paginate(service.deliveries(endpoint, status or None, None), requested_page(), PER_PAGE)
    soon = clock.now() + FOLLOW_DUE_WITHIN
    following = any(
        message.status == PENDING
        and message.next_attempt_at is not None
        and message.next_attempt_at <= soon
        for message in page["items"]
    )
    return render_template(
        page_or_part("portal/webhook.html", "portal/_webhook_deliveries.html"),
        endpoint=endpoint,
        page=page,
        filters=filters,
        following=following,
        recover_form=recover_form or RecoverForm(),
        statuses=DELIVERY_STATUSES,
    )


@portal.route("/webhooks", methods=["GET", "POST"])
@managers_only
def webhooks_page() -> Any:
    """The agency's endpoints, and the form that adds one; its secret is shown once."""
    form = EndpointForm()
    status = 200
    if form.validate_on_submit():
        facts = _loaded(form, EndpointCreateSchema(), form.facts())
        if facts is not None:
            try:
                endpoint = service.create_endpoint(facts)
            except Invalid as refused:
                field_error(form, refused)
            else:
                return render_template(
                    "portal/webhook_secret.html", endpoint=endpoint, rotated=False
                ), 201
        status = 422
    elif form.is_submitted():
        status = 422
    page = paginate(service.endpoints(), requested_page(), PER_PAGE)
    return render_template("portal/webhooks.html", form=form, page=page), status


@portal.route("/webhooks/<uuid:endpoint_id>")
@managers_only
def webhook_page(endpoint_id: uuid.UUID) -> Any:
    """An endpoint, its controls, and its delivery log a page at a time (htmx follows the
    messages about to be attempted)."""
    return _endpoint_page(service.find_endpoint(endpoint_id))


@portal.route("/webhooks/<uuid:endpoint_id>/edit", methods=["GET", "POST"])
@managers_only
def edit_webhook(endpoint_id: uuid.UUID) -> Any:
    """Change an endpoint's address, description, events or headers."""
    endpoint = service.find_endpoint(endpoint_id)
    form = EndpointForm(
        data={
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": endpoint.event_types,
            "headers": _headers_text(endpoint.headers),
        }
    )
    status = 200
    if form.validate_on_submit():
        current = {
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": sorted(endpoint.event_types),
            "headers": endpoint.headers,
        }
        submitted = form.facts()
        submitted["event_types"] = sorted(submitted["event_types"])
        changes = {name: value for name, value in submitted.items() if value != current[name]}
        loaded = _loaded(form, EndpointUpdateSchema(), changes)
        if loaded is not None:
            try:
                if loaded:
                    service.update_endpoint(endpoint, loaded)
            except Invalid as refused:
                field_error(form, refused)
            else:
                flash(_("The endpoint is saved.") if loaded else _("Nothing was changed."))
                return redirect(url_for("portal.webhook_page", endpoint_id=endpoint.id))
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template("portal/webhook_edit.html", endpoint=endpoint, form=form), status


@portal.route("/webhooks/<uuid:endpoint_id>/enabled", methods=["POST"])
@managers_only
def switch_webhook(endpoint_id: uuid.UUID) -> Any:
    """Turn an endpoint off, or back on (which forgets why it was turned off)."""
    endpoint = service.find_endpoint(endpoint_id)
    enabled = request.form.get("enabled") == "true"
    service.update_endpoint(endpoint, {"enabled": enabled})
    flash(
        _("The endpoint is enabled: events are sent to it again.")
        if enabled
        else _("The endpoint is disabled: no event is sent to it until it is enabled.")
    )
    return redirect(url_for("portal.webhook_page", endpoint_id=endpoint.id))


@portal.route("/webhooks/<uuid:endpoint_id>/rotate-secret", methods=["POST"])
@managers_only
def rotate_webhook_secret(endpoint_id: uuid.UUID) -> Any:
    """A new signing secret, shown once; the old one signs too for a day."""
    endpoint = service.rotate_secret(service.find_endpoint(endpoint_id))
    return render_template("portal/webhook_secret.html", endpoint=endpoint, rotated=True)


@portal.route("/webhooks/<uuid:endpoint_id>/test", methods=["POST"])
@managers_only
def test_webhook(endpoint_id: uuid.UUID) -> Any:
    """A `ping` to the endpoint, through the same path as every event."""
    endpoint = service.find_endpoint(endpoint_id)
    service.send_test(endpoint)
    flash(_("A test event is on its way; it appears in the delivery log below."))
    return redirect(url_for("portal.webhook_page", endpoint_id=endpoint.id))


@portal.route("/webhooks/<uuid:endpoint_id>/delete", methods=["POST"])
@managers_only
def delete_webhook(endpoint_id: uuid.UUID) -> Any:
    """Stop sending to an endpoint for good."""
    endpoint = service.find_endpoint(endpoint_id)
    service.delete_endpoint(endpoint)
    flash(_("The endpoint %(url)s is deleted; nothing more is sent to it.", url=endpoint.url))
    return redirect(url_for("portal.webhooks_page"))


@portal.route("/webhooks/<uuid:endpoint_id>/recover", methods=["POST"])
@managers_only
def recover_webhook(endpoint_id: uuid.UUID) -> Any:
    """Send again every message to the endpoint that failed since a day."""
    endpoint = service.find_endpoint(endpoint_id)
    form = RecoverForm()
    if not form.validate_on_submit():
        return _endpoint_page(endpoint, form), 422
    since = datetime.combine(form.since.data, time(), tzinfo=UTC)
    count = service.recover(endpoint, since)
    flash(
        ngettext(
            "%(num)d failed message is sent again.",
            "%(num)d failed messages are sent again.",
            count,
        )
    )
    return redirect(url_for("portal.webhook_page", endpoint_id=endpoint.id))


@portal.route("/webhooks/deliveries/<uuid:message_id>/retry", methods=["POST"])
@managers_only
def retry_webhook_message(message_id: uuid.UUID) -> Any:
    """Send one message again now."""
    message = get_or_404(WebhookMessage, message_id, "webhook delivery")
    service.retry_message(message)
    flash(_("The message is sent again."))
    return redirect(url_for("portal.webhook_page", endpoint_id=message.endpoint_id))
