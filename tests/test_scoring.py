"""Scoring: evidence changes reach the trust queue through the outbox, a worker recomputes the
contractor, and the API serves the assessment and the trajectory."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, timedelta

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

from reputation import clock
from reputation.extensions import db
from reputation.outbox.models import OutboxMessage
from reputation.tenancy.scope import agency_scope
from tests.conftest import login, repo_root, run_jobs, stop_process
from tests.factories import PASSWORD
from workers.app import use_app


@pytest.fixture
def recruiter(app, tenants):
    return login(app, "acme", "recruiter@acme.test", PASSWORD)


def days_ago(n: float) -> str:
    return (clock.now() - timedelta(days=n)).isoformat()


def test_a_contractor_never_computed_is_unknown_and_pending(recruiter):
    contractor = recruiter.post("contractors", {"name": "New Person"}).json
    assessment = recruiter.get(f"contractors/{contractor['id']}/assessment").json
    assert (assessment["trust"], assessment["uncertainty"], assessment["band"]) == (
        0.5, 1.0, "insufficient_evidence",
    )  # fmt: skip
    assert assessment["pending"] is True
    assert assessment["eligible"] is True


def test_recorded_incident_is_assessed_with_its_road_to_a_second_chance(
    app, tenants, recruiter, redis_url
):
    contractor = recruiter.post("contractors", {"name": "Robin"}).json
    path = f"contractors/{contractor['id']}"
    recruiter.post(
        f"{path}/events", {"kind": "rudeness", "occurred_at": days_ago(1), "summary": "Shouted"}
    )
    assert recruiter.get(f"{path}/assessment").json["pending"] is True
    run_jobs(app, redis_url)
    assessment = recruiter.get(f"{path}/assessment").json
    assert assessment["pending"] is False
    assert assessment["band"] == "caution"
    assert assessment["eligible"] is False
    assert {b["code"] for b in assessment["blockers"]} == {"trust_below_threshold", "cooling_off"}
    # TRUST_MODEL.md §5: a moderate incident alone, about 2.2 years (793 days) after it.
    days_to_go = (date.fromisoformat(assessment["eligible_from"]) - clock.now().date()).days
    assert 790 <= days_to_go <= 793
    assert sum(i["contribution"] for i in assessment["explanation"]) == pytest.approx(
        assessment["s"]
    )
    assert (assessment["model_version"], assessment["policy_version"]) == ("beta-decay-v1", 0)

    trajectory = recruiter.get(f"{path}/trajectory").json
    assert trajectory["points"] and len(trajectory["projection"]) == 365
    assert trajectory["current"]["band"] == "caution"
    with app.app_context(), agency_scope(tenants[0].agency_id):
        events = db.session.scalars(
            select(OutboxMessage.name).where(OutboxMessage.kind == "event")
        ).all()
        db.session.rollback()
    assert {"trajectory.updated", "assessment.changed"} <= set(events)


def test_verified_repair_shortens_the_road(app, tenants, recruiter, redis_url):
    contractor = recruiter.post("contractors", {"name": "Robin"}).json
    path = f"contractors/{contractor['id']}"
    event = recruiter.post(
        f"{path}/events", {"kind": "rudeness", "occurred_at": days_ago(3), "summary": "Shouted"}
    ).json
    for kind, unsolicited, ago in (("acknowledgement", False, 2), ("outreach", True, 1)):
        step = recruiter.post(
            f"{path}/rehabilitation",
            {"kind": kind, "occurred_at": days_ago(ago), "addresses_event_id": event["id"],
             "unsolicited": unsolicited},
        ).json  # fmt: skip
        recruiter.post(f"rehabilitation/{step['id']}/verify", {"decision": "verified"})
    run_jobs(app, redis_url)
    assessment = recruiter.get(f"{path}/assessment").json
    assert [b["code"] for b in assessment["blockers"]] == ["cooling_off"]
    days_to_go = (date.fromisoformat(assessment["eligible_from"]) - clock.now().date()).days
    assert 26 <= days_to_go <= 27  # 30 days after the incident


def test_a_decision_keeps_the_assessment_it_was_made_with(app, recruiter, redis_url):
    contractor = recruiter.post("contractors", {"name": "Robin"}).json
    path = f"contractors/{contractor['id']}"
    recruiter.post(
        f"{path}/events", {"kind": "ghosting", "occurred_at": days_ago(10), "summary": "Gone"}
    )
    run_jobs(app, redis_url)
    seen = recruiter.get(f"{path}/assessment").json
    decision = recruiter.post(f"{path}/decisions", {"decision": "decline", "reason": "Too soon"})
    assert decision.json["assessment"] == seen


def test_trajectory_period_must_be_in_order(recruiter):
    contractor = recruiter.post("contractors", {"name": "Robin"}).json
    response = recruiter.get(
        f"contractors/{contractor['id']}/trajectory?from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z"
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "from"


def test_a_real_worker_updates_the_assessment_with_no_other_call(app, recruiter, service_env):
    contractor = recruiter.post("contractors", {"name": "Robin"}).json
    path = f"contractors/{contractor['id']}/assessment"
    workers = subprocess.Popen(
        [sys.executable, "-m", "workers", "--workers", "1", "--poll", "0.05"],
        cwd=repo_root(), env=service_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        recruiter.post(
            f"contractors/{contractor['id']}/events",
            {"kind": "costly_mistake", "occurred_at": days_ago(5), "summary": "Broke prod"},
        )
        deadline = time.monotonic() + 30
        assessment = recruiter.get(path).json
        while assessment["pending"] and time.monotonic() < deadline:
            time.sleep(0.2)
            assessment = recruiter.get(path).json
        assert not assessment["pending"], "no recompute within 30 s"
        assert assessment["band"] in ("caution", "do_not_engage")
    finally:
        stop_process(workers)


def test_contractors_filter_by_band_and_eligibility(app, recruiter, redis_url):
    recruiter.post("contractors", {"name": "Fresh"})
    rude = recruiter.post("contractors", {"name": "Rude"}).json
    recruiter.post(
        f"contractors/{rude['id']}/events",
        {"kind": "rudeness", "occurred_at": days_ago(1), "summary": "Shouted"},
    )
    run_jobs(app, redis_url)

    def names(query):
        return [c["name"] for c in recruiter.get(f"contractors?{query}").json["items"]]

    assert names("band=caution") == ["Rude"]
    assert names("band=insufficient_evidence") == ["Fresh"]
    assert names("eligible=false") == ["Rude"]
    assert names("eligible=true") == ["Fresh"]
    assert recruiter.get("contractors?band=shiny").status_code == 422


def test_a_filtered_list_counts_what_it_finds(app, recruiter, redis_url):
    # Counted from the band's index alone when only the band or the eligibility is asked, and
    # through the search otherwise: the same totals either way (one a page, so pages are full).
    for name, tags in (("Fresh", []), ("Fresh too", ["java"]), ("Rude", ["java"]),
                       ("Rude too", []), ("Rudest", ["java"])):  # fmt: skip
        contractor = recruiter.post("contractors", {"name": name, "tags": tags}).json
        if name.startswith("Rude"):
            recruiter.post(
                f"contractors/{contractor['id']}/events",
                {"kind": "rudeness", "occurred_at": days_ago(1), "summary": "Shouted"},
            )
    run_jobs(app, redis_url)
    expected = {
        "": 5, "band=caution": 3, "eligible=false": 3, "band=caution&eligible=false": 3,
        "band=caution&eligible=true": 0, "band=trusted": 0, "band=insufficient_evidence": 2,
        "eligible=true": 2, "band=insufficient_evidence&eligible=true": 2,
        "band=insufficient_evidence&eligible=false": 0, "band=caution&tag=java": 2,
        "band=caution&q=rude": 3, "band=caution&q=too": 1, "eligible=false&status=archived": 0,
    }  # fmt: skip
    for query, count in expected.items():
        found = recruiter.get(f"contractors?{query}&per_page=100").json
        counted = recruiter.get(f"contractors?{query}&per_page=1").json
        assert (found["total"], counted["total"], len(found["items"])) == (count,) * 3, query
        assert counted["pages"] == count, query


def test_nightly_sweep_refreshes_every_agency_and_is_enqueued_once_a_day(app, tenants, redis_url):
    from datetime import UTC, datetime

    from reputation.scoring.models import TrustSnapshot
    from tests.factories import make_evidence
    from workers.jobs import nightly_sweep
    from workers.schedule import sweep_due

    for tenant in tenants:
        make_evidence(app, tenant)
    use_app(app)
    assert nightly_sweep() == 2  # queued
    run_jobs(app, redis_url)
    for tenant in tenants:
        with app.app_context(), agency_scope(tenant.agency_id):
            assert db.session.scalar(select(TrustSnapshot.band)) is not None
            db.session.rollback()

    early = datetime(2026, 5, 1, 2, 59, tzinfo=UTC)
    assert not sweep_due(app, early)
    late = datetime(2026, 5, 1, 3, 1, tzinfo=UTC)
    assert sweep_due(app, late) and not sweep_due(app, late)  # a second scheduler finds it taken
    assert Queue("bulk", connection=Redis.from_url(redis_url)).job_ids == [
        "nightly-sweep-2026-05-01"
    ]


def test_operator_recomputes_on_demand(app, tenants, service_env):
    from tests.factories import make_evidence

    evidence = make_evidence(app, tenants[0])
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "trust", "recompute", "--agency", "acme",
         "--contractor", str(evidence["contractor_id"])],
        cwd=repo_root(), env=service_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "acme: recomputed 1 contractor(s)." in result.stdout
    recruiter = login(app, "acme", "recruiter@acme.test", PASSWORD)
    assessment = recruiter.get(f"contractors/{evidence['contractor_id']}/assessment").json
    assert assessment["pending"] is False


def test_the_same_evidence_policy_and_moment_give_the_same_numbers(app, tenants):
    from reputation.contractors.models import Contractor
    from reputation.scoring import service
    from reputation.scoring.schemas import AssessmentSchema
    from tests.factories import make_evidence

    evidence = make_evidence(app, tenants[0])
    results = []
    with clock.frozen(clock.now()):
        for _ in range(2):
            with app.app_context(), agency_scope(tenants[0].agency_id):
                contractor = db.session.scalar(
                    select(Contractor).where(Contractor.id == evidence["contractor_id"])
                )
                service.recompute(contractor)
                db.session.commit()
                current = service.current_assessment(contractor)
                results.append(AssessmentSchema().dump(current))
    assert results[0] == results[1]
    assert results[0]["pending"] is False


@pytest.mark.postgresql_only
def test_two_workers_recomputing_one_contractor_at_once_both_succeed(app, tenants):
    """A recompute asked for while another runs may start on a second worker: it waits for the
    first to commit, then writes over its snapshot, instead of failing on the duplicate."""
    import threading

    from reputation.contractors.models import Contractor
    from reputation.scoring import service
    from tests.factories import make_evidence

    evidence = make_evidence(app, tenants[0])
    first_computed, errors = threading.Event(), []

    def recompute(hold: bool) -> None:
        with app.app_context(), agency_scope(tenants[0].agency_id):
            try:
                contractor = db.session.scalar(
                    select(Contractor).where(Contractor.id == evidence["contractor_id"])
                )
                service.recompute(contractor)
                if hold:
                    first_computed.set()
                    time.sleep(0.5)  # the second one starts while this one is uncommitted
                db.session.commit()
            except Exception as error:
                db.session.rollback()
                errors.append(error)

    first = threading.Thread(target=recompute, args=(True,))
    first.start()
    assert first_computed.wait(10)
    second = threading.Thread(target=recompute, args=(False,))
    second.start()
    first.join()
    second.join()
    assert errors == []
