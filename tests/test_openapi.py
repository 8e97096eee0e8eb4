"""The OpenAPI document says what the service does: its rules are stated where a client and a tool
like schemathesis read them, and mean what the service does. (tests/test_fuzz.py checks every
operation against the document; these check the statements themselves.)"""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest

from reputation import text
from reputation.api.fields import EMAIL_PATTERN, TEXT_PATTERN, URL_PATTERN
from reputation.trust.taxonomy import CONDUCT_KINDS
from tests.conftest import login
from tests.factories import PASSWORD, make_evidence

METHODS = ("get", "post", "put", "patch", "delete")
# Text the rule refuses, and text it lets through, the characters next to the surrogates among it.
REFUSED = ["\x00", "a\x00b", "\ud800", "a\udfffb", "\udbff\udc00", "x\ud83d"]
ALLOWED = ["", "plain", "caf\u00e9", "\ud7ff", "\ue000", "\uffff", "\U0001f600", "\U0010ffff", "\n"]


def matches(pattern: str, value: str) -> bool:
    """`pattern` as JSON Schema validators read it (`$` is the end, not a final line break):
    schemathesis's, in Rust, which can hold no lone surrogate; Python's for those."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return re.search(pattern.removesuffix("$") + r"\Z", value) is not None
    return jsonschema_rs.validator_for({"type": "string", "pattern": pattern}).is_valid(value)


@pytest.fixture
def document(client) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").json


@pytest.fixture
def owner(app, tenants):
    return login(app, "acme", "owner@acme.test", PASSWORD)


def resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def strings_in(document: dict[str, Any], schema: dict[str, Any], path: str) -> Any:
    """(path, schema) of every string a JSON schema holds, through references and arrays."""
    schema = resolved(document, schema)
    for branch in schema.get("anyOf", []) + schema.get("allOf", []):
        yield from strings_in(document, branch, path)
    if schema.get("type") == "string":
        yield path, schema
    if "items" in schema:
        yield from strings_in(document, schema["items"], f"{path}[]")
    for name, member in schema.get("properties", {}).items():
        yield from strings_in(document, member, f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from strings_in(document, schema["additionalProperties"], f"{path}.*")


def strings_that_enter(document: dict[str, Any]) -> Any:
    """Every string of a JSON body or a query string that the document describes."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    yield from strings_in(
                        document, parameter["schema"], f"{where} ?{parameter['name']}"
                    )
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                yield from strings_in(document, body["schema"], f"{where} body")


def test_the_text_pattern_means_the_text_rule():
    for value in REFUSED + ALLOWED:
        assert matches(TEXT_PATTERN, value) == (text.fault(value) is None), value
        assert (re.fullmatch(TEXT_PATTERN, value) is not None) == (text.fault(value) is None), value


def test_every_string_that_enters_carries_the_text_rule(document):
    strings = list(strings_that_enter(document))
    assert len(strings) > 50
    for where, schema in strings:
        if "enum" in schema or schema.get("format") in ("date-time", "uuid"):
            continue  # listed values, a time, an id: none of them breaks the rule
        assert "pattern" in schema, where
        # The text pattern, or a narrower one (a URL's, an email address's, a header's...),
        # refuses what the text rule refuses.
        for value in REFUSED:
            assert not matches(schema["pattern"], value), (where, value)
    assert "surrogate" in document["info"]["description"]


def test_the_taxonomy_and_signing_in_need_no_credentials_and_all_else_does(client, document):
    public = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS and operation.get("security", document["security"]) == []
    }
    assert public == {
        "GET /api/v1/taxonomy",
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/logout",
        "POST /api/v1/me/signup",
        "POST /api/v1/me/login",
        "POST /api/v1/me/logout",
    }
    assert client.get("/api/v1/taxonomy").status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get("/api/v1/contractors").status_code == 401


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://ats.example.com/notes/1?x=1#top", True),
        ("http://localhost:8080/a%20b", True),
        ("https://example.com", True),
        ("HTTPS://example.com/", False),
        ("https:///path", False),
        ("https://", False),
        ("ftp://example.com/", False),
        ("javascript:alert(1)", False),
        ("https://example.com/a b", False),
        ("https://example.com/caf\u00e9", False),
        ("https://example.com/\n", False),
    ],
)
def test_evidence_urls_are_what_the_document_says(document, owner, url, accepted):
    stated = resolved(document, {"$ref": "#/components/schemas/EventCreate"})
    pattern = stated["properties"]["evidence_urls"]["items"]["pattern"]
    assert pattern == URL_PATTERN
    assert matches(pattern, url) == accepted
    contractor = owner.post("contractors", {"name": "Sam"}).json
    response = owner.post(
        f"contractors/{contractor['id']}/events",
        {"kind": "ghosting", "occurred_at": "2025-03-01T09:00:00Z", "summary": "Gone",
         "evidence_urls": [url]},
    )  # fmt: skip
    assert response.status_code == (201 if accepted else 422), response.json


@pytest.mark.parametrize(
    ("email", "accepted"),
    [
        ("sam@example.com", True),
        ("0@0.a", True),  # JSON Schema's `format: email` allows it: so does the service now
        ("jos\u00e9@b\u00fccher.example", True),
        ("sam@localhost", False),
        ("sam example@x.com", False),
        ("sam@@x.com", False),
        ("sam@x..com", False),
    ],
)
def test_email_addresses_are_what_the_document_says(document, owner, email, accepted):
    stated = resolved(document, {"$ref": "#/components/schemas/ContractorCreate"})
    assert stated["properties"]["email"]["pattern"] == EMAIL_PATTERN
    assert "format" not in stated["properties"]["email"]
    assert matches(EMAIL_PATTERN, email) == accepted
    response = owner.post("contractors", {"name": "Sam", "email": email})
    assert response.status_code == (201 if accepted else 422), response.json


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("rehabilitation", {"kind": "outreach", "occurred_at": "2025-01-01T00:00:00Z",
                            "unsolicited": 1}, "unsolicited"),
        ("rehabilitation", {"kind": "outreach", "occurred_at": "2025-01-01T00:00:00Z",
                            "unsolicited": "true"}, "unsolicited"),
        ("events", {"kind": "ghosting", "occurred_at": "2025-01-01T00:00:00Z", "summary": "x",
                    "severity": "3"}, "severity"),
        ("events", {"kind": "ghosting", "occurred_at": "2025-01-01T00:00:00Z", "summary": "x",
                    "severity": True}, "severity"),
        ("events", {"kind": "ghosting", "occurred_at": "2025-01-01T00:00:00Z", "summary": "x",
                    "severity": 3.0}, "severity"),
    ],
)  # fmt: skip
def test_booleans_and_numbers_in_a_body_are_jsons_own(owner, path, body, field):
    contractor = owner.post("contractors", {"name": "Sam"}).json
    response = owner.post(f"contractors/{contractor['id']}/{path}", body)
    assert response.status_code == 422
    assert field in {error["field"] for error in response.json["errors"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"base_rate": "0.5"}, "base_rate"),
        ({"base_rate": False}, "base_rate"),
        ({"conduct_kinds": {"rudeness": {"half_life_days": 0}}},
         "conduct_kinds.rudeness.value.half_life_days"),
    ],
)  # fmt: skip
def test_policy_numbers_are_jsons_and_their_bounds_are_stated(document, owner, body, field):
    rudeness = resolved(document, {"$ref": "#/components/schemas/ConductKindPolicy"})
    assert rudeness["properties"]["half_life_days"]["exclusiveMinimum"] is True
    response = owner.put("policy", body)
    assert response.status_code == 422
    assert field in {error["field"] for error in response.json["errors"]}


def test_the_policy_states_its_keys_and_which_kinds_have_a_repair_cap(document, owner):
    policy = resolved(document, {"$ref": "#/components/schemas/Policy"})
    kinds = policy["properties"]["conduct_kinds"]
    assert set(kinds["properties"]) == set(CONDUCT_KINDS)
    assert kinds["additionalProperties"] is False
    assert set(policy["properties"]["severity_factor"]["properties"]) == {"1", "2", "3", "4", "5"}
    for name, kind in CONDUCT_KINDS.items():
        stated = resolved(document, kinds["properties"][name])
        assert ("repair_cap" in stated["properties"]) == (kind.repair_cap is not None), name
        response = owner.put("policy", {"conduct_kinds": {name: {"repair_cap": 0.5}}})
        assert response.status_code == (200 if kind.repair_cap is not None else 422), name
    assert owner.put("policy", {"conduct_kinds": {"lateness": {}}}).status_code == 422


def test_a_body_is_required_where_the_document_says_so(app, tenants, document, owner):
    acme, _ = tenants
    ids = make_evidence(app, acme)
    contractor = f"/api/v1/contractors/{ids['contractor_id']}"
    amend = f"/api/v1/events/{ids['event_id']}/amend"
    assert (
        document["paths"]["/api/v1/contractors/{contractor_id}"]["patch"]["requestBody"]["required"]
        is False
    )
    assert document["paths"]["/api/v1/events/{event_id}/amend"]["post"]["requestBody"]["required"]
    assert owner.patch(contractor).status_code == 200  # no change, as `{}`
    for body in (None, {}, {"reason": "Nothing, really"}, {"kind": "ghosting"}):
        response = owner.post(amend, body)
        assert response.status_code == 422, body
        assert response.mimetype == "application/problem+json"
    assert owner.post(amend, {"severity": 4}).status_code == 201


@pytest.mark.parametrize("when", ["0001-01-01T05:00:00+05:00", "9999-12-31T12:00:00Z"])
def test_the_calendars_edges_are_stated_and_refused(document, owner, when):
    since = next(
        parameter
        for parameter in document["paths"]["/api/v1/audit"]["get"]["parameters"]
        if parameter["name"] == "since"
    )
    assert not matches(since["schema"]["pattern"], when)
    assert matches(since["schema"]["pattern"], "0001-01-02T00:00:00Z")
    assert owner.get(f"audit?since={when.replace('+', '%2B')}").status_code == 422
