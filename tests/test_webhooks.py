"""Webhooks: signed messages to a real receiver on 127.0.0.1, retried on a schedule set by the
clock, logged attempt by attempt, and never sent toward an address they should not reach."""

from __future__ import annotations

import base64
import contextlib
import json
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from reputation import clock
from reputation.extensions import db
from reputation.tenancy.scope import agency_scope
from reputation.webhooks import delivery
from reputation.webhooks.models import WebhookMessage
from tests.conftest import login, run_jobs
from tests.factories import PASSWORD


class Receiver:
    """An HTTP server on 127.0.0.1 that records each request and answers as it is told."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], str]] = []
        self.answers: list[tuple[int, dict[str, str], bytes, float]] = []
        self.meanwhile: Callable[[], None] | None = None  # run while a request waits
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                if receiver.meanwhile:
                    receiver.meanwhile()
                status, headers, answer, delay = (
                    receiver.answers.pop(0) if receiver.answers else (200, {}, b"ok", 0.0)
                )
                time.sleep(delay)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(answer)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                # The client may stop reading, as it should past the cap.
                with contextlib.suppress(OSError):
                    self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/reputation?source=test"

    def answer(self, status: int, body: bytes = b"", delay: float = 0.0, **headers: str) -> None:
        self.answers.append((status, headers, body, delay))


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.server.shutdown()


@pytest.fixture
def admin(app, tenants):
    return login(app, "acme", "admin@acme.test", PASSWORD)


@pytest.fixture
def private_networks_allowed(app):
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = True
    yield
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = False


@pytest.fixture
def endpoint(admin, receiver, private_networks_allowed):
    response = admin.post("webhooks/endpoints", {"url": receiver.url, "description": "ATS"})
    assert response.status_code == 201, response.json
    return response.json


def messages(app, tenants) -> list[WebhookMessage]:
    with app.app_context(), agency_scope(tenants[0].agency_id):
        rows = db.session.scalars(select(WebhookMessage).order_by(WebhookMessage.created_at))
        found = rows.all()
        db.session.expunge_all()
        return found


def run_due_at(app, redis_url, moment: datetime) -> None:
    with clock.frozen(moment):
        run_jobs(app, redis_url)


def test_an_endpoint_is_made_with_a_secret_shown_once(admin, endpoint):
    assert endpoint["secret"].startswith("whsec_")
    assert len(base64.b64decode(endpoint["secret"].removeprefix("whsec_"))) == 32
    shown = admin.get(f"webhooks/endpoints/{endpoint['id']}").json
    assert "secret" not in shown and shown["description"] == "ATS"
    assert [e["id"] for e in admin.get("webhooks/endpoints").json["items"]] == [endpoint["id"]]


def test_an_event_arrives_signed_and_every_standard_webhooks_verifier_accepts_it(
    app, tenants, admin, endpoint, receiver, redis_url
):
    admin.patch(f"webhooks/endpoints/{endpoint['id']}", {"headers": {"X-Tenant": "acme-42"}})
    contractor = admin.post("contractors", {"name": "Robin"}).json
    run_jobs(app, redis_url)
    created = [
        (headers, body) for headers, body in receiver.received if '"contractor.created"' in body
    ]
    assert len(created) == 1
    headers, body = created[0]
    payload = Webhook(endpoint["secret"]).verify(body, headers)
    assert payload["type"] == "contractor.created"
    assert payload["data"]["id"] == contractor["id"]
    assert datetime.fromisoformat(payload["timestamp"])
    assert headers["webhook-id"].startswith("msg_")
    assert headers["x-tenant"] == "acme-42"
    log = admin.get(f"webhooks/endpoints/{endpoint['id']}/deliveries?event_type=contractor.created")
    (delivered,) = log.json["items"]
    assert delivered["status"] == "succeeded" and delivered["webhook_id"] == headers["webhook-id"]
    assert [a["status_code"] for a in delivered["attempt_log"]] == [200]
    assert delivered["attempt_log"][0]["response_body"] == "ok"


def test_an_endpoint_gets_only_the_event_types_it_asked_for(
    app, admin, receiver, private_networks_allowed, redis_url
):
    admin.post(
        "webhooks/endpoints", {"url": receiver.url, "event_types": ["conduct_event.recorded"]}
    )
    contractor = admin.post("contractors", {"name": "Robin"}).json
    run_jobs(app, redis_url)
    assert receiver.received == []
    admin.post(
        f"contractors/{contractor['id']}/events",
        {"kind": "rudeness", "occurred_at": "2025-01-01T00:00:00Z", "summary": "Rude"},
    )
    run_jobs(app, redis_url)
    assert [json.loads(body)["type"] for _, body in receiver.received] == ["conduct_event.recorded"]


def test_events_carry_each_object_as_the_api_shows_it(
    app, admin, receiver, private_networks_allowed, redis_url
):
    admin.post("webhooks/endpoints", {"url": receiver.url})
    contractor = admin.post("contractors", {"name": "Robin", "tags": ["rust"]}).json
    event = admin.post(
        f"contractors/{contractor['id']}/events",
        {"kind": "rudeness", "occurred_at": "2025-01-01T00:00:00Z", "summary": "Rude",
         "details": "To the client's lead", "evidence_urls": ["https://ats.example/n/1"]},
    ).json  # fmt: skip
    step = admin.post(
        f"contractors/{contractor['id']}/rehabilitation",
        {"kind": "acknowledgement", "occurred_at": "2025-02-01T00:00:00Z",
         "addresses_event_id": event["id"], "description": "Wrote to the lead"},
    ).json  # fmt: skip
    run_jobs(app, redis_url)  # the recompute, whose events are delivered by the next run
    run_jobs(app, redis_url)
    sent = {payload["type"]: payload["data"] for payload in map(json.loads, (b for _, b in
            receiver.received))}  # fmt: skip
    assert sent["contractor.created"] == contractor
    assert sent["conduct_event.recorded"] == event
    assert {"summary", "details", "evidence_urls", "source", "recorded_at"} <= event.keys()
    assert sent["rehabilitation.recorded"] == step
    shown = admin.get(f"contractors/{contractor['id']}/assessment").json
    assert sent["trajectory.updated"] == shown
    assert sent["assessment.changed"] == {**shown, "previous": None}


def test_a_page_of_the_delivery_log_reads_its_attempts_in_one_query(
    app, admin, endpoint, receiver, redis_url
):
    from sqlalchemy import event as sql_event

    for _ in range(5):
        admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    run_jobs(app, redis_url)
    statements = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sql_event.listen(engine, "before_cursor_execute", count)
    try:
        page = admin.get(f"webhooks/endpoints/{endpoint['id']}/deliveries").json
    finally:
        sql_event.remove(engine, "before_cursor_execute", count)
    assert len(page["items"]) == 5 and all(len(d["attempt_log"]) == 1 for d in page["items"])
    assert len([s for s in statements if "FROM webhook_attempts" in s]) == 1


def test_a_failed_attempt_is_retried_after_the_schedule_with_the_same_id(
    app, tenants, admin, endpoint, receiver, redis_url
):
    receiver.answer(500, b"down for maintenance")
    admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    run_jobs(app, redis_url)
    (message,) = messages(app, tenants)
    assert message.status == "pending" and message.attempts == 1
    wait = message.next_attempt_at - message.last_attempt_at
    assert timedelta(seconds=4) <= wait <= timedelta(seconds=6)  # 5 s ± 20%
    run_due_at(app, redis_url, message.next_attempt_at - timedelta(seconds=1))
    assert len(receiver.received) == 1  # not due yet
    run_due_at(app, redis_url, message.next_attempt_at + timedelta(seconds=1))
    assert len(receiver.received) == 2
    (first_headers, _), (second_headers, body) = receiver.received
    assert first_headers["webhook-id"] == second_headers["webhook-id"]
    assert Webhook(endpoint["secret"]).verify(body, second_headers)["type"] == "ping"
    log = admin.get(f"webhooks/endpoints/{endpoint['id']}/deliveries").json["items"][0]
    assert log["status"] == "succeeded"
    assert [(a["status_code"], a["response_body"]) for a in log["attempt_log"]] == [
        (500, "down for maintenance"), (200, "ok"),
    ]  # fmt: skip


def test_the_retry_schedule_spans_about_three_days_with_jitter():
    failure = delivery.Outcome(500, 1.0, "", "HTTP 500")
    schedule = [5, 300, 1800, 7200, 18000, 36000, 36000, 50400]
    for attempt, seconds in enumerate(schedule, start=1):
        waits = {
            delivery.next_attempt_after(attempt, failure, random.Random(seed)).total_seconds()
            for seed in range(50)
        }
        assert all(0.8 * seconds <= w <= 1.2 * seconds for w in waits)
        assert len(waits) > 40  # jittered, not one fixed moment
    assert delivery.next_attempt_after(len(schedule) + 1, failure) is None


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_on_429_and_503(status):
    asked = delivery.Outcome(status, 1.0, "", "busy", retry_after=timedelta(seconds=90))
    assert delivery.next_attempt_after(1, asked) == timedelta(seconds=90)
    other = delivery.Outcome(500, 1.0, "", "HTTP 500", retry_after=timedelta(hours=1))
    assert delivery.next_attempt_after(1, other) <= timedelta(seconds=6)  # the schedule's 5 s


def test_retry_after_is_read_as_seconds_or_a_date_and_nonsense_is_ignored():
    from email.utils import format_datetime

    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(minutes=1), usegmt=True)
    assert timedelta(seconds=55) < delivery._retry_after(in_a_minute) <= timedelta(minutes=1)
    assert delivery._retry_after("120") == timedelta(seconds=120)
    for nonsense in ("99999999999999", "\u00b2", "9" * 5000, "soon", "", None):
        assert delivery._retry_after(nonsense) is None


def test_a_retry_after_header_reaches_the_schedule(
    app, tenants, admin, endpoint, receiver, redis_url
):
    receiver.answer(429, b"slow down", **{"Retry-After": "120"})
    admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    run_jobs(app, redis_url)
    (message,) = messages(app, tenants)
    assert message.next_attempt_at - message.last_attempt_at == timedelta(seconds=120)


def test_gone_disables_the_endpoint_with_a_notice(
    app, tenants, admin, endpoint, receiver, redis_url
):
    receiver.answer(410)
    admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    run_jobs(app, redis_url)
    shown = admin.get(f"webhooks/endpoints/{endpoint['id']}").json
    assert shown["enabled"] is False and "410" in shown["disabled_reason"]
    assert [m.status for m in messages(app, tenants)] == ["failed"]
    audit = admin.get("audit").json["items"]
    assert any(entry["action"] == "endpoint.disabled" for entry in audit)
    admin.post("contractors", {"name": "Robin"})
    run_jobs(app, redis_url)
    assert len(receiver.received) == 1  # a disabled endpoint gets nothing more


def test_five_days_of_only_failures_disable_the_endpoint(
    app, tenants, admin, endpoint, receiver, redis_url
):
    for _ in range(10):
        receiver.answer(500)
    admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    run_jobs(app, redis_url)
    started = messages(app, tenants)[0].last_attempt_at
    run_due_at(app, redis_url, started + timedelta(days=4))
    assert admin.get(f"webhooks/endpoints/{endpoint['id']}").json["enabled"] is True
    with clock.frozen(started + timedelta(days=4)):
        admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    run_due_at(app, redis_url, started + timedelta(days=5, seconds=1))
    shown = admin.get(f"webhooks/endpoints/{endpoint['id']}").json
    assert shown["enabled"] is False and "five days" in shown["disabled_reason"]
    assert {m.status for m in messages(app, tenants)} == {"failed"}


def test_a_redirect_is_a_failure_and_is_not_followed(
    app, tenants, admin, endpoint, receiver, redis_url
):
    receiver.answer(302, Location=receiver.url + "&moved=1")
    admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    run_jobs(app, redis_url)
    assert len(receiver.received) == 1
    (message,) = messages(app, tenants)
    assert message.status == "pending" and message.attempts == 1


def test_a_hanging_receiver_fails_cleanly_and_a_huge_answer_is_read_only_to_the_cap(
    app, receiver, monkeypatch
):
    monkeypatch.setattr(delivery, "TIMEOUT_SECONDS", 1.0)
    receiver.answer(200, b"late", delay=3.0)
    started = time.monotonic()
    hung = delivery.post(receiver.url, "{}", {}, allow_private=True)
    assert time.monotonic() - started < 2.5
    assert not hung.succeeded and "took more than 1 s" in hung.error
    receiver.answer(200, b"x" * (20 * 1024 * 1024))
    huge = delivery.post(receiver.url, "{}", {}, allow_private=True)
    assert huge.succeeded and len(huge.response_body) == delivery.RESPONSE_CAP


def drip(prefix: bytes) -> str:
    """A server on 127.0.0.1 that sends `prefix`, then one byte every 0.2 s, for ever."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with contextlib.suppress(OSError):
            connection.recv(65536)
            connection.sendall(prefix)
            for _ in range(100):
                connection.sendall(b"x")
                time.sleep(0.2)

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/"


@pytest.mark.parametrize(
    "prefix",
    [
        b"HTTP/1.1 200 OK\r\nX-Slow: ",  # headers that never end
        b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n",  # a body that never ends
    ],
)
def test_a_receiver_that_drips_is_cut_off_at_the_deadline(monkeypatch, prefix):
    monkeypatch.setattr(delivery, "TIMEOUT_SECONDS", 1.0)
    started = time.monotonic()
    outcome = delivery.post(drip(prefix), "{}", {}, allow_private=True)
    assert time.monotonic() - started < 2.0
    assert not outcome.succeeded and "took more than 1 s" in outcome.error


def test_whatever_the_receiver_answers_is_logged_without_breaking_the_job(
    app, tenants, admin, endpoint, receiver, redis_url
):
    receiver.answer(500, b"a\x00b\xff", **{"Retry-After": "99999999999999"})
    admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    run_jobs(app, redis_url)
    (message,) = messages(app, tenants)
    assert message.attempts == 1 and message.status == "pending"
    log = admin.get(f"webhooks/endpoints/{endpoint['id']}/deliveries").json["items"][0]
    assert log["attempt_log"][0]["response_body"] == "a\ufffdb\ufffd"


def test_an_attempt_is_logged_even_if_its_message_was_leased_again_meanwhile(
    app, tenants, admin, endpoint, receiver, redis_url
):
    """A job slower than its lease: the relay hands the message to another job, whose state
    stands; the first job's attempt is still in the log."""
    from reputation.tenancy.scope import system_scope

    def lease_again() -> None:
        with app.app_context(), system_scope():
            message = db.session.scalar(select(WebhookMessage))
            message.leased_until = clock.now() + timedelta(minutes=10)
            db.session.commit()

    receiver.meanwhile = lease_again
    admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    run_jobs(app, redis_url)
    (message,) = messages(app, tenants)
    assert (message.status, message.attempts) == ("pending", 0)
    assert message.leased_until is not None
    log = admin.get(f"webhooks/endpoints/{endpoint['id']}/deliveries").json["items"][0]
    assert [a["status_code"] for a in log["attempt_log"]] == [200]


def test_one_message_changed_meanwhile_leaves_the_others_of_its_group_delivered(
    app, tenants, admin, endpoint, receiver, redis_url
):
    """Attempts are committed in groups; when one message of a group changed under the job, the
    others keep their outcome and every attempt is logged."""
    from reputation.tenancy.scope import system_scope

    def lease_the_second_again() -> None:
        if len(receiver.received) == 2:
            with app.app_context(), system_scope():
                second = db.session.scalars(
                    select(WebhookMessage).order_by(WebhookMessage.created_at, WebhookMessage.id)
                ).all()[1]
                second.leased_until = clock.now() + timedelta(minutes=10)
                db.session.commit()

    receiver.meanwhile = lease_the_second_again
    for _ in range(3):
        admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    run_jobs(app, redis_url)
    first, second, third = sorted(messages(app, tenants), key=lambda m: (m.created_at, m.id))
    assert [(m.status, m.attempts) for m in (first, second, third)] == [
        ("succeeded", 1), ("pending", 0), ("succeeded", 1),
    ]  # fmt: skip
    log = admin.get(f"webhooks/endpoints/{endpoint['id']}/deliveries").json["items"]
    assert sorted(len(d["attempt_log"]) for d in log) == [1, 1, 1]


def test_a_message_being_attempted_cannot_be_retried_meanwhile(app, tenants, admin, endpoint):
    from workers.relay import relay_due_webhooks

    admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    assert relay_due_webhooks(app) == 1  # leased to a job
    (message,) = messages(app, tenants)
    assert admin.post(f"webhooks/deliveries/{message.id}/retry").status_code == 409
    assert relay_due_webhooks(app) == 0  # and to no second one


def test_a_rotated_secret_signs_beside_the_old_one_for_24_hours(
    app, tenants, admin, endpoint, receiver, redis_url
):
    rotated = admin.post(f"webhooks/endpoints/{endpoint['id']}/rotate-secret").json
    assert rotated["secret"] != endpoint["secret"]
    admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    run_jobs(app, redis_url)
    headers, body = receiver.received[-1]
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (endpoint["secret"], rotated["secret"]):
        assert Webhook(secret).verify(body, headers)["type"] == "ping"
    later = clock.now() + timedelta(hours=24, seconds=1)
    with clock.frozen(later):
        admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    run_due_at(app, redis_url, later)
    headers, body = receiver.received[-1]
    expected = Webhook(rotated["secret"]).sign(
        headers["webhook-id"], datetime.fromtimestamp(int(headers["webhook-timestamp"])), body
    )
    assert headers["webhook-signature"] == expected


def test_failed_messages_are_recovered_and_one_can_be_retried(
    app, tenants, admin, endpoint, receiver, redis_url
):
    for _ in range(9):
        receiver.answer(400, b"bad")
    admin.post(f"webhooks/endpoints/{endpoint['id']}/test")
    run_jobs(app, redis_url)
    for _ in range(8):
        (message,) = messages(app, tenants)
        run_due_at(app, redis_url, message.next_attempt_at + timedelta(seconds=1))
    (message,) = messages(app, tenants)
    assert (message.status, message.attempts) == ("failed", 9)
    path = f"webhooks/endpoints/{endpoint['id']}"
    assert admin.get(f"{path}/deliveries?status=failed").json["total"] == 1
    later = message.last_attempt_at + timedelta(minutes=1)
    since = (message.created_at - timedelta(seconds=1)).isoformat()
    with clock.frozen(later):
        assert admin.post(f"{path}/recover", {"since": since}).json == {"messages": 1}
    run_due_at(app, redis_url, later)
    assert messages(app, tenants)[0].status == "succeeded"
    with clock.frozen(later):
        retried = admin.post(f"webhooks/deliveries/{message.id}/retry")
    assert retried.status_code == 202 and retried.json["status"] == "pending"
    run_due_at(app, redis_url, later)
    assert len(receiver.received) == 11
    assert len({headers["webhook-id"] for headers, _ in receiver.received}) == 1


@pytest.mark.parametrize(
    "url, reason",
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("https://[fc00::1]/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://100.64.0.1/hook", "carrier-grade NAT"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://240.0.0.1/hook", "reserved"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://[::ffff:127.0.0.1]/hook", "IPv4-mapped loopback"),
        ("https://0x7f000001/hook", "loopback"),
        ("https://2130706433/hook", "loopback"),
        ("https://127.1/hook", "loopback"),
        ("https://[2002:7f00:1::1]/hook", "6to4 loopback"),
        ("https://[2002:a9fe:a9fe::1]/hook", "6to4 link-local"),
        ("https://[fec0::1]/hook", "site-local"),
        ("https://192.0.0.8/hook", "reserved"),
        ("https://93.184.216.34/caf\u00e9", "ASCII"),
        ("https://93.184.216.34:0/hook", "Port 0"),
        ("http://93.184.216.34/hook", "HTTPS"),
        ("not a url", "HTTPS"),
        ("https://user:pw@93.184.216.34/hook", "Credentials"),
    ],
)
def test_forbidden_addresses_are_refused_at_registration(admin, url, reason):
    response = admin.post("webhooks/endpoints", {"url": url})
    assert response.status_code == 422, response.json
    (error,) = response.json["errors"]
    assert error["field"] == "url" and reason in error["detail"]


def test_a_public_https_address_is_accepted(admin):
    assert (
        admin.post("webhooks/endpoints", {"url": "https://93.184.216.34/hook"}).status_code == 201
    )


def test_the_address_is_checked_again_when_connecting(
    app, tenants, admin, receiver, private_networks_allowed, redis_url
):
    """Registered while private networks were allowed; by send time the host name resolves to
    a forbidden address, and the connection is refused before a byte is sent."""
    url = receiver.url.replace("http://127.0.0.1", "https://localhost")
    created = admin.post("webhooks/endpoints", {"url": url}).json
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = False
    admin.post(f"webhooks/endpoints/{created['id']}/test")
    run_jobs(app, redis_url)
    assert receiver.received == []
    log = admin.get(f"webhooks/endpoints/{created['id']}/deliveries").json["items"][0]
    assert "loopback" in log["attempt_log"][0]["error"]
    assert log["attempt_log"][0]["status_code"] is None


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "https://93.184.216.34/", "event_types": ["contractor.deleted"]}, "event_types"),
        ({"url": "https://93.184.216.34/", "headers": {"webhook-id": "x"}}, "headers"),
        ({"url": "https://93.184.216.34/", "headers": {"Content-Type": "text/plain"}}, "headers"),
        ({"url": "https://93.184.216.34/", "headers": {"bad name": "x"}}, "headers"),
        ({"url": "https://93.184.216.34/", "headers": {"X-A": "a\r\nb"}}, "headers"),
        ({"url": "https://93.184.216.34/", "headers": {"X-A": "\u20ac"}}, "headers"),
        ({}, "url"),
    ],
)
def test_bad_endpoints_are_refused_naming_the_field(admin, body, field):
    response = admin.post("webhooks/endpoints", body)
    assert response.status_code == 422, response.json
    assert response.json["errors"][0]["field"].split(".")[0] == field


def test_endpoints_are_for_owners_and_admins(app, tenants, endpoint):
    recruiter = login(app, "acme", "recruiter@acme.test", PASSWORD)
    assert recruiter.get("webhooks/endpoints").status_code == 403
    assert (
        recruiter.post("webhooks/endpoints", {"url": "https://93.184.216.34/"}).status_code == 403
    )


def test_a_deleted_endpoint_is_gone_and_receives_nothing(app, admin, endpoint, receiver, redis_url):
    assert admin.delete(f"webhooks/endpoints/{endpoint['id']}").status_code == 204
    assert admin.get(f"webhooks/endpoints/{endpoint['id']}").status_code == 404
    admin.post("contractors", {"name": "Robin"})
    run_jobs(app, redis_url)
    assert receiver.received == []
