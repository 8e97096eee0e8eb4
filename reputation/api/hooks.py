"""What happens around every request: its id, its credentials, JSON only, and its transaction."""

from __future__ import annotations

import secrets

from flask import Flask, Response, current_app, g, request
from sqlalchemy.exc import IntegrityError

from reputation.api import idempotency
from reputation.api.problems import ApiError, problem
from reputation.extensions import db
from reputation.tenancy.auth import load_principal

API_PREFIX = "/api/v1"
BODY_METHODS = ("POST", "PUT", "PATCH")
# Endpoints that take files rather than JSON, with their own size limit (IMPORT_MAX_BYTES).
UPLOAD_PATHS = ("/api/v1/imports",)


def _assign_request_id() -> None:
    supplied = request.headers.get("X-Request-ID", "")
    g.request_id = (
        supplied if 0 < len(supplied) <= 64 and supplied.isprintable() else (secrets.token_hex(8))
    )


def _require_json() -> None:
    if not request.path.startswith(API_PREFIX) or request.method not in BODY_METHODS:
        return
    if request.path in UPLOAD_PATHS:
        request.max_content_length = current_app.config["IMPORT_MAX_BYTES"]
        return
    has_body = bool(request.content_length) or "chunked" in request.headers.get(
        "Transfer-Encoding", ""
    )
    if has_body and not request.is_json:
        raise ApiError(
            415,
            "Send the body as JSON, with Content-Type: application/json.",
            field="Content-Type",
            location="headers",
        )


def _commit_unit_of_work(response: Response) -> Response:
    """A request's writes commit together when it succeeds, and not at all when it fails."""
    if response.status_code >= 400:
        db.session.rollback()
        if response.status_code in (409, 412):
            # A retry that lost the race to its twin (the same Idempotency-Key) gets the twin's
            # answer, whether the clash surfaced in a service's checks or in the database.
            return idempotency.answer_for_lost_race() or response
        return response
    try:
        idempotency.remember(response)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return idempotency.answer_for_lost_race() or problem(
            409, "This conflicts with a change made at the same time; read and try again."
        )
    return response


def _tag_response(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    return response


def register_request_hooks(app: Flask) -> None:
    """Register before `limiter.init_app`, so limits see the principal."""
    app.before_request(_assign_request_id)
    app.before_request(load_principal)
    app.before_request(_require_json)
    app.before_request(idempotency.replay_or_continue)
    # after_request runs in reverse order: the commit first, then the tag.
    app.after_request(_tag_response)
    app.after_request(_commit_unit_of_work)
