from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from marshmallow import validate

from reputation.api.fields import Timestamp, one_of, text
from reputation.api.pagination import PageArgs
from reputation.webhooks.models import EVENT_TYPES, FAILED, PENDING, PING, SUCCEEDED

HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$"  # an HTTP token (RFC 9110)
MAX_HEADERS = 20


def _header_values_are_plain(headers: dict[str, str]) -> None:
    if len(headers) > MAX_HEADERS:
        raise ma.ValidationError(f"At most {MAX_HEADERS} custom headers.")
    for name, value in headers.items():
        if not (value.isascii() and value.isprintable()):
            raise ma.ValidationError(
                f"The value of {name} must be printable ASCII (no line breaks, no NUL)."
            )


def _headers(**kwargs: Any) -> ma.fields.Dict:
    return ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Regexp(HEADER_NAME, error="Not a header name.")),
        values=text(1000),
        validate=_header_values_are_plain,
        metadata={"description": "Sent with every message, e.g. an authorisation of your own"},
        **kwargs,
    )


def _event_types(**kwargs: Any) -> ma.fields.List:
    return ma.fields.List(
        one_of(EVENT_TYPES, "event type"),
        validate=validate.Length(max=len(EVENT_TYPES)),
        metadata={"description": "The event types to send; empty means all"},
        **kwargs,
    )


class EndpointCreateSchema(ma.Schema):
    url = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))
    description = text(500, load_default="")
    event_types = _event_types(load_default=list)
    enabled = ma.fields.Boolean(load_default=True)
    headers = _headers(load_default=dict)


class EndpointUpdateSchema(ma.Schema):
    url = ma.fields.String(validate=validate.Length(min=1, max=2000))
    description = text(500)
    event_types = _event_types()
    enabled = ma.fields.Boolean()
    headers = _headers()


class EndpointSchema(ma.Schema):
    id = ma.fields.String()
    url = ma.fields.String()
    description = ma.fields.String()
    event_types = ma.fields.List(ma.fields.String())
    enabled = ma.fields.Boolean()
    disabled_reason = ma.fields.String(allow_none=True)
    headers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    failing_since = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class EndpointWithSecretSchema(EndpointSchema):
    secret = ma.fields.String(
        metadata={"description": "Shown only now: keep it to verify the signatures"}
    )


class AttemptSchema(ma.Schema):
    attempted_at = ma.fields.DateTime()
    status_code = ma.fields.Integer(allow_none=True)
    latency_ms = ma.fields.Float()
    response_body = ma.fields.String(metadata={"description": "The first 16 KiB"})
    error = ma.fields.String(allow_none=True)


class DeliverySchema(ma.Schema):
    id = ma.fields.String()
    webhook_id = ma.fields.String(metadata={"description": "The webhook-id header"})
    endpoint_id = ma.fields.String()
    event_type = ma.fields.String()
    status = ma.fields.String(metadata={"description": "pending, succeeded or failed"})
    attempts = ma.fields.Integer()
    next_attempt_at = ma.fields.DateTime(allow_none=True)
    last_attempt_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    payload = ma.fields.Function(
        lambda message: json.loads(message.body), metadata={"description": "The body posted"}
    )
    attempt_log = ma.fields.List(ma.fields.Nested(AttemptSchema))


class DeliveryQuerySchema(PageArgs):
    status = one_of((PENDING, SUCCEEDED, FAILED), "status")
    event_type = one_of((*EVENT_TYPES, PING), "event type")


class RecoverSchema(ma.Schema):
    since = Timestamp(required=True, metadata={"description": "Resend failed messages from then"})


class RecoveredSchema(ma.Schema):
    messages = ma.fields.Integer(metadata={"description": "How many failed messages resend"})
