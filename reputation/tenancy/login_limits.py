"""How often anyone may try to sign in, through the API or the portal alike.

Three limits (config.py): per account and address (`RATELIMIT_LOGIN`), the guesses of one
attacker, which lock out their address alone; per address whatever the account
(`RATELIMIT_LOGIN_ADDRESS`); and, slower, per account from anywhere, counting failures only
(`RATELIMIT_LOGIN_ACCOUNT`), against guesses spread over many addresses. That last one would let
anyone lock a person out by failing often enough, so a browser that has signed in to the account
before carries a signed device cookie that exempts it (OWASP's "device cookies"): the person
signs in from their own devices while a stranger's guesses are refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, after_this_request, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from reputation import text
from reputation.extensions import limiter

F = TypeVar("F", bound=Callable[..., Any])

DEVICE_COOKIE = "reputation_device"
DEVICE_MAX_AGE = 365 * 24 * 3600
# A browser shared by a few colleagues remembers each of their accounts, up to this many.
DEVICE_ACCOUNTS = 8


def account() -> str:
    """The account a sign-in names, read as `authenticate` reads it (the email stripped and
    lower-cased), from a JSON body or a form; what no store can hold shows as U+FFFD."""
    fields: Any = request.form
    if request.is_json:
        try:
            fields = text.load_json(request.get_data(cache=True))
        except ValueError:
            fields = {}
    if not isinstance(fields, dict) and not hasattr(fields, "get"):
        return "none"
    # A contractor's own account names no agency: its key is ":<email>", which no agency's
    # slug (never empty) shares.
    agency, email = fields.get("agency", ""), fields.get("email")
    if not isinstance(agency, str) or not isinstance(email, str):
        return "none"
    return text.shown(f"{agency[:63]}:{email.strip().lower()[:254]}")


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="login-device")


def _remembered() -> list[str]:
    token = request.cookies.get(DEVICE_COOKIE)
    if not token:
        return []
    try:
        accounts = _serializer().loads(token, max_age=DEVICE_MAX_AGE)
    except BadSignature:
        return []
    return [a for a in accounts if isinstance(a, str)] if isinstance(accounts, list) else []


def known_device() -> bool:
    """This browser signed in to the account it names before."""
    return _digest(account()) in _remembered()


def remember_device() -> None:
    """After a successful sign-in: this browser is one of the account's own from now on."""
    accounts = [_digest(account())]
    accounts += [a for a in _remembered() if a not in accounts][: DEVICE_ACCOUNTS - 1]

    @after_this_request
    def _set(response: Response) -> Response:
        response.set_cookie(
            DEVICE_COOKIE,
            _serializer().dumps(accounts),
            max_age=DEVICE_MAX_AGE,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
        return response


def _failed(response: Response) -> bool:
    return response.status_code == 401


def limited(view: F) -> F:
    """A sign-in view, held to the three limits."""
    for decorate in (
        limiter.limit(
            lambda: str(current_app.config["RATELIMIT_LOGIN_ACCOUNT"]),
            key_func=lambda: f"login-account:{account()}",
            deduct_when=_failed,
            exempt_when=known_device,
            methods=["POST"],
        ),
        limiter.limit(
            lambda: str(current_app.config["RATELIMIT_LOGIN_ADDRESS"]),
            key_func=lambda: f"login-address:{request.remote_addr}",
            methods=["POST"],
        ),
        limiter.limit(
            lambda: str(current_app.config["RATELIMIT_LOGIN"]),
            key_func=lambda: f"login-pair:{account()}:{request.remote_addr}",
            methods=["POST"],
        ),
    ):
        view = decorate(view)
    return view


def token_limited(view: F) -> F:
    """A view that follows a one-time link (an invitation, a referee's form): the guesses of one
    address are held to `RATELIMIT_TOKEN`, so that tokens cannot be tried by the million."""
    return limiter.limit(
        lambda: str(current_app.config["RATELIMIT_TOKEN"]),
        key_func=lambda: f"token:{request.remote_addr}",
        deduct_when=lambda response: response.status_code in (404, 410),
    )(view)
