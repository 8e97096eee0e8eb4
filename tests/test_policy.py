"""An agency's scoring policy: every number may be overridden, validated; every change is a new
version, the old ones stay readable, and the agency is recomputed with the new one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reputation import clock
from tests.conftest import Api, login, run_jobs
from tests.factories import PASSWORD


@pytest.fixture
def admin(app, tenants):
    return login(app, "acme", "admin@acme.test", PASSWORD)


def test_the_defaults_are_version_zero_with_every_number(admin):
    current = admin.get("policy").json
    assert current["version"] == 0
    policy = current["policy"]
    assert policy["eligibility_threshold"] == 0.45
    assert policy["conduct_kinds"]["unethical_conduct"] == {
        "half_life_days": 1825, "base_weight": 1.0, "repair_cap": 0.25,
    }  # fmt: skip
    assert policy["band_thresholds"] == {
        "trusted": 0.7, "good_standing": 0.55, "rebuilding": 0.4, "caution": 0.25,
    }  # fmt: skip


def test_every_change_is_a_new_version_and_old_ones_stay_readable(app, admin, client, tenants):
    first = admin.put("policy", {"eligibility_threshold": 0.5})
    assert first.status_code == 200 and first.json["version"] == 1
    second = admin.put("policy", {"conduct_kinds": {"rudeness": {"half_life_days": 180}}})
    assert second.json["version"] == 2
    assert second.json["policy"]["eligibility_threshold"] == 0.45  # left out: the default
    assert admin.get("policy").json["version"] == 2
    assert admin.get("policy?version=1").json["policy"]["eligibility_threshold"] == 0.5
    assert admin.get("policy?version=0").json["overrides"] == {}
    assert admin.get("policy?version=9").status_code == 404
    # Each agency has its own.
    other = login(app, "globex", "viewer@globex.test", PASSWORD)
    assert other.get("policy").json["version"] == 0


def test_only_owners_and_admins_change_it(app, tenants, client):
    viewer = login(app, "acme", "viewer@acme.test", PASSWORD)
    assert viewer.get("policy").status_code == 200
    assert viewer.put("policy", {"base_rate": 0.4}).status_code == 403
    assert Api(client, tenants[0].write_key).put("policy", {"base_rate": 0.4}).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"conduct_kinds": {"rudeness": {"half_life_days": 0}}},
         "conduct_kinds.rudeness.value.half_life_days"),
        ({"rehabilitation_kinds": {"outreach": {"half_life_days": -5}}},
         "rehabilitation_kinds.outreach.value.half_life_days"),
        ({"band_thresholds": {"trusted": 0.3}}, "band_thresholds"),
        ({"conduct_kinds": {"lateness": {"half_life_days": 10}}}, "conduct_kinds.lateness.key"),
        ({"base_rate": 1.5}, "base_rate"),
        ({"severity_factor": {"6": 2}}, "severity_factor.6.key"),
        ({"conduct_kinds": {"commitment_kept": {"repair_cap": 0.5}}}, "conduct_kinds"),
    ],
)  # fmt: skip
def test_an_invalid_policy_is_422_naming_the_field(admin, body, field):
    response = admin.put("policy", body)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json["errors"]}, response.json
    assert admin.get("policy").json["version"] == 0


def test_a_new_policy_recomputes_the_agency(app, admin, redis_url):
    contractor = admin.post("contractors", {"name": "Robin"}).json
    admin.post(
        f"contractors/{contractor['id']}/events",
        {"kind": "rudeness", "summary": "Shouted",
         "occurred_at": (clock.now() - timedelta(days=40)).isoformat()},
    )  # fmt: skip
    run_jobs(app, redis_url)
    path = f"contractors/{contractor['id']}/assessment"
    before = admin.get(path).json
    assert (before["eligible"], before["policy_version"]) == (False, 0)  # E is about 0.34
    admin.put("policy", {"eligibility_threshold": 0.3})
    run_jobs(app, redis_url)
    after = admin.get(path).json
    assert (after["eligible"], after["policy_version"]) == (True, 1)


def test_a_simulation_reports_who_would_change_and_changes_nothing(app, admin, redis_url):
    robin = admin.post("contractors", {"name": "Robin"}).json
    admin.post("contractors", {"name": "Sam"})
    admin.post(
        f"contractors/{robin['id']}/events",
        {"kind": "rudeness", "summary": "Shouted",
         "occurred_at": (clock.now() - timedelta(days=40)).isoformat()},
    )  # fmt: skip
    started = admin.post("policy/simulate", {"eligibility_threshold": 0.3})
    assert started.status_code == 202 and started.json["status"] == "queued"
    run_jobs(app, redis_url)
    done = admin.get(started.headers["Location"]).json
    assert done["status"] == "completed"
    result = done["result"]
    assert (result["contractors"], result["eligibility_changes"]) == (2, 1)
    assert [(c["name"], c["eligible"]) for c in result["changes"]] == [("Robin", [False, True])]
    assert admin.get("policy").json["version"] == 0  # a simulation is not a change
    bad = admin.post("policy/simulate", {"band_thresholds": {"caution": 0.9}})
    assert bad.status_code == 422
