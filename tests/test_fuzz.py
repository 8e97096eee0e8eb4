"""Whatever a client sends to any operation of the OpenAPI document, valid or not, the answer is
never a 500 and every error is problem+json. It grows with every endpoint: it reads the document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.factories import PASSWORD

# Operations that would end the session the fuzzing runs in, or trip the login rate limit.
SESSION_ENDING = {"/api/v1/auth/logout", "/api/v1/auth/password", "/api/v1/auth/login"}


@pytest.fixture
def owner_cookie(app, tenants):
    client = app.test_client()
    client.post(
        "/api/v1/auth/login",
        json={"agency": "acme", "email": "owner@acme.test", "password": PASSWORD},
    )
    name = app.config["SESSION_COOKIE_NAME"]
    return {name: client.get_cookie(name).value}


def test_no_request_makes_a_server_error(app, owner_cookie):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 5
    for operation in operations:
        if operation.path in SESSION_ENDING:
            continue

        @given(
            case=st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
            )
        )
        @settings(
            max_examples=60,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_without_a_server_error(case):
            response = case.call(cookies=owner_cookie)
            assert response.status_code < 500, (case.method, case.path, response.text)
            if response.status_code >= 400:
                assert response.headers["content-type"] == ["application/problem+json"]

        answers_without_a_server_error()
