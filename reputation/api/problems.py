"""Errors as `application/problem+json` (RFC 9457), one format for every status."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from reputation.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    Invalid,
    NotAuthenticated,
    NotFound,
    Stale,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    detail: str | None = None,
    *,
    title: str | None = None,
    type: str = "about:blank",
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem+json response. `errors` lists field errors: `{field, location, detail}`."""
    body: dict[str, Any] = {
        "type": type,
        "title": title or HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail or HTTP_STATUS_CODES.get(status, "Error"),
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extensions)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class ApiError(HTTPException):
    """An error of HTTP itself (a header, a media type), raised by the API's own layer; services
    raise `reputation.errors` instead."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        location: str = "json",
        type: str = "about:blank",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description=detail)
        self.code = status
        self.field = field
        self.location = location
        self.type = type
        self.extra_headers = headers or {}


def flatten_messages(messages: Any, location: str, prefix: str = "") -> list[dict[str, Any]]:
    """webargs/marshmallow's nested `{field: [messages]}` as a flat list naming each field."""
    if isinstance(messages, dict):
        errors = []
        for key, value in messages.items():
            name = str(key) if key != "_schema" else ""
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            errors.extend(flatten_messages(value, location, path))
        return errors
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [{"field": prefix or None, "location": location, "detail": m} for m in messages]
    if isinstance(messages, list):
        return [e for m in messages for e in flatten_messages(m, location, prefix)]
    return [{"field": prefix or None, "location": location, "detail": str(messages)}]


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    headers = dict(error.get_headers()) if status in (401, 405, 429) else {}
    headers.pop("Content-Type", None)
    data = getattr(error, "data", None) or {}
    if isinstance(error, RateLimitExceeded):
        # The window's length: by then the limit has certainly reset.
        headers["Retry-After"] = str(error.limit.limit.get_expiry())
    if isinstance(error, ApiError):
        headers.update(error.extra_headers)
        errors = None
        if error.field is not None:
            errors = [
                {"field": error.field, "location": error.location, "detail": error.description}
            ]
        return problem(status, error.description, type=error.type, errors=errors, headers=headers)
    if "messages" in data:  # webargs: the request did not match its schema
        errors = [
            e
            for location, messages in data["messages"].items()
            for e in flatten_messages(messages, location)
        ]
        fields = ", ".join(sorted({e["field"] for e in errors if e["field"]}))
        detail = f"Invalid {fields}." if fields else "The request is not valid."
        return problem(status, detail, errors=errors, headers=headers)
    if isinstance(error, InternalServerError):
        return problem(500, "The server failed to handle this request; it has been logged.")
    detail = data.get("message") or error.description
    return problem(status, detail, headers=headers)


# Most specific first: a Stale is a Conflict with a status of its own.
STATUS_OF: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (Stale, 412),
    (Conflict, 409),
    (Gone, 410),
    (Invalid, 422),
    (Forbidden, 403),
    (NotAuthenticated, 401),
)


def status_of(error: DomainError) -> int:
    return next((status for kind, status in STATUS_OF if isinstance(error, kind)), 400)


def handle_domain_error(error: DomainError) -> Response:
    """A service's refusal as problem+json; the field at fault is listed when there is one."""
    status = status_of(error)
    errors = None
    if error.field is not None:
        # A stale write names the header that carried the version it was based on.
        location = "headers" if isinstance(error, Stale) else "json"
        errors = [{"field": error.field, "location": location, "detail": error.detail}]
    headers = {"WWW-Authenticate": 'Bearer realm="api"'} if status == 401 else None
    return problem(status, error.detail, errors=errors, headers=headers)


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return problem(500, "The server failed to handle this request; it has been logged.")


def handle_concurrent_write(error: Exception) -> Response:
    """A write that lost a race in the database. (A keyed POST whose twin won gets the twin's
    answer instead: the request hooks see to that.)"""
    if isinstance(error, StaleDataError):
        return problem(412, "Someone changed this at the same time; read it again and retry.")
    return problem(409, "This conflicts with a change made at the same time; read and try again.")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(StaleDataError, handle_concurrent_write)
    app.register_error_handler(IntegrityError, handle_concurrent_write)
    app.register_error_handler(Exception, handle_unexpected)
