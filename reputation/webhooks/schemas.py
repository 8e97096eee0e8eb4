from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from marshmallow import validate

from reputation.api.fields import FullMatch, StrictBoolean, Timestamp, one_of, text
from reputation.api.pagination import PageArgs
from reputation.webhooks.models import EVENT_TYPES, FAILED, PENDING, PING, SUCCEEDED

HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$"  # an HTTP token (RFC 9110)
HEADER_VALUE = r"^[ -~]*$"  # printable ASCII: no line breaks, no NUL
MAX_HEADERS = 20
# What the URL looks like; where it may point the service checks (webhooks/addresses.py): https
# to public addresses, or http too where the operator allows private networks (development).
WEBHOOK_URL = r"^https?://[!-~]+$"


def _headers(**kwargs: Any) -> ma.fields.Dict:
    return ma.fields.Dict(
        # OpenAPI 3.0 cannot state a rule for keys: the description does.
        keys=ma.fields.String(validate=FullMatch(HEADER_NAME, error="Not a header name.")),
        values=ma.fields.String(
            validate=[
                validate.Length(max=1000),
                FullMatch(HEADER_VALUE, error="A header value is printable ASCII."),
            ]
        ),
        validate=validate.Length(max=MAX_HEADERS, error=f"At most {MAX_HEADERS} custom headers."),
        metadata={
            "description": "Sent with every message, e.g. an authorisation of your own. Each "
            "name is an HTTP field name (RFC 9110 token, up to 100 characters), neither one the "
            "service sets (Content-Type, Content-Length, Host, User-Agent, Transfer-Encoding, "
            "Connection) nor one starting with webhook-"
        },
        **kwargs,
    )


def _url(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(
        validate=[
            validate.Length(min=1, max=2000),
            FullMatch(WEBHOOK_URL, error="Webhook URLs use HTTPS, in printable ASCII."),
        ],
        metadata={
            "description": "An https:// URL of printable ASCII, without credentials, whose host "
            "resolves to public internet addresses only: checked when it is registered and at "
            "every delivery (http:// and private addresses only where the operator allows "
            "private networks, for development)"
        },
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
    url = _url(required=True)
    description = text(500, load_default="")
    event_types = _event_types(load_default=list)
    enabled = StrictBoolean(load_default=True)
    headers = _headers(load_default=dict)


class EndpointUpdateSchema(ma.Schema):
    url = _url()
    description = text(500)
    event_types = _event_types()
    enabled = StrictBoolean()
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
