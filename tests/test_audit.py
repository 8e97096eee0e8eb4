"""The audit log: every change says who made it, in the same transaction as the change."""

from __future__ import annotations

from tests.conftest import Api, login
from tests.factories import PASSWORD


def test_changes_are_audited_with_their_actor(app, tenants):
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    key = owner.post("api-keys", {"name": "ats", "scopes": ["read"]}).json
    owner.delete(f"api-keys/{key['id']}")
    entries = owner.get(f"audit?object_id={key['id']}").json["items"]
    assert [e["action"] for e in entries] == ["api_key.revoked", "api_key.created"]
    assert all(e["actor_type"] == "user" and e["actor_label"] == "owner@acme.test" for e in entries)
    assert all(e["request_id"] for e in entries)


def test_audit_is_read_by_owners_admins_and_viewers_only(app, tenants, client):
    acme, _ = tenants
    for role in ("owner", "admin", "viewer"):
        assert login(app, "acme", f"{role}@acme.test", PASSWORD).get("audit").status_code == 200
    assert login(app, "acme", "recruiter@acme.test", PASSWORD).get("audit").status_code == 403
    assert Api(client, acme.read_key).get("audit").status_code == 403


def test_audit_filters_by_action_and_period(app, tenants):
    viewer = login(app, "acme", "viewer@acme.test", PASSWORD)
    created = viewer.get("audit?action=user.created").json
    assert created["total"] == 4  # the owner, and the admin, recruiter and viewer
    assert {e["action"] for e in created["items"]} == {"user.created"}
    future = viewer.get("audit?since=2999-01-01T00:00:00Z").json
    assert future["total"] == 0
    backwards = viewer.get("audit?since=2030-01-01T00:00:00Z&until=2020-01-01T00:00:00Z")
    assert backwards.status_code == 422
    assert backwards.json["errors"][0]["field"] == "since"


def test_a_rejected_change_leaves_no_audit_row(app, tenants):
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    before = owner.get("audit").json["total"]
    owner.post("users", {"email": "owner@acme.test", "role": "viewer", "password": PASSWORD})
    assert owner.get("audit").json["total"] == before


def test_audit_pages_are_capped(app, tenants):
    viewer = login(app, "acme", "viewer@acme.test", PASSWORD)
    page = viewer.get("audit?per_page=2&page=2").json
    assert (page["page"], page["per_page"], len(page["items"])) == (2, 2, 2)
    assert page["pages"] == -(-page["total"] // 2)
    too_many = viewer.get("audit?per_page=101")
    assert too_many.status_code == 422
    assert too_many.json["errors"][0] == {
        "field": "per_page",
        "location": "query",
        "detail": "Must be greater than or equal to 1 and less than or equal to 100.",
    }
