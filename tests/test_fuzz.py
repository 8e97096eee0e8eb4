"""The OpenAPI document is a promise every operation keeps. schemathesis reads the document and
sends each operation requests it allows and requests it forbids, signed in as the agency's owner
and aimed at objects that exist, so that every operation is reached and does its real work:

* no request makes a server error, and every error is problem+json;
* a request the document allows is not refused (positive_data_acceptance), except by a rule
  JSON Schema cannot state, which the document states in words: STATED_IN_WORDS lists them;
* a request the document forbids is refused (negative_data_rejection);
* an operation the document says needs credentials refuses a request without them, or with
  false ones (ignored_auth).

And text no database can hold (a lone surrogate, NUL) or JSON nested 5,000 deep, in any field of
any body or in any query parameter, is a 422 naming it. It grows with every endpoint: it reads
the document.
"""

from __future__ import annotations

import fnmatch
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, auths
from schemathesis.checks import (
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation

from reputation import text
from reputation.api.fields import StrictBoolean
from reputation.conduct.service import record_event
from reputation.contractors.models import Contractor
from reputation.exports.schemas import ExportCreateSchema
from reputation.extensions import db
from reputation.rehabilitation.service import record_step
from reputation.tenancy import service as tenancy
from reputation.tenancy.scope import agency_scope
from reputation.webhooks.service import create_endpoint
from tests.factories import PASSWORD, objects_of

# Once, in the PostgreSQL pass: what the fuzzer probes (the document against the validation) does
# not depend on the database, and it is the suite's longest test (about four minutes a pass).
pytestmark = pytest.mark.postgresql_only

# Operations that would end the session the fuzzing runs in, or trip the login rate limit.
SESSION_ENDING = {"/api/v1/auth/logout", "/api/v1/auth/password", "/api/v1/auth/login"}

# The refusals of requests the document allows, each by a rule that JSON Schema cannot state and
# the document states in words instead (the description of the field or parameter it names):
# (operation, field) pairs, the field as the problem's `errors` name it (`*` stands for an
# object's key). A 422 whose every error names a pair of its operation is no mismatch; any other
# refusal of a schema-valid request is.
STATED_IN_WORDS = {
    # A relation between two values: a JSON Schema constrains each value on its own.
    ("GET /api/v1/audit", "since"),  # not after `until`
    ("GET /api/v1/contractors/{contractor_id}/events", "from"),  # not after `to`
    ("GET /api/v1/contractors/{contractor_id}/trajectory", "from"),  # not after `to`
    ("POST /api/v1/exports", "neutralise_formulas"),  # CSV only, not with `format: jsonl`
    ("PUT /api/v1/policy", "band_thresholds"),  # in order, the defaults counting
    ("POST /api/v1/policy/simulate", "band_thresholds"),
    # The clock: `format: date-time` has no bounds, and "not in the future" moves with time.
    ("POST /api/v1/contractors/{contractor_id}/events", "occurred_at"),
    ("POST /api/v1/contractors/{contractor_id}/rehabilitation", "occurred_at"),
    ("POST /api/v1/events/{event_id}/amend", "occurred_at"),
    ("POST /api/v1/disputes/{dispute_id}/resolve", "amendment.occurred_at"),
    # Stored data: an event to address; the version amended, which an amendment must differ
    # from (the whole body) and whose valence it keeps.
    ("POST /api/v1/contractors/{contractor_id}/rehabilitation", "addresses_event_id"),
    ("POST /api/v1/contractors/{contractor_id}/reference-requests", "addresses_event_id"),
    ("POST /api/v1/contractors/{contractor_id}/invitations", "email"),  # the contractor's own
    ("POST /api/v1/events/{event_id}/amend", None),
    ("POST /api/v1/events/{event_id}/amend", "kind"),
    # An amendment's rules, within a dispute's resolution; and a dispute resolved once.
    ("POST /api/v1/disputes/{dispute_id}/resolve", "amendment"),
    ("POST /api/v1/disputes/{dispute_id}/resolve", "amendment.kind"),
    # The world: whether mail can be addressed to what the pattern admits.
    ("POST /api/v1/contractors/{contractor_id}/reference-requests", "referee_email"),
    # The world: where a webhook URL's host resolves (DNS, when it is registered).
    ("POST /api/v1/webhooks/endpoints", "url"),
    ("PATCH /api/v1/webhooks/endpoints/{endpoint_id}", "url"),
    # Header names, an object's keys: OpenAPI 3.0 has no `propertyNames` to state their rules.
    # A name that is no HTTP token is refused at `headers.<name>.key` (`headers.key` for the
    # empty name), one the service sets at `headers`, one that breaks the text rule at the name
    # itself, shown with U+FFFD where it breaks it.
    ("POST /api/v1/webhooks/endpoints", "headers"),
    ("POST /api/v1/webhooks/endpoints", "headers.key"),
    ("POST /api/v1/webhooks/endpoints", "headers.*.key"),
    ("POST /api/v1/webhooks/endpoints", "headers.*\ufffd*"),
    ("PATCH /api/v1/webhooks/endpoints/{endpoint_id}", "headers"),
    ("PATCH /api/v1/webhooks/endpoints/{endpoint_id}", "headers.key"),
    ("PATCH /api/v1/webhooks/endpoints/{endpoint_id}", "headers.*.key"),
    ("PATCH /api/v1/webhooks/endpoints/{endpoint_id}", "headers.*\ufffd*"),
    # The bytes of an upload: an empty file (a string may be empty; a file may not).
    ("POST /api/v1/imports", "file"),
}

# Operations that use up the object they name (an event amended or retracted, a step verified,
# an endpoint deleted, a key revoked): each request gets a new one, so each does the real work.
FRESH: dict[str, str] = {
    "POST /api/v1/events/{event_id}/amend": "event_id",
    "POST /api/v1/events/{event_id}/retract": "event_id",
    "POST /api/v1/rehabilitation/{step_id}/verify": "step_id",
    "DELETE /api/v1/webhooks/endpoints/{endpoint_id}": "endpoint_id",
    "DELETE /api/v1/api-keys/{key_id}": "key_id",
}

# Uploads, whose body is a file: any bytes are one (its rows are checked one by one, later), so
# schemathesis cannot make a body the document forbids; requests it forbids carry this file.
UPLOADS = {
    "POST /api/v1/imports": {"body": "record,external_ref,name\ncontractor,c-1,Sam\n",
                             "media_type": "text/csv"},
}  # fmt: skip

# Operations whose body is another's: their boundaries are covered there (1,200 requests each).
SAME_BODY = {"POST /api/v1/policy/simulate": "PUT /api/v1/policy"}

EXAMPLES_PER_OPERATION = 40
PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def owner_cookie(app, tenants):
    client = app.test_client()
    client.post(
        "/api/v1/auth/login",
        json={"agency": "acme", "email": "owner@acme.test", "password": PASSWORD},
    )
    name = app.config["SESSION_COOKIE_NAME"]
    return {name: client.get_cookie(name).value}


@pytest.fixture
def objects(app, tenants, tmp_path, monkeypatch) -> dict[str, str]:
    """An object of the owner's agency for every kind of id a path names. The owner's own id is
    not among them: a change to one's own role or password is another matter."""
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path / "imports"))
    return objects_of(app, tenants[0], role="viewer", scope="read")


def make_fresh(app: Flask, agency_id: uuid.UUID, contractor_id: str, name: str) -> str:
    """A new object of the kind `name` identifies, for an operation in FRESH."""
    with app.app_context(), agency_scope(agency_id):
        contractor = db.session.get(Contractor, (agency_id, uuid.UUID(contractor_id)))
        made: Any
        if name == "event_id":
            made = record_event(
                contractor,
                {"kind": "ghosting", "occurred_at": datetime(2025, 3, 1, tzinfo=UTC),
                 "summary": "Stopped answering"},
            )  # fmt: skip
        elif name == "step_id":
            made = record_step(
                contractor, {"kind": "outreach", "occurred_at": datetime(2025, 4, 1, tzinfo=UTC)}
            )
        elif name == "endpoint_id":
            made = create_endpoint({"url": "https://93.184.216.34/hook"})
        else:
            made = tenancy.create_api_key("to revoke", ["read"]).key
        made_id = str(made.id)
        db.session.commit()
    return made_id


def load_document(app: Flask, cookie: dict[str, str]) -> Any:
    """The document as schemathesis reads it, with the owner's session for the `session` scheme:
    schemathesis sends it (and no made-up credentials) with every request it generates, and
    takes it away, or replaces it, to see that an operation needs it."""
    [(name, value)] = cookie.items()
    assert name == app.config["SESSION_COOKIE_NAME"]
    config = SchemathesisConfig.from_dict(
        {"auth": {"openapi": {"session": {"api_key": value}}, "auto-signup": False}}
    )
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


def operations_of(document: Any) -> Iterator[Any]:
    operations = [result.ok() for result in document.get_all_operations()]
    assert len(operations) > 5
    yield from (operation for operation in operations if operation.path not in SESSION_ENDING)


def errors_are_problem_json(ctx: Any, response: Any, case: Any) -> None:
    if response.status_code >= 400:
        assert response.headers.get("content-type") == [PROBLEM_JSON], (
            f"{case.operation.label} answered {response.status_code} without problem+json"
        )


def stated_in_words(case: Any, response: Any) -> bool:
    """A 422 whose every error names a rule STATED_IN_WORDS for this operation."""
    if response.status_code != 422:
        return False
    fields = [error.get("field") for error in response.json().get("errors") or [{}]]
    allowed = [field for operation, field in STATED_IN_WORDS if operation == case.operation.label]
    return all(
        field in allowed
        or (field is not None and any(fnmatch.fnmatchcase(field, str(rule)) for rule in allowed))
        for field in fields
    )


def schema_valid_requests_are_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """positive_data_acceptance, but for the rules STATED_IN_WORDS."""
    if stated_in_words(case, response):
        return None
    return positive_data_acceptance(ctx, response, case)


def schema_violating_requests_are_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    """negative_data_rejection. Exports are another change's: until their body takes JSON's
    booleans only (api/fields.py's StrictBoolean), `"neutralise_formulas": 0` is still read as
    false there."""
    if case.operation.label == "POST /api/v1/exports" and not isinstance(
        ExportCreateSchema().fields["neutralise_formulas"], StrictBoolean
    ):
        return None
    return negative_data_rejection(ctx, response, case)


CHECKS = [
    not_a_server_error,
    errors_are_problem_json,
    schema_valid_requests_are_accepted,
    schema_violating_requests_are_refused,
    ignored_auth,
]


def test_requests_the_document_allows_or_forbids_are_answered_as_it_says(
    app, tenants, owner_cookie, objects
):
    """Fuzzing: random requests, each of every operation's parameters and body fields either
    within the document's rules or, for one location, outside them."""
    for_every_operation(app, tenants, owner_cookie, objects, fuzzed)


def test_the_documents_boundaries_are_answered_as_it_says(app, tenants, owner_cookie, objects):
    """schemathesis's coverage phase: each value of an enum, each length and number at and
    past its bound, each required field missing, each type replaced, the body left out."""
    for_every_operation(app, tenants, owner_cookie, objects, at_the_boundaries)


class Target:
    """An operation, the objects its path names, and a new one for an operation in FRESH."""

    def __init__(self, document: Any, operation: Any, objects: dict[str, str], make: Any) -> None:
        self.document, self.operation = document, operation
        names = re.findall(r"{(\w+)}", operation.path)
        unknown = [name for name in names if name not in objects]
        assert not unknown, f"{operation.path}: add an object for {unknown} to objects_of()"
        self.path_parameters = {name: objects[name] for name in names}
        self.fresh = FRESH.get(operation.label)
        self.make = make

    def send(self, case: Any) -> None:
        case.path_parameters = {**case.path_parameters, **self.path_parameters}
        if self.fresh is not None:
            case.path_parameters[self.fresh] = self.make(self.fresh)
        case.call_and_validate(checks=CHECKS)


def for_every_operation(
    app: Flask, tenants: Any, cookie: dict[str, str], objects: dict[str, str], run: Any
) -> None:
    document = load_document(app, cookie)
    acme, _ = tenants
    make = partial(make_fresh, app, acme.agency_id, objects["contractor_id"])
    broken: list[str] = []
    for operation in operations_of(document):
        try:
            run(Target(document, operation, objects, make))
        except (Exception, BaseExceptionGroup) as error:  # every operation's failures at once
            broken.append(f"{operation.label}\n{error}")
    assert not broken, "\n\n".join(broken)


def fuzzed(target: Target) -> None:
    operation, targets = target.operation, target.path_parameters

    @given(
        case=st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=targets),
            operation.as_strategy(
                GenerationMode.NEGATIVE,
                path_parameters=targets,
                **UPLOADS.get(operation.label, {}),
            ),
        )
    )
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def sends(case: Any) -> None:
        target.send(case)

    sends()


def at_the_boundaries(target: Target) -> None:
    document, operation = target.document, target.operation
    if operation.label in SAME_BODY:
        return
    context = auths.AuthContext(operation=operation, app=operation.app)
    for case in document.iter_coverage_cases(
        operation,
        generation_modes=list(GenerationMode),
        generation_config=document.config.generation_for(operation=operation, phase="coverage"),
    ):
        # A path parameter that is no id misses the route (a 404 of the router's); a file's body
        # has no wrong type (see UPLOADS); a media type schemathesis cannot write, it skips.
        if (
            case.meta.is_negative_at(ParameterLocation.PATH)
            or (operation.label in UPLOADS and case.meta.is_negative_at(ParameterLocation.BODY))
            or (
                case.media_type
                and not document.transport.get_first_matching_media_type(case.media_type)
            )
        ):
            continue
        auths.set_on_generated_case(case, context, None)
        target.send(case)


# Hostile text: what no database can store, and nesting no parser should recurse into. The text
# rule (reputation/text.py) refuses it before anything reads the request; a field that escaped it
# would reach a schema, a service or the database, and most likely end in a 500.
LONE_SURROGATE = "ab\ud800cd"
NUL = "ab\x00cd"
SHALLOW_NESTING = text.MAX_DEPTH + 8  # parsed, then refused, naming the path
DEEP_NESTING = 5_000  # deeper than the parser's stack: the body as a whole is refused


def hostile_bodies(name: str) -> Iterator[tuple[str, bytes, str | None]]:
    """(what, a JSON body with `name` set to it, the field the refusal names, or its start
    when it names a path in it; None when it can only name the body)."""
    for what, value in (("a lone surrogate", LONE_SURROGATE), ("NUL", NUL)):
        yield what, json.dumps({name: value}).encode(), name
        key = f"{name}.{text.shown(value)}"
        yield f"{what} in a key", json.dumps({name: {value: 1}}).encode(), key
    for depth, named in ((SHALLOW_NESTING, f"{name}.0."), (DEEP_NESTING, None)):
        nested = "[" * depth + "]" * depth
        yield f"nesting {depth} deep", f'{{"{name}": {nested}}}'.encode(), named


def hostile_queries(name: str) -> Iterator[tuple[str, str]]:
    """(what, a query string with `name` set to it, percent-encoded as UTF-8 or as the bytes a
    lone surrogate would take if UTF-8 allowed one)."""
    yield "NUL", f"{name}=ab%00cd"
    yield "a lone surrogate", f"{name}=ab%ED%A0%80cd"
    yield "bytes that are not UTF-8", f"{name}=ab%FFcd"


def resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def assert_refused_naming(response: Any, field: str | None, location: str, what: str) -> None:
    """A 4xx problem+json naming `field` (a path starting with it, when it ends in a dot), or
    for None the body as a whole, too deep to read."""
    assert 400 <= response.status_code < 500, (what, response.status_code, response.text)
    assert response.mimetype == PROBLEM_JSON, what
    named = [(error["field"] or None, error["location"]) for error in response.json["errors"]]
    if field is None:
        assert named == [(None, location)], (what, response.json)
        assert text.TOO_DEEP in response.json["errors"][0]["detail"], (what, response.json)
    else:
        assert any(
            place == location
            and name is not None
            and (name == field or (field.endswith(".") and name.startswith(field)))
            for name, place in named
        ), (what, response.json)


def test_hostile_text_in_any_field_is_refused_naming_it(app, owner_cookie, objects):
    client = app.test_client()
    [(cookie, value)] = owner_cookie.items()
    client.set_cookie(cookie, value)
    document = client.get("/api/v1/openapi.json").json
    checked: list[str] = []
    for path, item in document["paths"].items():
        if path in SESSION_ENDING:
            continue
        url = path.format(**objects)
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            fields = resolved(document, body["schema"]).get("properties", {}) if body else {}
            for name in fields:
                for what, data, named in hostile_bodies(name):
                    response = client.open(
                        url, method=method.upper(), data=data, content_type="application/json"
                    )
                    assert_refused_naming(response, named, "json", f"{method} {path}: {what}")
                checked.append(f"{method} {path} {name}")
            parameters = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            for name in parameters:
                for what, query in hostile_queries(name):
                    response = client.open(url, method=method.upper(), query_string=query)
                    assert_refused_naming(response, name, "query", f"{method} {path}: {what}")
                checked.append(f"{method} {path} ?{name}")
    assert len(checked) > 50
