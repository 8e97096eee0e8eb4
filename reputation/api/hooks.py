"""What happens around every request: its id, its credentials, where it comes from, what text
it carries, JSON only, and its transaction."""

from __future__ import annotations

import secrets
from urllib.parse import unquote, unquote_to_bytes, urlsplit

import flask_smorest
from flask import Flask, Response, current_app, g, request
from sqlalchemy.exc import IntegrityError

from reputation import text
from reputation.api import idempotency
from reputation.api.problems import ApiError, problem
from reputation.extensions import db
from reputation.tenancy.auth import load_principal

API_PREFIX = "/api/v1"
BODY_METHODS = ("POST", "PUT", "PATCH")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
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


def _require_same_origin() -> None:
    """A request that changes something and carries no Authorization header may be riding on a
    browser's session cookie: it must come from this service's own pages. Browsers say where a
    request comes from and a page cannot forge it: `Sec-Fetch-Site`, which decides alone when it
    is sent, else `Origin`, whose host must be ours (its scheme is not compared: behind a proxy
    that ends TLS the service sees http while the browser says https). Clients that are not
    browsers send neither, and an API key is never sent by a browser on its own, so neither is
    affected. SameSite=Lax keeps the cookie off other sites' forms, but not off the pages of a
    sibling subdomain, which are same-site."""
    if request.method in SAFE_METHODS or "Authorization" in request.headers:
        return
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if site is not None:
        foreign = site not in ("same-origin", "none")
    else:
        foreign = origin is not None and urlsplit(origin).netloc != request.host
    if foreign:
        raise ApiError(
            403,
            "A change made with a session cookie must come from this service's own pages; "
            "other sites' pages cannot make one. Integrations send an API key instead.",
            field="Origin",
            location="headers",
        )


def _check_text() -> None:
    """The text rule (reputation/text.py) for the query string and a JSON body: a 422 naming each
    parameter or field at fault, before anything reads them."""
    if not request.path.startswith(API_PREFIX):
        return
    messages: dict[str, dict[str, list[str]]] = {}
    for name, why in _query_faults():
        messages.setdefault("query", {})[name] = [why]
    if request.method in BODY_METHODS and request.is_json and request.path not in UPLOAD_PATHS:
        try:
            body = text.load_json(request.get_data(cache=True))
        except ValueError as error:
            messages.setdefault("json", {})[""] = [f"The body is not valid JSON: {error}"]
        else:
            for path, why in text.faults(body):
                messages.setdefault("json", {})[path] = [why]
            g.json_body = body  # the arguments parser takes it from here: one parse a request
    if messages:
        flask_smorest.abort(422, messages=messages)


def _query_faults() -> list[tuple[str, str]]:
    """`(parameter, why)` for each query parameter that is not well-formed UTF-8 (which the
    framework would quietly turn into U+FFFD) or breaks the text rule."""
    found = []
    for pair in request.query_string.split(b"&"):
        raw_name, _, raw_value = pair.partition(b"=")
        name = unquote(raw_name.replace(b"+", b" ").decode("latin-1"), errors="replace")
        try:
            why = text.fault(_decoded(raw_name)) or text.fault(_decoded(raw_value))
        except UnicodeDecodeError:
            why = text.NOT_UNICODE
        if why:
            found.append((text.shown(name)[: text.MAX_PATH], why))
    return found


def _decoded(raw: bytes) -> str:
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")


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


def register_text_rule(app: Flask) -> None:
    """Register after `limiter.init_app`: a request refused for its text still counts against
    its caller's limits, so nobody has the service parse bodies without end for free."""
    app.before_request(_check_text)


def register_request_hooks(app: Flask) -> None:
    """Register before `limiter.init_app`, so limits see the principal."""
    app.before_request(_assign_request_id)
    app.before_request(load_principal)
    app.before_request(_require_same_origin)
    app.before_request(_require_json)
    app.before_request(idempotency.replay_or_continue)
    # after_request runs in reverse order: the commit first, then the tag.
    app.after_request(_tag_response)
    app.after_request(_commit_unit_of_work)
