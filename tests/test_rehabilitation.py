"""Rehabilitation steps: what they may address, and the staff's final verdict on them."""

from __future__ import annotations

import pytest

from tests.conftest import Api, login
from tests.factories import PASSWORD, make_evidence

STEP = {"kind": "acknowledgement", "occurred_at": "2025-05-01T00:00:00Z"}


@pytest.fixture
def recruiter(app, tenants):
    return login(app, "acme", "recruiter@acme.test", PASSWORD)


@pytest.fixture
def evidence(app, tenants):
    return {name: str(value) for name, value in make_evidence(app, tenants[0]).items()}


def test_step_addresses_an_earlier_negative_event_and_starts_pending(recruiter, evidence):
    response = recruiter.post(
        f"contractors/{evidence['contractor_id']}/rehabilitation",
        {
            **STEP,
            "kind": "outreach",
            "unsolicited": True,
            "addresses_event_id": evidence["event_id"],
        },
    )
    assert response.status_code == 201
    step = response.json
    assert (step["status"], step["unsolicited"], step["verified_by"]) == ("pending", True, None)
    assert step["addresses_event_id"] == evidence["event_id"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"occurred_at": "2025-02-01T00:00:00Z"}, "before the step"),  # the event came later
        ({"addresses_event_id": "01234567-89ab-7def-8123-456789abcdef"}, "No event"),
    ],
)
def test_step_addressing_a_later_or_unknown_event_is_422(recruiter, evidence, change, reason):
    body = {**STEP, "addresses_event_id": evidence["event_id"], **change}
    response = recruiter.post(f"contractors/{evidence['contractor_id']}/rehabilitation", body)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "addresses_event_id"
    assert reason in response.json["errors"][0]["detail"]


def test_step_cannot_address_a_positive_or_another_contractors_event(recruiter, evidence):
    contractor = evidence["contractor_id"]
    praise = recruiter.post(
        f"contractors/{contractor}/events",
        {"kind": "commitment_kept", "occurred_at": "2025-01-01T00:00:00Z", "summary": "On time"},
    ).json
    positive = recruiter.post(
        f"contractors/{contractor}/rehabilitation", {**STEP, "addresses_event_id": praise["id"]}
    )
    assert positive.status_code == 422
    other = recruiter.post("contractors", {"name": "Someone Else"}).json
    elsewhere = recruiter.post(
        f"contractors/{other['id']}/rehabilitation",
        {**STEP, "addresses_event_id": evidence["event_id"]},
    )
    assert elsewhere.status_code == 422


def test_step_cannot_address_another_agencys_event(app, tenants, evidence):
    globex = make_evidence(app, tenants[1])
    recruiter = login(app, "globex", "recruiter@globex.test", PASSWORD)
    response = recruiter.post(
        f"contractors/{globex['contractor_id']}/rehabilitation",
        {**STEP, "addresses_event_id": evidence["event_id"]},
    )
    assert response.status_code == 422
    assert "No event" in response.json["errors"][0]["detail"]


def test_staff_verify_once_with_who_and_when(app, recruiter, evidence):
    path = f"rehabilitation/{evidence['step_id']}/verify"
    verified = recruiter.post(path, {"decision": "verified", "note": "Called the client"})
    assert verified.status_code == 200
    body = verified.json
    assert (body["status"], body["verified_by"]) == ("verified", "recruiter@acme.test")
    assert body["verified_at"] and body["verification_note"] == "Called the client"
    admin = login(app, "acme", "admin@acme.test", PASSWORD)
    assert admin.post(path, {"decision": "rejected"}).status_code == 409


def test_only_staff_recruiters_and_above_verify(app, tenants, client, evidence):
    path = f"rehabilitation/{evidence['step_id']}/verify"
    assert Api(client, tenants[0].write_key).post(path, {"decision": "verified"}).status_code == 403
    viewer = login(app, "acme", "viewer@acme.test", PASSWORD)
    assert viewer.post(path, {"decision": "verified"}).status_code == 403
    recruiter = login(app, "acme", "recruiter@acme.test", PASSWORD)
    unknown = recruiter.post(path, {"decision": "maybe"})
    assert unknown.status_code == 422
    assert recruiter.post(path, {"decision": "rejected"}).json["status"] == "rejected"
