"""The webhooks pages as the server answers them: owners and admins add, change, switch off,
rotate, test and delete endpoints; the signing secret is shown once; the delivery log shows each
message and attempt, follows the ones about to be sent, retries and recovers; anyone else gets
the 403 page and changes nothing. (Another agency's ids are the 404 page: tests/test_portal.py
walks every route.)"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from reputation.audit.models import AuditEntry
from reputation.extensions import db
from reputation.portal.webhooks import EVENT_TYPE_LABELS
from reputation.tenancy.scope import agency_scope
from reputation.webhooks.models import EVENT_TYPES, FAILED, WebhookEndpoint, WebhookMessage
from tests.conftest import count_rows, run_jobs
from tests.test_portal import csrf_token, sign_in
from tests.test_webhooks import Receiver

# A public address that needs no name lookup: registering it passes the service's checks.
PUBLIC_URL = "https://93.184.216.34/hooks/reputation"
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{40,}")


def staff(app, role):
    client = app.test_client()
    assert sign_in(client, email=f"{role}@acme.test").status_code == 302
    return client


@pytest.fixture
def admin(app, tenants):
    return staff(app, "admin")


def token(client) -> str:
    return csrf_token(client.get("/account").get_data(as_text=True), "password-csrf_token")


def add_endpoint(client, url=PUBLIC_URL, **fields):
    return client.post("/webhooks", data={"url": url, "csrf_token": token(client), **fields})


def endpoint_of(app, tenant) -> WebhookEndpoint:
    with app.app_context(), agency_scope(tenant.agency_id):
        endpoint = db.session.scalars(select(WebhookEndpoint)).one()
        db.session.expunge(endpoint)
        return endpoint


def messages_of(app, tenant) -> list[WebhookMessage]:
    with app.app_context(), agency_scope(tenant.agency_id):
        found = db.session.scalars(select(WebhookMessage).order_by(WebhookMessage.created_at))
        rows = found.all()
        db.session.expunge_all()
        return rows


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.server.shutdown()


@pytest.fixture
def private_networks_allowed(app):
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = True
    yield
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = False


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(app, tenants, admin):
    added = add_endpoint(
        admin,
        description="Our ATS",
        event_types=["contractor.created", "conduct_event.recorded"],
        headers="X-Tenant: acme-42\nAuthorization: Bearer ours",
    )
    page = added.get_data(as_text=True)
    assert added.status_code == 201
    (secret,) = set(SECRET.findall(page))
    assert "shown only this once" in page and 'data-copy="secret"' in page
    endpoint = endpoint_of(app, tenants[0])
    assert endpoint.secret == secret and endpoint.description == "Our ATS"
    assert endpoint.event_types == ["conduct_event.recorded", "contractor.created"]
    assert endpoint.headers == {"X-Tenant": "acme-42", "Authorization": "Bearer ours"}
    # Never again: not in the list, the endpoint's page or its edit form.
    for path in ("/webhooks", f"/webhooks/{endpoint.id}", f"/webhooks/{endpoint.id}/edit"):
        shown = admin.get(path)
        assert shown.status_code == 200 and "whsec_" not in shown.get_data(as_text=True), path
    listed = admin.get("/webhooks").get_data(as_text=True)
    assert PUBLIC_URL in listed and "Our ATS" in listed


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"url": ""}, "url", "This field is required."),
        ({"url": "ftp://93.184.216.34/x"}, "url", "Give an https:// address"),
        ({"url": "https://10.0.0.7/hook"}, "url", "resolves to a private address"),
        ({"url": "https://user:pw@93.184.216.34/"}, "url", "Credentials in the URL"),
        ({"description": "x" * 501}, "description", "longer than 500"),
        ({"event_types": ["contractor.deleted"]}, "event_types", "is not a valid choice"),
        ({"headers": "no colon here"}, "headers", "Name: value"),
        ({"headers": "Content-Type: text/plain"}, "headers", "set by the service"),
        ({"headers": "Bad Name: x"}, "headers", "Not a header name."),
    ],
)
def test_wrong_input_is_said_beside_its_field_and_nothing_is_written(
    app, tenants, admin, fields, field, says
):
    answer = add_endpoint(admin, **{"url": PUBLIC_URL, "description": "kept", **fields})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    errors = re.search(rf'<small id="{field}-errors" class="error">([^<]*)</small>', page)
    assert errors and says in errors.group(1), page
    assert "whsec_" not in page
    if field != "description":
        assert 'value="kept"' in page  # what was typed is kept
    assert count_rows(app, WebhookEndpoint) == 0


def test_an_admin_edits_switches_off_and_on_and_deletes_an_endpoint(app, tenants, admin):
    add_endpoint(admin, description="Old")
    endpoint = endpoint_of(app, tenants[0])
    edit = f"/webhooks/{endpoint.id}/edit"
    form = admin.get(edit).get_data(as_text=True)
    assert 'value="Old"' in form and PUBLIC_URL in form
    saved = admin.post(
        edit,
        data={"url": PUBLIC_URL, "description": "New", "event_types": ["dispute.opened"],
              "csrf_token": token(admin)},
    )  # fmt: skip
    assert saved.status_code == 302
    assert "The endpoint is saved." in admin.get(saved.headers["Location"]).get_data(as_text=True)
    changed = endpoint_of(app, tenants[0])
    assert (changed.description, changed.event_types) == ("New", ["dispute.opened"])
    assert changed.secret == endpoint.secret
    refused = admin.post(edit, data={"url": "https://127.0.0.1/", "csrf_token": token(admin)})
    assert refused.status_code == 422 and "loopback address" in refused.get_data(as_text=True)
    assert endpoint_of(app, tenants[0]).url == PUBLIC_URL

    page = f"/webhooks/{endpoint.id}"
    admin.post(f"{page}/enabled", data={"enabled": "false", "csrf_token": token(admin)})
    assert endpoint_of(app, tenants[0]).enabled is False
    shown = admin.get(page).get_data(as_text=True)
    assert "Send a test event" not in shown and ">Enable<" in shown
    admin.post(f"{page}/enabled", data={"enabled": "true", "csrf_token": token(admin)})
    assert endpoint_of(app, tenants[0]).enabled is True

    deleted = admin.post(f"{page}/delete", data={"csrf_token": token(admin)})
    assert deleted.headers["Location"] == "/webhooks"
    listed = admin.get(deleted.headers["Location"]).get_data(as_text=True)
    assert "is deleted" in listed and f'href="{page}"' not in listed
    assert admin.get(page).status_code == 404


def test_rotating_shows_the_new_secret_once(app, tenants, admin):
    first = SECRET.search(add_endpoint(admin).get_data(as_text=True)).group(0)
    endpoint = endpoint_of(app, tenants[0])
    rotated = admin.post(
        f"/webhooks/{endpoint.id}/rotate-secret", data={"csrf_token": token(admin)}
    )
    page = rotated.get_data(as_text=True)
    (second,) = set(SECRET.findall(page))
    assert rotated.status_code == 200 and second != first
    assert "For 24 hours every message is signed with both" in page
    after = endpoint_of(app, tenants[0])
    assert (after.secret, after.previous_secret) == (second, first)
    assert "whsec_" not in admin.get(f"/webhooks/{endpoint.id}").get_data(as_text=True)


def test_a_test_event_reaches_the_receiver_and_shows_in_the_log(
    app, tenants, admin, receiver, private_networks_allowed, redis_url
):
    add_endpoint(admin, url=receiver.url)
    endpoint = endpoint_of(app, tenants[0])
    page = f"/webhooks/{endpoint.id}"
    sent = admin.post(f"{page}/test", data={"csrf_token": token(admin)})
    assert sent.headers["Location"] == page
    waiting = admin.get(page).get_data(as_text=True)
    assert "A test event is on its way" in waiting
    assert "<code>ping</code>" in waiting and "pending" in waiting
    assert 'hx-trigger="every 2s"' in waiting  # the log follows the message about to be sent
    run_jobs(app, redis_url)
    assert [body for _, body in receiver.received if '"type":"ping"' in body]
    partial = admin.get(page, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in partial and 'id="deliveries"' in partial
    assert "delivered" in partial and "answer 200" in partial
    assert "hx-trigger" not in partial  # nothing more to follow


def test_a_failed_message_is_retried_and_failures_since_a_day_recovered(app, tenants, admin):
    add_endpoint(admin)
    endpoint = endpoint_of(app, tenants[0])
    page = f"/webhooks/{endpoint.id}"
    for _ in range(3):
        admin.post(f"{page}/test", data={"csrf_token": token(admin)})
    with app.app_context(), agency_scope(tenants[0].agency_id):
        old, recent, retried = db.session.scalars(
            select(WebhookMessage).order_by(WebhookMessage.created_at)
        ).all()
        for message, age in ((old, 10), (recent, 1), (retried, 1)):
            message.status, message.next_attempt_at = FAILED, None
            message.created_at = datetime.now(UTC) - timedelta(days=age)
        db.session.commit()
        ids = old.id, recent.id, retried.id
    shown = admin.get(page).get_data(as_text=True)
    assert shown.count(">Retry<") == 3 and "failed" in shown

    again = admin.post(f"/webhooks/deliveries/{ids[2]}/retry", data={"csrf_token": token(admin)})
    assert again.headers["Location"] == page
    assert "The message is sent again." in admin.get(page).get_data(as_text=True)
    assert [m.status for m in messages_of(app, tenants[0])] == ["failed", "failed", "pending"]

    since = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    recovered = admin.post(f"{page}/recover", data={"since": since, "csrf_token": token(admin)})
    assert "1 failed message is sent again." in admin.get(recovered.headers["Location"]).get_data(
        as_text=True
    )
    assert [m.status for m in messages_of(app, tenants[0])] == ["failed", "pending", "pending"]

    refused = admin.post(f"{page}/recover", data={"since": "last week", "csrf_token": token(admin)})
    assert refused.status_code == 422
    assert re.search(
        r'<small id="since-errors" class="error">[^<]+</small>', refused.get_data(as_text=True)
    )


def test_the_delivery_log_comes_a_page_at_a_time_and_filters_by_status(app, tenants, admin):
    add_endpoint(admin)
    endpoint = endpoint_of(app, tenants[0])
    page = f"/webhooks/{endpoint.id}"
    with app.app_context(), agency_scope(tenants[0].agency_id):
        for number in range(30):
            db.session.add(
                WebhookMessage(
                    endpoint_id=endpoint.id, event_type="contractor.created", body="{}",
                    status=FAILED if number < 4 else "succeeded",
                    created_at=datetime.now(UTC) - timedelta(minutes=number),
                )
            )  # fmt: skip
        db.session.commit()
    first = admin.get(page).get_data(as_text=True)
    assert "30 messages" in first and "Page 1 of 2" in first and first.count("<tr>") == 26
    second = admin.get(f"{page}?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second and second.count("<tr>") == 6
    failed = admin.get(f"{page}?status=failed").get_data(as_text=True)
    assert "4 messages" in failed and failed.count(">Retry<") == 4


@pytest.mark.parametrize("role", ["recruiter", "viewer"])
def test_only_owners_and_admins_reach_the_webhooks(app, tenants, admin, role):
    add_endpoint(admin)
    endpoint = endpoint_of(app, tenants[0])
    other = staff(app, role)
    for path in ("/webhooks", f"/webhooks/{endpoint.id}", f"/webhooks/{endpoint.id}/edit"):
        answer = other.get(path)
        assert answer.status_code == 403, path
        assert "owners and admins may do this." in answer.get_data(as_text=True)
    assert "/webhooks" not in other.get("/contractors").get_data(as_text=True)
    before = count_rows(app, AuditEntry)
    for path, data in (
        ("/webhooks", {"url": "https://93.184.216.35/"}),
        (f"/webhooks/{endpoint.id}/test", {}),
        (f"/webhooks/{endpoint.id}/rotate-secret", {}),
        (f"/webhooks/{endpoint.id}/enabled", {"enabled": "false"}),
        (f"/webhooks/{endpoint.id}/delete", {}),
        (f"/webhooks/{endpoint.id}/recover", {"since": "2025-01-01"}),
    ):
        forged = other.post(path, data={**data, "csrf_token": token(other)})
        assert forged.status_code == 403, path
        assert "whsec_" not in forged.get_data(as_text=True)
    assert count_rows(app, AuditEntry) == before
    assert count_rows(app, WebhookEndpoint) == 1 and count_rows(app, WebhookMessage) == 0
    assert endpoint_of(app, tenants[0]).secret == endpoint.secret


def test_the_owner_manages_webhooks_too(app, tenants):
    owner = staff(app, "owner")
    assert owner.get("/webhooks").status_code == 200
    assert add_endpoint(owner).status_code == 201


def test_the_pages_speak_french(app, tenants, admin):
    add_endpoint(admin)
    endpoint = endpoint_of(app, tenants[0])
    french = {"Accept-Language": "fr"}
    listed = admin.get("/webhooks", headers=french).get_data(as_text=True)
    assert "Ajouter un point de réception" in listed
    shown = admin.get(f"/webhooks/{endpoint.id}", headers=french).get_data(as_text=True)
    assert "Journal des envois" in shown


def test_every_event_type_is_described():
    assert set(EVENT_TYPE_LABELS) == set(EVENT_TYPES)


def test_another_agency_sees_none_of_the_endpoints(app, tenants, admin):
    # The other agency's staff see none of acme's endpoints in their list.
    add_endpoint(admin)
    globex = app.test_client()
    assert sign_in(globex, agency="globex", email="admin@globex.test").status_code == 302
    assert PUBLIC_URL not in globex.get("/webhooks").get_data(as_text=True)
    with app.app_context(), agency_scope(tenants[1].agency_id):
        assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0
