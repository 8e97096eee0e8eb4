"""What every browser test relies on: the watch over its pages, and a long-lived service that
meets each test's fresh tables and Redis."""

from __future__ import annotations

from tests.conftest import empty_everything
from tests.factories import make_tenant


def test_the_watch_sees_another_origin_a_console_error_and_an_uncaught_exception(page, page_watch):
    page.goto("about:blank")
    with page.expect_event("requestfailed"), page.expect_event("pageerror"):
        page.evaluate(
            """() => {
                console.error("a console error");
                fetch("http://cdn.example/library.js").catch(() => {});
                setTimeout(() => { throw new Error("an uncaught exception"); });
            }"""
        )

    problems = page_watch.problems()
    assert "request to another origin: GET http://cdn.example/library.js" in problems
    assert any(p.startswith("console error: a console error") for p in problems)
    assert any(p.startswith("uncaught exception: an uncaught exception") for p in problems)
    # Provoked on purpose: admitted, this test passes; a request elsewhere is never admitted.
    page_watch.allow_console_error("a console error|an uncaught exception|ERR_BLOCKED_BY_CLIENT")
    assert page_watch.problems() == ["request to another origin: GET http://cdn.example/library.js"]
    page_watch.foreign_requests.clear()


def test_the_live_service_and_its_workers_serve_each_tests_fresh_data(page, app, live_service):
    acme = make_tenant(app, "acme")
    key = {"Authorization": f"Bearer {acme.write_key}"}
    contractor = page.request.post("/api/v1/contractors", headers=key, data={"name": "Robin"})
    assert contractor.status == 201, contractor.text()
    path = f"/api/v1/contractors/{contractor.json()['id']}"
    event = {"kind": "rudeness", "occurred_at": "2025-03-01T00:00:00Z", "summary": "Shouted"}
    assert page.request.post(f"{path}/events", headers=key, data=event).status == 201
    # The workers started before this test emptied Redis, and still relay and recompute.
    live_service.settle()
    assert page.request.get(f"{path}/assessment", headers=key).json()["pending"] is False

    # What the next test's `_fresh_state` does: the service holds on to nothing of it.
    empty_everything(app)
    assert page.request.get("/api/v1/auth/me", headers=key).status == 401
    again = make_tenant(app, "acme")
    me = page.request.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {again.write_key}"})
    assert me.json()["agency_id"] == str(again.agency_id)
