"""Decisions: a person decides, says why, and the record keeps who."""

from __future__ import annotations

from tests.conftest import Api, login
from tests.factories import PASSWORD, make_evidence


def test_recruiter_records_a_decision_with_its_reason(app, tenants):
    evidence = make_evidence(app, tenants[0])
    recruiter = login(app, "acme", "recruiter@acme.test", PASSWORD)
    path = f"contractors/{evidence['contractor_id']}/decisions"
    made = recruiter.post(path, {"decision": "probation", "reason": "Apologised; a 4-week trial"})
    assert made.status_code == 201
    assert made.json["recorded_by"] == "recruiter@acme.test"
    later = recruiter.post(path, {"decision": "engage", "reason": "Trial went well"})
    assert later.status_code == 201
    listed = recruiter.get(path).json["items"]
    assert [d["decision"] for d in listed] == ["engage", "probation"]


def test_decision_needs_a_reason_and_a_person(app, tenants, client):
    evidence = make_evidence(app, tenants[0])
    path = f"contractors/{evidence['contractor_id']}/decisions"
    recruiter = login(app, "acme", "recruiter@acme.test", PASSWORD)
    missing = recruiter.post(path, {"decision": "decline"})
    assert missing.status_code == 422
    assert missing.json["errors"][0]["field"] == "reason"
    by_key = Api(client, tenants[0].write_key).post(path, {"decision": "decline", "reason": "x"})
    assert by_key.status_code == 403
    assert recruiter.get(path).json["total"] == 0
