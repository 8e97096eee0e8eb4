"""The demo agency: a dozen contractors whose histories tell the taxonomy's stories, scored at
once, written as any evidence is, and seeded only once however often `demo seed` runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from reputation import clock, jobs
from reputation.conduct.models import ConductEvent
from reputation.contractors.models import Contractor
from reputation.decisions.models import Decision
from reputation.extensions import db
from reputation.outbox.models import JOB, OutboxMessage
from reputation.rehabilitation.models import RehabilitationStep
from reputation.tenancy import service
from reputation.tenancy.scope import agency_scope
from tests.conftest import Api, count_rows, login

OWNER = "owner@demo.example"


def seed(app: Any) -> dict[str, str]:
    """Run `flask demo seed` as an operator would; what it printed, by label."""
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    return {
        label.strip(): value.strip()
        for label, value in (line.split(":", 1) for line in result.output.strip().splitlines())
    }


def seeded_api(app: Any) -> Api:
    return Api(app.test_client(), seed(app)["API key"])


def contractor(api: Api, ref: str) -> dict[str, Any]:
    page = api.get("contractors", query_string={"external_ref": f"demo-{ref}"}).json
    assert page["total"] == 1, ref
    return page["items"][0]


def assessment(api: Api, ref: str) -> dict[str, Any]:
    return api.get(f"contractors/{contractor(api, ref)['id']}/assessment").json


def events(api: Api, ref: str) -> list[dict[str, Any]]:
    return api.get(f"contractors/{contractor(api, ref)['id']}/events").json["items"]


def steps(api: Api, ref: str) -> list[dict[str, Any]]:
    return api.get(f"contractors/{contractor(api, ref)['id']}/rehabilitation").json["items"]


def decisions(api: Api, ref: str) -> list[dict[str, Any]]:
    return api.get(f"contractors/{contractor(api, ref)['id']}/decisions").json["items"]


def kinds(items: list[dict[str, Any]]) -> list[str]:
    return sorted(item["kind"] for item in items)


def evidence_counts(app: Any) -> dict[str, int]:
    return {
        model.__name__: count_rows(app, model)
        for model in (Contractor, ConductEvent, RehabilitationStep, Decision)
    }


def test_demo_agency_opens_on_a_dozen_contractors_already_scored(app):
    printed = seed(app)
    api = Api(app.test_client(), printed["API key"])
    listed = api.get("contractors", query_string={"per_page": 100}).json
    assert 10 <= listed["total"] <= 15
    assert all(item["external_ref"].startswith("demo-") for item in listed["items"])
    for item in listed["items"]:
        scored = api.get(f"contractors/{item['id']}/assessment").json
        assert scored["pending"] is False, item["name"]  # computed at once, before any worker
    bands = {assessment(api, ref)["band"] for ref in ("lena-fischer", "victor-hale", "ravi-patel")}
    assert bands == {"trusted", "do_not_engage", "insufficient_evidence"}

    # Written as any evidence is: by the demo owner, audited, and recomputes queued in the outbox.
    assert {event["recorded_by"] for event in events(api, "priya-raman")} == {OWNER}
    assert {step["verified_by"] for step in steps(api, "priya-raman")} == {OWNER}
    email, password = (part.strip() for part in printed["Owner login"].split(" / "))
    owner = login(app, "demo", email, password)
    recorded = owner.get("audit", query_string={"action": "conduct_event.recorded"}).json
    assert recorded["total"] > 0
    assert {entry["actor_label"] for entry in recorded["items"]} == {OWNER}
    with app.app_context(), agency_scope(service.find_agency("demo").id):
        queued = db.session.scalar(
            select(func.count()).where(
                OutboxMessage.kind == JOB, OutboxMessage.name == jobs.RECOMPUTE_CONTRACTOR.function
            )
        )
        db.session.rollback()
    assert queued == listed["total"]  # one per contractor, however many writes each had


def test_demo_tells_the_stories_of_second_chances(app):
    api = seeded_api(app)

    burned = assessment(api, "victor-hale")
    assert burned["band"] in ("do_not_engage", "caution") and burned["eligible"] is False
    assert "unethical_conduct" in kinds(events(api, "victor-hale"))
    [declined] = decisions(api, "victor-hale")
    assert declined["decision"] == "decline"
    assert declined["assessment"]["band"] == burned["band"]  # what the decider saw
    assert declined["recorded_by"] == OWNER

    rebuilt = assessment(api, "priya-raman")
    assert rebuilt["eligible"] or rebuilt["band"] == "rebuilding"
    assert "misrepresentation" in kinds(events(api, "priya-raman"))
    repair = steps(api, "priya-raman")
    assert kinds(repair) == ["acknowledgement", "probation_completed", "remediation"]
    assert {step["status"] for step in repair} == {"verified"}
    assert decisions(api, "priya-raman")[0]["decision"] == "engage"

    came_back = kinds(events(api, "tom-becker"))
    assert "ghosting" in came_back and came_back.count("responsive") >= 3
    assert assessment(api, "tom-becker")["eligible"] is True

    owned = kinds(events(api, "amara-okafor"))
    assert "costly_mistake" in owned and "mistake_owned" in owned
    assert "acknowledgement" in kinds(steps(api, "amara-okafor"))

    steady = assessment(api, "lena-fischer")
    assert steady["band"] in ("trusted", "good_standing") and steady["eligible"] is True
    assert {"long_term_engagement", "commitment_kept", "client_commendation"} <= set(
        kinds(events(api, "lena-fischer"))
    )

    blamer = assessment(api, "derek-stone")
    assert blamer["band"] == "caution" and blamer["eligible"] is False
    assert [step["status"] for step in steps(api, "derek-stone")] == ["rejected"]

    awaiting = steps(api, "nina-kowalski")
    assert awaiting and {step["status"] for step in awaiting} == {"pending"}

    assert assessment(api, "ravi-patel")["band"] == "insufficient_evidence"


def test_demo_history_shows_an_aged_out_a_retracted_and_an_amended_event(app):
    api = seeded_api(app)

    [old] = [event for event in events(api, "marcus-webb") if event["valence"] == "negative"]
    assert clock.now() - datetime.fromisoformat(old["occurred_at"]) > timedelta(days=2555)
    weighed = assessment(api, "marcus-webb")
    [item] = [item for item in weighed["explanation"] if item["item_id"] == old["id"]]
    assert item["contribution"] == 0.0 and weighed["s"] == 0.0
    assert weighed["eligible"] is True

    [retracted] = [event for event in events(api, "jordan-ellis") if event["kind"] == "ghosting"]
    assert retracted["status"] == "retracted"
    assert "wrong person" in retracted["status_reason"]
    assert retracted["id"] not in {
        item["item_id"] for item in assessment(api, "jordan-ellis")["explanation"]
    }

    amended = next(
        event
        for event in events(api, "sofia-marin")
        if event["status"] == "active" and event["kind"] == "broken_commitment"
    )
    history = api.get(f"events/{amended['id']}").json["history"]
    assert [version["status"] for version in history] == ["superseded", "active"]
    assert history[0]["severity"] != history[1]["severity"]
    assert history[1]["supersedes_id"] == history[0]["id"]


def test_seeding_twice_changes_nothing_but_the_credentials(app):
    first = seed(app)
    counts = evidence_counts(app)
    assert counts["Contractor"] >= 10 and counts["Decision"] >= 1
    second = seed(app)
    assert evidence_counts(app) == counts
    assert second["API key"] != first["API key"]
    assert second["Owner login"] != first["Owner login"]


def test_the_demo_contractor_signs_in_to_their_own_record(app):
    printed = seed(app)
    email, password = printed["Contractor's own login, at /me/sign-in"].split(" / ")
    seed(app)  # a second run changes the password and links nothing twice
    person = Api(app.test_client())
    assert person.post("me/login", {"email": email, "password": password}).status_code == 401
    email, password = seed(app)["Contractor's own login, at /me/sign-in"].split(" / ")
    assert person.post("me/login", {"email": email, "password": password}).status_code == 200
    (record,) = person.get("me/records").json
    assert record["agency"]["name"] == "Demo Agency"
    assert record["contractor"]["name"] == "Priya Raman"
