"""Staff: roles, who may grant which, and sessions that end with a password change."""

from __future__ import annotations

from tests.conftest import login
from tests.factories import PASSWORD

NEW_PASSWORD = "another long password"


def test_owner_adds_a_recruiter_who_can_then_log_in(app, tenants):
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    created = owner.post(
        "users", {"email": "New@Acme.test", "role": "recruiter", "password": NEW_PASSWORD}
    )
    assert created.status_code == 201
    assert created.json["email"] == "new@acme.test"
    assert "password" not in created.json
    me = login(app, "acme", "new@acme.test", NEW_PASSWORD).get("auth/me").json
    assert me["role"] == "recruiter"


def test_admin_cannot_make_an_owner(app, tenants):
    admin = login(app, "acme", "admin@acme.test", PASSWORD)
    body = {"email": "boss@acme.test", "role": "owner", "password": NEW_PASSWORD}
    assert admin.post("users", body).status_code == 403
    assert admin.post("users", {**body, "role": "admin"}).status_code == 201


def test_short_password_is_422(app, tenants):
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    response = owner.post("users", {"email": "a@acme.test", "role": "viewer", "password": "short"})
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "password"


def test_password_change_ends_every_session_of_that_person(app, tenants):
    acme, _ = tenants
    recruiter = login(app, "acme", "recruiter@acme.test", PASSWORD)
    assert recruiter.get("auth/me").status_code == 200
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    changed = owner.patch(f"users/{acme.users['recruiter']}", {"password": NEW_PASSWORD})
    assert changed.status_code == 200
    assert recruiter.get("auth/me").status_code == 401
    assert login(app, "acme", "recruiter@acme.test", NEW_PASSWORD).get("auth/me").status_code == 200


def test_deactivated_staff_cannot_log_in(app, tenants, client):
    acme, _ = tenants
    viewer = login(app, "acme", "viewer@acme.test", PASSWORD)
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    assert owner.patch(f"users/{acme.users['viewer']}", {"active": False}).status_code == 200
    assert viewer.get("auth/me").status_code == 401
    response = client.post(
        "/api/v1/auth/login",
        json={"agency": "acme", "email": "viewer@acme.test", "password": PASSWORD},
    )
    assert response.status_code == 401


def test_logout_ends_the_session_even_for_a_copied_cookie(app, tenants):
    staff = login(app, "acme", "viewer@acme.test", PASSWORD)
    name = app.config["SESSION_COOKIE_NAME"]
    copied = staff.client.get_cookie(name).value
    assert staff.post("auth/logout").status_code == 204
    assert staff.get("auth/me").status_code == 401
    thief = app.test_client()
    thief.set_cookie(name, copied)
    assert thief.get("/api/v1/auth/me").status_code == 401


def test_staff_cannot_change_their_own_role(app, tenants):
    acme, _ = tenants
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    response = owner.patch(f"users/{acme.users['owner']}", {"role": "viewer"})
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "role"


def test_staff_change_their_own_password_and_other_sessions_end(app, tenants):
    laptop = login(app, "acme", "recruiter@acme.test", PASSWORD)
    phone = login(app, "acme", "recruiter@acme.test", PASSWORD)
    wrong = laptop.post(
        "auth/password", {"current_password": "not it at all", "new_password": NEW_PASSWORD}
    )
    assert wrong.status_code == 422
    assert wrong.json["errors"][0]["field"] == "current_password"
    changed = laptop.post(
        "auth/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 204
    assert laptop.get("auth/me").status_code == 200
    assert phone.get("auth/me").status_code == 401
    assert login(app, "acme", "recruiter@acme.test", NEW_PASSWORD).get("auth/me").status_code == 200


def test_admin_cannot_take_over_an_owner_or_another_admin(app, tenants):
    acme, _ = tenants
    admin = login(app, "acme", "admin@acme.test", PASSWORD)
    for target in ("owner",):
        taken = admin.patch(f"users/{acme.users[target]}", {"password": NEW_PASSWORD})
        assert taken.status_code == 403
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    second_admin = owner.post(
        "users", {"email": "admin2@acme.test", "role": "admin", "password": PASSWORD}
    ).json
    assert admin.patch(f"users/{second_admin['id']}", {"password": NEW_PASSWORD}).status_code == 403
    assert admin.patch(f"users/{second_admin['id']}", {"active": False}).status_code == 403
    # The owner's password still works; the admin still manages recruiters.
    assert login(app, "acme", "owner@acme.test", PASSWORD).get("auth/me").status_code == 200
    reset = admin.patch(f"users/{acme.users['recruiter']}", {"password": NEW_PASSWORD})
    assert reset.status_code == 200


def test_own_password_changes_only_with_the_current_one(app, tenants):
    acme, _ = tenants
    owner = login(app, "acme", "owner@acme.test", PASSWORD)
    response = owner.patch(f"users/{acme.users['owner']}", {"password": NEW_PASSWORD})
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "password"
