"""The policy pages as the server answers them: every number with its default and what it does;
owners and admins simulate a change, see who would move and save it, with the API's rules beside
each field; recruiters and viewers read and change nothing; every version stays readable."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from reputation import clock
from reputation.policy.models import PolicySimulation, PolicyVersion
from reputation.policy.service import numbers_of
from reputation.portal.policy import NUMBERS
from reputation.trust.policy import Policy
from tests.conftest import count_rows, login, run_jobs
from tests.factories import PASSWORD, make_simulation
from tests.test_portal import sign_in

INPUT = re.compile(r"<input [^>]*>")
SIMULATION = re.compile(r"/policy/simulations/([0-9a-f-]{36})$")


def signed_in(app, role, **headers):
    client = app.test_client()
    assert sign_in(client, email=f"{role}@acme.test", **headers).status_code == 302
    return client


def form_of(page: str) -> dict[str, str]:
    """The values the page's inputs hold, by name, as a browser would send them."""
    fields = {}
    for tag in INPUT.findall(page):
        name, value = re.search(r'name="([^"]*)"', tag), re.search(r'value="([^"]*)"', tag)
        if name:
            fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return fields


def csrf_token(page: str) -> str:
    """The token every page carries for its forms and htmx requests."""
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)


def error_beside(page: str, field: str) -> str:
    found = re.search(rf'<small id="{field}-errors" class="error">([^<]*)</small>', page)
    assert found, f"no error beside {field}"
    return html.unescape(found.group(1))


@pytest.fixture
def robin(app, tenants):
    """Robin, rude 40 days ago (trust about 0.34: not eligible at 0.45, eligible at 0.3), and Sam,
    with no evidence, whom no threshold moves."""
    api = login(app, "acme", "recruiter@acme.test", PASSWORD)
    robin = api.post("contractors", {"name": "Robin Example"}).json
    api.post("contractors", {"name": "Sam Nobody"})
    api.post(
        f"contractors/{robin['id']}/events",
        {"kind": "rudeness", "summary": "Shouted at the client",
         "occurred_at": (clock.now() - timedelta(days=40)).isoformat()},
    )  # fmt: skip
    return robin


def simulate(client, changes: dict[str, str], **headers):
    """Open the policy page, change some of its fields and press Simulate."""
    page = client.get("/policy", headers=headers).get_data(as_text=True)
    return client.post("/policy", data={**form_of(page), **changes}, headers=headers)


def test_every_number_of_the_model_is_shown_with_its_default_and_what_it_does(app, tenants):
    assert set(NUMBERS) == set(numbers_of(Policy()))
    page = signed_in(app, "viewer").get("/policy").get_data(as_text=True)
    assert "Version 0: the model's defaults" in page
    for number in NUMBERS.values():
        assert f'id="{number.field}-default"' in page, number.path
    assert "Eligibility threshold" in page and "default 0.45" in page
    assert "once their trust reaches this level" in page  # what it does
    assert "Unethical conduct" in page and "default 1,825" in page  # a half-life, formatted


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_a_manager_simulates_a_change_sees_who_moves_and_saves_it(app, robin, redis_url, role):
    client = signed_in(app, role)
    started = simulate(client, {"eligibility_threshold": "0.3"})
    assert started.status_code == 303
    location = started.headers["Location"]
    simulation_page = client.get(location).get_data(as_text=True)
    assert "Eligibility threshold" in simulation_page and "0.3" in simulation_page
    waiting = client.get(location, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="load delay:1s"' in waiting and "<html" not in waiting
    assert count_rows(app, PolicyVersion) == 0  # a simulation is not a change

    run_jobs(app, redis_url)
    result = client.get(location, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in result  # done: no more polling
    assert f'<a href="/contractors/{robin["id"]}">Robin Example</a>' in result
    assert "Sam Nobody" not in result
    assert re.search(r"no <span[^>]*>→</span>.*<strong>yes</strong>", result)
    assert "Save these numbers as version 1" in result
    token = csrf_token(client.get(location).get_data(as_text=True))
    saved = client.post(f"{location}/save", data={"csrf_token": token}, follow_redirects=True)
    page = saved.get_data(as_text=True)
    assert "Version 1 is in force" in page
    assert "Version 1, since" in page and f"set by {role}@acme.test" in page
    assert form_of(page)["eligibility_threshold"] == "0.3"
    # Only what differs from the defaults is stored, as the API's PUT would store it.
    api = login(app, "acme", "viewer@acme.test", PASSWORD)
    assert api.get("policy").json["overrides"] == {"eligibility_threshold": 0.3}

    versions = client.get("/policy/versions").get_data(as_text=True)
    assert re.search(r"Eligibility threshold: 0.45 <span[^>]*>→</span>.*0.3", versions)
    assert f"{role}@acme.test" in versions


def test_a_field_left_empty_goes_back_to_its_default(app, tenants):
    client = signed_in(app, "admin")
    api = login(app, "acme", "admin@acme.test", PASSWORD)
    api.put("policy", {"base_rate": 0.4, "conduct_kinds": {"rudeness": {"half_life_days": 200}}})
    started = simulate(client, {"base_rate": ""})
    simulation_id = SIMULATION.search(started.headers["Location"]).group(1)
    simulation = api.get(f"policy/simulations/{simulation_id}").json
    assert simulation["overrides"] == {"conduct_kinds": {"rudeness": {"half_life_days": 200}}}


@pytest.mark.parametrize(
    ("field", "typed", "error"),
    [
        ("eligibility_threshold", "1.5", "Enter a number from 0 to 1."),
        ("conduct_kinds-rudeness-half_life_days", "0", "Enter a number above 0, up to 1,000,000."),
        ("rehabilitation_kinds-outreach-weight", "-1", "Enter a number from 0 to 1,000,000."),
        ("severity_factor-3", "two", "Enter a number, such as 2."),
        ("band_thresholds-trusted", "0.3", "The band thresholds must fall in order"),
    ],
)
def test_a_number_the_api_would_refuse_is_422_beside_its_field_and_nothing_starts(
    app, tenants, field, typed, error
):
    client = signed_in(app, "admin")
    answer = simulate(client, {field: typed})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert error_beside(page, field).startswith(error)
    assert form_of(page)[field] == typed  # what was typed is kept
    assert count_rows(app, PolicySimulation) == count_rows(app, PolicyVersion) == 0


def test_in_french_numbers_are_shown_and_typed_with_a_comma(app, tenants):
    client = signed_in(app, "admin", **{"Accept-Language": "fr"})
    french = {"Accept-Language": "fr"}
    page = client.get("/policy", headers=french).get_data(as_text=True)
    assert "Seuil d'éligibilité" in page and form_of(page)["eligibility_threshold"] == "0,45"
    refused = simulate(client, {"eligibility_threshold": "1,5"}, **french)
    assert error_beside(refused.get_data(as_text=True), "eligibility_threshold") == (
        "Saisissez un nombre de 0 à 1."
    )
    started = simulate(client, {"eligibility_threshold": "0,3", "base_rate": "0.4"}, **french)
    assert started.status_code == 303
    simulation = client.get(started.headers["Location"], headers=french).get_data(as_text=True)
    assert "0,3" in simulation and "0,4" in simulation


def test_the_numbers_in_force_are_not_simulated_again(app, tenants):
    answer = simulate(signed_in(app, "admin"), {})
    assert answer.status_code == 422
    assert "These are the numbers in force" in answer.get_data(as_text=True)
    assert count_rows(app, PolicySimulation) == 0


@pytest.mark.parametrize("role", ["recruiter", "viewer"])
def test_recruiters_and_viewers_read_the_policy_and_a_forged_change_is_403(app, tenants, role):
    simulation_id = make_simulation(app, tenants[0])
    client = signed_in(app, role)
    page = client.get("/policy").get_data(as_text=True)
    assert "Eligibility threshold" in page and "0.45" in page
    assert 'name="eligibility_threshold"' not in page and "Simulate" not in page
    assert "Only the agency's owners and admins change the policy." in page
    assert client.get(f"/policy/simulations/{simulation_id}").status_code == 200
    assert client.get("/policy/versions").status_code == 200

    token = csrf_token(page)
    defaults = {n.field: "1" for n in NUMBERS.values()}
    forged = client.post("/policy", data={**defaults, "csrf_token": token})
    assert forged.status_code == 403
    assert "Only the agency&#39;s owners and admins may do this." in forged.get_data(as_text=True)
    save = client.post(f"/policy/simulations/{simulation_id}/save", data={"csrf_token": token})
    assert save.status_code == 403
    assert count_rows(app, PolicySimulation) == 1 and count_rows(app, PolicyVersion) == 0


def test_a_simulation_is_saved_only_once_it_ran_and_while_its_comparison_holds(
    app, tenants, redis_url
):
    client = signed_in(app, "admin")
    token = csrf_token(client.get("/policy").get_data(as_text=True))
    simulation_id = make_simulation(app, tenants[0])
    save = f"/policy/simulations/{simulation_id}/save"
    early = client.post(save, data={"csrf_token": token})
    assert early.status_code == 409 and "has not finished" in early.get_data(as_text=True)
    run_jobs(app, redis_url)
    login(app, "acme", "owner@acme.test", PASSWORD).put("policy", {"base_rate": 0.4})
    page = client.get(f"/policy/simulations/{simulation_id}").get_data(as_text=True)
    assert "The policy in force has changed since this simulation" in page
    assert "Save these numbers" not in page
    stale = client.post(save, data={"csrf_token": token})
    assert stale.status_code == 409
    assert count_rows(app, PolicyVersion) == 1


def test_every_version_stays_readable(app, tenants):
    api = login(app, "acme", "admin@acme.test", PASSWORD)
    api.put("policy", {"eligibility_threshold": 0.5})
    api.put("policy", {"eligibility_threshold": 0.4, "severity_factor": {"5": 10}})
    client = signed_in(app, "viewer")
    versions = client.get("/policy/versions").get_data(as_text=True)
    assert versions.index("Version 2") < versions.index("Version 1") < versions.index("Version 0")
    assert re.search(r"Eligibility threshold: 0.5 <span[^>]*>→</span>.*0.4", versions)
    assert re.search(
        r"Severity 5 \(critical\): Severity factor: 8 <span[^>]*>→</span>.*10", versions
    )
    first = client.get("/policy?version=1").get_data(as_text=True)
    assert "You are reading version 1, which is no longer in force." in first
    assert "<strong>0.5</strong>" in first
    assert "version 0, the model's defaults" in client.get("/policy?version=0").get_data(
        as_text=True
    )
    assert client.get("/policy?version=9").status_code == 404
    # An admin reads an earlier version too, without a form to change it.
    admin = signed_in(app, "admin")
    assert 'name="eligibility_threshold"' not in admin.get("/policy?version=1").get_data(
        as_text=True
    )


def test_a_simulation_can_be_taken_back_to_the_form(app, tenants):
    simulation_id = make_simulation(app, tenants[0])  # eligibility threshold 0.4
    client = signed_in(app, "admin")
    page = client.get(f"/policy?simulation={simulation_id}").get_data(as_text=True)
    assert form_of(page)["eligibility_threshold"] == "0.4"
    assert client.get("/policy?simulation=not-an-id").status_code == 404
