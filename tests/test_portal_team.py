"""The staff and API key pages as the server answers them: owners and admins manage, within the
limits of their role (reputation/roles.py); a key's secret is on one page only; a refused form
says why beside its field and writes nothing; recruiters and viewers get the 403 page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from reputation.audit.models import AuditEntry
from reputation.extensions import db
from reputation.roles import Role
from reputation.tenancy import service as tenancy
from reputation.tenancy.models import ApiKey, User
from reputation.tenancy.scope import agency_scope
from tests.conftest import Api
from tests.factories import PASSWORD
from tests.test_portal import csrf_token, sign_in

SECRET = re.compile(r'value="(rk_[A-Za-z0-9_-]+)"')


def signed_in(app, role):
    client = app.test_client()
    assert sign_in(client, email=f"{role}@acme.test").status_code == 302
    return client


@pytest.fixture
def owner(app, tenants):
    return signed_in(app, "owner")


@pytest.fixture
def admin(app, tenants):
    return signed_in(app, "admin")


def post_form(client, page, action, fields, prefix=""):
    """Send the form of `page` at `action` with its CSRF token, as a browser does."""
    html = client.get(page).get_data(as_text=True)
    token = csrf_token(html, f"{prefix}-csrf_token" if prefix else "csrf_token")
    key = f"{prefix}-" if prefix else ""
    data = {f"{key}{name}": value for name, value in fields.items()}
    return client.post(action, data={**data, f"{key}csrf_token": token})


def staff_member(app, tenant, email):
    with app.app_context(), agency_scope(tenant.agency_id):
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge_all()
        return user


def counts(app, tenant):
    """How many staff members, keys and audit entries the agency holds."""
    with app.app_context(), agency_scope(tenant.agency_id):
        found = tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (User, ApiKey, AuditEntry)
        )
        db.session.rollback()
        return found


def new_member(email="sasha@acme.test", role="recruiter", password=PASSWORD, name="Sasha"):
    return {"email": email, "name": name, "role": role, "password": password}


# Staff.


def test_an_owner_adds_a_staff_member_who_can_then_sign_in(app, tenants, owner):
    page = owner.get("/staff").get_data(as_text=True)
    for email in ("owner@acme.test", "admin@acme.test", "viewer@acme.test"):
        assert email in page
    assert "globex" not in page
    added = post_form(owner, "/staff", "/staff", new_member(), prefix="new")
    assert (added.status_code, added.headers["Location"]) == (302, "/staff")
    listed = owner.get("/staff").get_data(as_text=True)
    assert "sasha@acme.test joins the staff with the role Recruiter." in listed
    assert "sasha@acme.test" in listed and "Never" in listed

    sasha = app.test_client()
    assert sign_in(sasha, email="sasha@acme.test").status_code == 302
    assert staff_member(app, tenants[0], "sasha@acme.test").last_login_at is not None


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (new_member(password="too short"), "password", "at least 12 characters"),
        (new_member(email="not an address"), "email", "Not a valid email address."),
        (new_member(email="VIEWER@acme.test"), "email", "exists already"),
        (new_member(email=""), "email", "This field is required."),
        (new_member(role="superuser"), "role", "Not a valid choice"),
        (new_member(name="x\x00y"), "name", ""),
    ],
)
def test_a_wrong_staff_form_is_refused_beside_its_field_and_writes_nothing(
    app, tenants, owner, fields, field, message
):
    before = counts(app, tenants[0])
    answer = post_form(owner, "/staff", "/staff", fields, prefix="new")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    errors = re.search(rf'<small id="new-{field}-errors" class="error">([^<]*)</small>', page)
    assert errors and message in errors.group(1)
    if fields["email"] and field != "email":
        assert f'value="{fields["email"]}"' in page  # what was typed is kept...
    assert PASSWORD not in page  # ...but not the password
    assert counts(app, tenants[0]) == before


def test_an_admin_is_offered_the_roles_below_owner_and_a_forged_owner_is_refused(
    app, tenants, admin
):
    page = admin.get("/staff").get_data(as_text=True)
    offered = re.findall(r'<option[^>]*value="(\w+)"', page)
    assert offered == ["admin", "recruiter", "viewer"]
    assert "Only an owner makes an owner." in page
    before = counts(app, tenants[0])
    forged = post_form(admin, "/staff", "/staff", new_member(role="owner"), prefix="new")
    assert forged.status_code == 403
    assert counts(app, tenants[0]) == before


def test_an_admin_cannot_change_an_owner_or_a_fellow_admin(app, tenants, admin):
    acme = tenants[0]
    with app.app_context(), agency_scope(acme.agency_id):
        acme.users["fellow"] = tenancy.create_user("fellow@acme.test", Role.ADMIN, PASSWORD).id
        db.session.commit()
    page = admin.get("/staff").get_data(as_text=True)
    assert "fellow@acme.test" in page
    for role in ("owner", "fellow"):
        assert f"/staff/{acme.users[role]}" not in page  # no way in to change them...
    assert f"/staff/{acme.users['recruiter']}" in page  # ...but to the recruiter, yes
    owner_page = admin.get(f"/staff/{acme.users['owner']}").get_data(as_text=True)
    assert "Only an owner changes an owner or an admin." in owner_page
    assert "<form" not in owner_page.split("<main>")[1]
    before = counts(app, acme)
    # The forms the admin would see on a recruiter's page, sent about the owner and the admin.
    for role in ("owner", "fellow"):
        for action, fields in (
            ("role", {"role": "viewer"}),
            ("access", {"active": "no"}),
            ("password", {"password": "a brand new password"}),
        ):
            forged = post_form(
                admin,
                f"/staff/{acme.users['recruiter']}",
                f"/staff/{acme.users[role]}/{action}",
                fields,
                action,
            )
            assert forged.status_code == 403, (role, action)
    assert counts(app, acme) == before
    owner = staff_member(app, acme, "owner@acme.test")
    assert (owner.role, owner.active) == ("owner", True)
    assert sign_in(app.test_client(), email="owner@acme.test").status_code == 302


def test_an_owner_changes_a_role_and_the_staff_list_shows_it(app, tenants, owner):
    viewer_id = tenants[0].users["viewer"]
    page = owner.get(f"/staff/{viewer_id}").get_data(as_text=True)
    assert re.search(r'<option selected value="viewer">', page)
    changed = post_form(
        owner, f"/staff/{viewer_id}", f"/staff/{viewer_id}/role", {"role": "recruiter"}, "role"
    )
    assert changed.status_code == 302
    listed = owner.get("/staff").get_data(as_text=True)
    assert "The role of viewer@acme.test is now Recruiter." in listed
    assert staff_member(app, tenants[0], "viewer@acme.test").role == "recruiter"


def test_deactivated_staff_are_signed_out_and_kept_out_until_reactivated(app, tenants, owner):
    recruiter_id = tenants[0].users["recruiter"]
    recruiter = signed_in(app, "recruiter")
    page = owner.get(f"/staff/{recruiter_id}").get_data(as_text=True)
    assert "Deactivate" in page and "Reactivate" not in page
    off = post_form(
        owner, f"/staff/{recruiter_id}", f"/staff/{recruiter_id}/access", {"active": "no"}, "access"
    )
    assert off.status_code == 302
    assert "Deactivated" in owner.get("/staff").get_data(as_text=True)
    assert recruiter.get("/contractors").status_code == 302  # back to sign in
    assert sign_in(app.test_client(), email="recruiter@acme.test").status_code == 401

    page = owner.get(f"/staff/{recruiter_id}").get_data(as_text=True)
    assert "Reactivate" in page
    on = post_form(
        owner,
        f"/staff/{recruiter_id}",
        f"/staff/{recruiter_id}/access",
        {"active": "yes"},
        "access",
    )
    assert on.status_code == 302
    assert sign_in(app.test_client(), email="recruiter@acme.test").status_code == 302


def test_a_manager_sets_a_new_password_and_the_old_one_stops_working(app, tenants, admin):
    viewer_id = tenants[0].users["viewer"]
    viewer = signed_in(app, "viewer")
    page = f"/staff/{viewer_id}"
    too_short = post_form(admin, page, f"{page}/password", {"password": "short"}, "password")
    assert too_short.status_code == 422
    assert "at least 12 characters" in too_short.get_data(as_text=True)
    assert viewer.get("/audit").status_code == 200  # nothing changed yet

    reset = post_form(admin, page, f"{page}/password", {"password": "a brand new one"}, "password")
    assert reset.status_code == 302
    assert viewer.get("/audit").status_code == 302  # their session has ended
    assert sign_in(app.test_client(), email="viewer@acme.test").status_code == 401
    again = app.test_client()
    assert sign_in(again, email="viewer@acme.test", password="a brand new one").status_code == 302


def test_nobody_changes_their_own_role_or_access(app, tenants, owner):
    own = f"/staff/{tenants[0].users['owner']}"
    page = owner.get(own).get_data(as_text=True)
    assert "This is you." in page and 'name="role-role"' not in page
    token = csrf_token(owner.get("/staff").get_data(as_text=True), "new-csrf_token")
    forged = owner.post(f"{own}/role", data={"role-role": "viewer", "role-csrf_token": token})
    assert forged.status_code == 422
    assert "This is you." in forged.get_data(as_text=True)
    assert staff_member(app, tenants[0], "owner@acme.test").role == "owner"


@pytest.mark.parametrize("role", ["recruiter", "viewer"])
def test_recruiters_and_viewers_see_no_team_page_and_their_forged_forms_are_403(app, tenants, role):
    acme = tenants[0]
    client = signed_in(app, role)
    for page in ("/staff", f"/staff/{acme.users['viewer']}", "/keys"):
        answer = client.get(page)
        assert answer.status_code == 403, page
        assert "owners and admins may do this." in answer.get_data(as_text=True)
    token = csrf_token(client.get("/account").get_data(as_text=True), "password-csrf_token")
    before = counts(app, acme)
    for action, fields in (
        ("/staff", {"new-email": "x@acme.test", "new-role": "owner", "new-password": PASSWORD}),
        (f"/staff/{acme.users[role]}/role", {"role-role": "owner"}),
        (f"/staff/{acme.users['owner']}/access", {"access-active": "no"}),
        (f"/staff/{acme.users['owner']}/password", {"password-password": "taken over now!"}),
        ("/keys", {"key-name": "mine", "key-scope": "write"}),
        (f"/keys/{acme.key_ids['write']}/revoke", {}),
    ):
        prefix = next(iter(fields), "revoke-").partition("-")[0]
        forged = client.post(action, data={**fields, f"{prefix}-csrf_token": token})
        assert forged.status_code == 403, action
    assert counts(app, acme) == before
    assert Api(app.test_client(), acme.write_key).get("auth/me").status_code == 200


# API keys.


def test_a_new_key_is_shown_once_with_a_copy_button_and_then_only_its_prefix(app, tenants, owner):
    created = post_form(owner, "/keys", "/keys", {"name": "ats", "scope": "write"}, "key")
    page = created.get_data(as_text=True)
    assert created.status_code == 201
    secret = SECRET.search(page).group(1)
    assert 'data-copy="new-key-secret"' in page and 'data-copied="Copied"' in page
    assert "shown this once and never again" in page
    assert created.headers["Cache-Control"] == "no-store"

    integration = Api(app.test_client(), secret)
    assert sorted(integration.get("auth/me").json["scopes"]) == ["read", "write"]
    listed = owner.get("/keys").get_data(as_text=True)
    assert secret not in listed
    assert f"<code>{secret[:10]}…</code>" in listed
    assert "Read and write" in listed
    assert "Revoke the key ats" in listed


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "", "scope": "read"}, "name", "This field is required."),
        ({"name": "x" * 201, "scope": "read"}, "name", "longer than 200 characters"),
        ({"name": "ats", "scope": "admin"}, "scope", "Not a valid choice"),
    ],
)
def test_a_wrong_key_form_is_refused_and_makes_no_key(app, tenants, owner, fields, field, message):
    before = counts(app, tenants[0])
    answer = post_form(owner, "/keys", "/keys", fields, "key")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert message in page
    assert not SECRET.search(page)
    assert counts(app, tenants[0]) == before


def test_revoking_a_key_asks_first_and_then_stops_it_at_once(app, tenants, admin):
    acme = tenants[0]
    key_id = acme.key_ids["write"]
    integration = Api(app.test_client(), acme.write_key)
    confirm = admin.get(f"/keys/{key_id}/revoke").get_data(as_text=True)
    assert "Revoke the key writer?" in confirm and "stops being able to use the API" in confirm
    assert integration.get("auth/me").status_code == 200  # asking revokes nothing

    revoked = post_form(admin, f"/keys/{key_id}/revoke", f"/keys/{key_id}/revoke", {}, "revoke")
    assert (revoked.status_code, revoked.headers["Location"]) == (302, "/keys")
    assert integration.get("auth/me").status_code == 401
    listed = admin.get("/keys").get_data(as_text=True)
    assert "The key writer is revoked." in listed and "Revoked on" in listed
    assert f"/keys/{key_id}/revoke" not in listed
    again = admin.get(f"/keys/{key_id}/revoke").get_data(as_text=True)
    assert "It was revoked on" in again and "<form" not in again.split("<main>")[1]


def test_the_team_pages_in_french(app, tenants):
    client = app.test_client()
    french = {"Accept-Language": "fr-FR,fr;q=0.9"}
    assert sign_in(client, email="owner@acme.test", **french).status_code == 302
    staff = client.get("/staff", headers=french).get_data(as_text=True)
    assert "Personnel" in staff and "Observateur" in staff and "Ajouter" in staff
    keys = client.get("/keys", headers=french).get_data(as_text=True)
    assert "Clés d'API" in keys and "Lecture seule" in keys
    token = csrf_token(keys, "key-csrf_token")
    created = client.post(
        "/keys",
        data={"key-name": "ats", "key-scope": "read", "key-csrf_token": token},
        headers=french,
    )
    assert 'data-copied="Copié"' in created.get_data(as_text=True)
