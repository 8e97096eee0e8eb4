"""What the service tells browsers with every answer, what it refuses before reading a request, and
the Swagger UI files that the docs page loads from the service itself.

Every answer carries `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`,
`X-Frame-Options: DENY` and a Content-Security-Policy that at least forbids framing; over HTTPS
(as ProxyFix reports it when TRUSTED_PROXIES is set) `Strict-Transport-Security`; and an answer
to a request that carried valid credentials is `Cache-Control: no-store` unless it says otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from flask import Flask, Response, abort, current_app, g, request, send_from_directory

from reputation.api.problems import ApiError

# Anything but a page (JSON, problem+json, CSV, metrics): if a browser ever renders it, nothing in
# it may load or run anything, and no other site may frame it.
NOT_A_PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'"
# A page with no policy of its own is at least never framed (clickjacking). The portal's pages
# will bring their own policy, with nonces; a response that sets one keeps it.
PAGE_POLICY = "frame-ancestors 'none'"
# `same-origin`: another site never learns an address of ours (a referee's /r/{token} link, say),
# while our own requests keep their Origin, which the cookie check of api/hooks.py compares:
# under `no-referrer` a browser sends `Origin: null` with a same-origin POST.
REFERRER_POLICY = "same-origin"

# flask-smorest's Swagger UI page, and the files of the pinned swagger-ui-dist (pyproject.toml)
# that it loads; nothing else of the package is served.
DOCS_ENDPOINT = "api-docs.openapi_swagger_ui"
SWAGGER_UI_DIST = files("flask_swagger_ui") / "dist"
SWAGGER_UI_FILES = frozenset(
    ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")
)
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def register_security(app: Flask) -> None:
    """Register before the request hooks (api/hooks.py): the limits are checked before they read
    the request, and the headers go on after them, on whatever answer they settled on."""
    app.before_request(refuse_oversized_head)
    app.after_request(secure_response)
    app.add_url_rule(
        f"{app.config['OPENAPI_SWAGGER_UI_URL']}<filename>",
        endpoint="swagger_ui_file",
        view_func=swagger_ui_file,
    )


def refuse_oversized_head() -> None:
    """A request target or header fields over the app's limits (config.py): a 414 or a 431 as
    problem+json. gunicorn's own limits are set above these (deploy/gunicorn.conf.py), so that it
    is the app that answers, unless a request is beyond even those."""
    config = current_app.config
    environ = request.environ
    # The target as sent, which gunicorn and Werkzeug report; else the (decoded) path and query.
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target is None:
        query = environ.get("QUERY_STRING", "")
        target = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        target += f"?{query}" if query else ""
    if len(target) > config["MAX_REQUEST_TARGET"]:
        raise ApiError(
            414,
            f"The request target (path and query) is {len(target)} bytes long; "
            f"at most {config['MAX_REQUEST_TARGET']} are accepted.",
        )
    # WSGI strings hold one character per byte received.
    for name, value in request.headers.items():
        size = len(name) + len(": ") + len(value)
        if size > config["MAX_HEADER_FIELD_BYTES"]:
            raise ApiError(
                431,
                f"The header field {name} is {size} bytes long with its name; "
                f"at most {config['MAX_HEADER_FIELD_BYTES']} are accepted.",
                field=name,
                location="headers",
            )
    count = len(request.headers)
    if count > config["MAX_HEADER_FIELDS"]:
        raise ApiError(
            431,
            f"The request has {count} header fields; "
            f"at most {config['MAX_HEADER_FIELDS']} are accepted.",
        )


def secure_response(response: Response) -> Response:
    """After every request, whatever answered it: a view, an error handler or a replay."""
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = REFERRER_POLICY
    # For browsers that predate CSP's frame-ancestors.
    headers["X-Frame-Options"] = "DENY"
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = content_security_policy(response)
    if request.is_secure:
        headers["Strict-Transport-Security"] = current_app.config["STRICT_TRANSPORT_SECURITY"]
    # What a session or a key unlocked stays out of every cache, shared or the browser's; an
    # answer with a policy of its own (the export download's `private, no-store`) keeps it.
    if g.get("principal") is not None and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response


def content_security_policy(response: Response) -> str:
    """The policy of an answer that brings none of its own."""
    if response.mimetype != "text/html":
        return NOT_A_PAGE_POLICY
    if g.get("csp_nonce"):
        return portal_policy(g.csp_nonce)
    if request.endpoint == DOCS_ENDPOINT and response.status_code == 200:
        return docs_policy(response.get_data(as_text=True))
    return PAGE_POLICY


def docs_policy(page: str) -> str:
    """The docs page runs Swagger UI's files from here and its one inline script, allowed by its
    hash; it talks to this API only. Hashing what the response holds is safe here, and only here:
    flask-smorest renders that script from our configuration, never from anything a user wrote."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in INLINE_SCRIPT.findall(page)
    )
    return (
        "default-src 'none'; "
        f"script-src 'self'{hashes}; "
        "style-src 'self'; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "base-uri 'none'; "
        "form-action 'none'; "
        "frame-ancestors 'none'"
    )


def portal_policy(nonce: str) -> str:
    """A portal page runs only the service's own scripts that carry this request's nonce, and
    talks only to the service (htmx). Pico draws its form icons as data: images."""
    return (
        "default-src 'none'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "form-action 'self'; "
        "base-uri 'none'; "
        "frame-ancestors 'none'"
    )


def swagger_ui_file(filename: str) -> Response:
    """One of Swagger UI's files, as the pinned package ships it."""
    if filename not in SWAGGER_UI_FILES:
        abort(404)
    return send_from_directory(str(SWAGGER_UI_DIST), filename)
