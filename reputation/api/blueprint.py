"""flask-smorest's Blueprint and Api with the service's conventions."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn

import flask_smorest
import marshmallow as ma
from flask import Flask, g, request
from webargs.flaskparser import FlaskParser

from reputation.api.fields import document_rules
from reputation.api.problems import PROBLEM_JSON, handle_http_exception
from reputation.text import MAX_DEPTH

# What the document says once for every operation; each string's `pattern` says it again.
RULES = f"""Every string that enters, in a JSON body or a query string, is well-formed Unicode:
no U+0000 and no lone surrogate (U+D800 to U+DFFF), and a query string is UTF-8. Every string
of this document carries that rule as its `pattern` (read over code points, as ECMA-262 reads it
with the `u` flag). A JSON body is nested at most {MAX_DEPTH} levels deep, and its booleans and
numbers are JSON's own: `true`, not `1` or `"true"`; `3`, not `"3"`. A request that breaks a
rule is a 422 naming the field; every error is application/problem+json (RFC 9457)."""


class Parser(FlaskParser):
    # Unknown fields in a body are errors (marshmallow's RAISE); in a query string, ignored. The
    # text of both has passed the text rule already (api/hooks.py).

    def _raw_load_json(self, req: Any) -> Any:
        # The text rule parsed the body already; its result is read, not parsed a second time.
        if "json_body" in g:
            return g.json_body
        return super()._raw_load_json(req)

    def _handle_invalid_json_error(
        self, error: Any, req: Any, *args: Any, **kwargs: Any
    ) -> NoReturn:
        # A body that is not JSON is as unprocessable as one of the wrong shape: 422, like them.
        flask_smorest.abort(422, messages={"json": {"": [f"The body is not valid JSON: {error}"]}})


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def arguments(
        self, schema: Any, *, location: str = "json", required: bool = True, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """flask-smorest's, and a JSON body the document says is required is required: webargs
        would read a missing one as `{}`. Say `required=False` where no body means no change."""
        decorator = super().arguments(schema, location=location, required=required, **kwargs)
        if location != "json" or not required:
            return decorator

        def with_body(view: Callable[..., Any]) -> Callable[..., Any]:
            parsed = decorator(view)

            @wraps(parsed)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if not request.get_data(cache=True):
                    flask_smorest.abort(422, messages={"json": {"": ["A JSON body is required."]}})
                return parsed(*args, **kwargs)

            return wrapper

        return with_body


class FieldErrorSchema(ma.Schema):
    field = ma.fields.String(allow_none=True)
    location = ma.fields.String(metadata={"description": "json, query, headers…"})
    detail = ma.fields.String()


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, served as application/problem+json."""

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema))


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ProblemSchema

    def _init_spec(self, **options: Any) -> None:
        options.setdefault("info", {"description": RULES})
        super()._init_spec(**options)  # type: ignore[misc]
        document_rules(self.ma_plugin.converter)

    def _register_responses(self) -> None:
        # Error responses in the document are problem+json, as they are on the wire.
        default_content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM_JSON
        try:
            super()._register_responses()  # type: ignore[misc]
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = default_content_type

    def _register_error_handlers(self) -> None:
        pass  # reputation.api.problems registers the one error format for the whole app

    def handle_http_exception(self, error: Any) -> Any:
        return handle_http_exception(error)


def spec_security(api: Api, app: Flask) -> None:
    api.spec.components.security_scheme(
        "apiKey", {"type": "http", "scheme": "bearer", "description": "An agency's API key."}
    )
    api.spec.components.security_scheme(
        "session",
        {"type": "apiKey", "in": "cookie", "name": app.config["SESSION_COOKIE_NAME"]},
    )
