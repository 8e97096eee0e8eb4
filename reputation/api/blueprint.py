"""flask-smorest's Blueprint and Api with the service's conventions."""

from __future__ import annotations

from typing import Any, NoReturn

import flask_smorest
import marshmallow as ma
from flask import Flask
from webargs.flaskparser import FlaskParser

from reputation.api.problems import PROBLEM_JSON, handle_http_exception


class Parser(FlaskParser):
    # Unknown fields in a body are errors (marshmallow's RAISE); in a query string, ignored. The
    # text of both has passed the text rule already (api/hooks.py).

    def _handle_invalid_json_error(
        self, error: Any, req: Any, *args: Any, **kwargs: Any
    ) -> NoReturn:
        # A body that is not JSON is as unprocessable as one of the wrong shape: 422, like them.
        flask_smorest.abort(422, messages={"json": {"": [f"The body is not valid JSON: {error}"]}})


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()


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
