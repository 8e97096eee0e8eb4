"""The audit log page as the server answers it: for owners, admins and viewers, newest first, in
plain words, filtered by action, by who acted and by period, a page at a time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from reputation.extensions import db
from reputation.portal.audit import ACTIONS
from reputation.tenancy import service as tenancy
from reputation.tenancy.scope import agency_scope
from tests.conftest import repo_root
from tests.factories import make_evidence
from tests.test_portal import sign_in
from tests.test_portal_team import post_form, signed_in

ROW = re.compile(r"<tr>(.*?)</tr>", re.S)


def rows(html):
    """Each entry of the page as its cells' text, tags and runs of spaces taken out."""
    found = []
    for row in ROW.findall(html.split("<tbody>", 1)[-1]):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        found.append([" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells])
    return found


@pytest.fixture
def viewer(app, tenants):
    return signed_in(app, "viewer")


def test_owners_admins_and_viewers_read_the_log_and_recruiters_do_not(app, tenants):
    for role in ("owner", "admin", "viewer"):
        assert signed_in(app, role).get("/audit").status_code == 200, role
    refused = signed_in(app, "recruiter").get("/audit")
    assert refused.status_code == 403
    assert "owners, admins and viewers read the audit log" in refused.get_data(as_text=True)


def test_entries_say_who_did_what_to_what_newest_first(app, tenants, viewer):
    owner = signed_in(app, "owner")
    post_form(owner, "/keys", "/keys", {"name": "ats", "scope": "write"}, "key")
    key_id = tenants[0].key_ids["read"]
    post_form(owner, f"/keys/{key_id}/revoke", f"/keys/{key_id}/revoke", {}, "revoke")
    entries = rows(viewer.get("/audit").get_data(as_text=True))
    when, who, what, concerning, details = entries[0]
    assert (who, what, concerning, details) == (
        "owner@acme.test", "API key revoked", "API key reader", "Name: reader",
    )  # fmt: skip
    assert when.startswith(datetime.now(UTC).strftime("%b %-d, %Y"))
    assert entries[1][1:] == [
        "owner@acme.test", "API key created", "API key ats", "Name: ats Access: Read and write",
    ]  # fmt: skip
    assert entries[2][1:] == ["owner@acme.test", "Signed in", "Staff member owner@acme.test", ""]
    added = [entry for entry in entries if entry[2] == "Staff member added"]
    assert len(added) == 4  # the owner, then the admin, the recruiter and the viewer
    assert added[0][1:] == [
        "The service", "Staff member added", "Staff member viewer@acme.test",
        "Email: viewer@acme.test Role: Viewer",
    ]  # fmt: skip
    assert "globex" not in viewer.get("/audit").get_data(as_text=True)


def test_a_change_reads_as_before_and_after(app, tenants, viewer):
    owner = signed_in(app, "owner")
    recruiter_id = tenants[0].users["recruiter"]
    page = f"/staff/{recruiter_id}"
    post_form(owner, page, f"{page}/role", {"role": "viewer"}, "role")
    post_form(owner, page, f"{page}/access", {"active": "no"}, "access")
    changes = rows(viewer.get("/audit?action=user.updated").get_data(as_text=True))
    assert [entry[4] for entry in changes] == [
        "Access: may sign in → deactivated",
        "Role: Recruiter → Viewer",
    ]


def test_a_contractor_entry_links_to_their_page(app, tenants, viewer):
    ids = make_evidence(app, tenants[0])
    html = viewer.get("/audit?action=contractor.created").get_data(as_text=True)
    assert f'<a href="/contractors/{ids["contractor_id"]}">Sam Contractor</a>' in html
    # A viewer manages no staff: the staff members named are not links.
    assert "/staff/" not in viewer.get("/audit").get_data(as_text=True)


def test_the_log_filters_by_action(app, tenants, viewer):
    html = viewer.get("/audit?action=user.created").get_data(as_text=True)
    assert "4 entries" in html
    assert {entry[2] for entry in rows(html)} == {"Staff member added"}
    assert re.search(r'<option selected value="user.created">Staff member added</option>', html)


def test_the_log_filters_by_who_acted(app, tenants, viewer):
    owner = signed_in(app, "owner")
    post_form(owner, "/keys", "/keys", {"name": "ats", "scope": "read"}, "key")
    owner_id = tenants[0].users["owner"]
    html = viewer.get(f"/audit?actor={owner_id}").get_data(as_text=True)
    assert {entry[1] for entry in rows(html)} == {"owner@acme.test"}
    assert [entry[2] for entry in rows(html)] == ["API key created", "Signed in"]
    # An integration's key acts too, and is named as a key.
    assert f'<option value="{tenants[0].key_ids["write"]}">API key writer</option>' in html


def test_the_log_filters_by_period_in_whole_utc_days(app, tenants, viewer):
    today = datetime.now(UTC).date()
    everything = viewer.get("/audit").get_data(as_text=True)
    total = len(rows(everything))
    just_today = viewer.get(f"/audit?since={today}&until={today}").get_data(as_text=True)
    assert len(rows(just_today)) == total > 0
    tomorrow = today + timedelta(days=1)
    assert "0 entries" in viewer.get(f"/audit?since={tomorrow}").get_data(as_text=True)
    yesterday = today - timedelta(days=1)
    assert "0 entries" in viewer.get(f"/audit?until={yesterday}").get_data(as_text=True)
    calendar = viewer.get("/audit?since=0001-01-01&until=9999-12-31")
    assert calendar.status_code == 200 and len(rows(calendar.get_data(as_text=True))) == total


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("since=2025-05-02&until=2025-05-01", "until", "comes before its start"),
        ("since=yesterday", "since", "Not a valid date value."),
        ("action=user.erased", "action", "Not a valid choice."),
        ("actor=someone", "actor", "Not a valid choice."),
    ],
)
def test_a_wrong_filter_is_said_beside_it_and_lists_nothing(app, tenants, viewer, query, field,
                                                             message):  # fmt: skip
    answer = viewer.get(f"/audit?{query}")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    errors = re.search(rf'<small id="{field}-errors" class="error">([^<]*)</small>', html)
    assert errors and message in errors.group(1)
    assert "Correct the filters to see the entries." in html and rows(html) == []


def test_the_log_comes_a_page_at_a_time_and_the_pages_keep_the_filters(app, tenants, viewer):
    with app.app_context(), agency_scope(tenants[0].agency_id):
        for number in range(30):
            tenancy.create_api_key(f"key {number}", ["read"])
        db.session.commit()
    first = viewer.get("/audit?action=api_key.created").get_data(as_text=True)
    assert "32 entries" in first and "Page 1 of 2" in first
    assert len(rows(first)) == 25 and rows(first)[0][3] == "API key key 29"
    assert 'href="/audit?action=api_key.created&amp;page=2" rel="next"' in first
    second = viewer.get("/audit?action=api_key.created&page=2").get_data(as_text=True)
    assert len(rows(second)) == 7 and rows(second)[-1][3] == "API key reader"


def test_the_log_in_french(app, tenants):
    client = app.test_client()
    french = {"Accept-Language": "fr-FR,fr;q=0.9"}
    assert sign_in(client, email="viewer@acme.test", **french).status_code == 302
    html = client.get("/audit?action=user.created", headers=french).get_data(as_text=True)
    assert "Journal d'audit" in html and "4 entrées" in html
    assert rows(html)[0][1:] == [
        "Le service", "Membre du personnel ajouté", "Membre du personnel viewer@acme.test",
        "Adresse e-mail : viewer@acme.test Rôle : Observateur",
    ]  # fmt: skip


def test_every_action_the_services_record_has_its_words():
    """The actions written as a literal (`record_audit("user.created", …)`), and the families
    written with a variable, whose values are listed here."""
    recorded = {
        action
        for path in (repo_root() / "reputation").rglob("*.py")
        for action in re.findall(r'record_audit\(\s*"([\w.]+)"', path.read_text())
    }
    assert len(recorded) > 20
    families = {"rehabilitation.verified", "rehabilitation.rejected"} | {
        f"import.{status}" for status in ("completed", "failed")
    }
    assert recorded | families <= set(ACTIONS)
