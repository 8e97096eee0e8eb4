"""Operators' commands, run as an operator would: `flask --app wsgi …` in a subprocess."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import Api, repo_root


def flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=repo_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_operator_creates_an_agency_staff_and_a_key_that_works(app, client, service_env):
    created = flask(
        service_env,
        "agencies", "create", "--name", "Initech", "--slug", "initech",
        "--admin-email", "Bill@Initech.test", "--admin-password", "a long admin password",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    staff = flask(
        service_env,
        "users", "create", "--agency", "initech", "--email", "peter@initech.test",
        "--role", "recruiter", "--password", "a long staff password",
    )  # fmt: skip
    assert staff.returncode == 0, staff.stderr
    issued = flask(
        service_env, "api-keys", "create", "--agency", "initech", "--name", "ats", "--scope", "read"
    )
    assert issued.returncode == 0, issued.stderr
    key = issued.stdout.strip().splitlines()[-1]
    me = Api(client, key).get("auth/me").json
    assert (me["kind"], me["scopes"]) == ("api_key", ["read"])

    login = client.post(
        "/api/v1/auth/login",
        json={
            "agency": "initech",
            "email": "bill@initech.test",
            "password": "a long admin password",
        },
    )
    assert login.json["role"] == "owner"


def test_commands_refuse_bad_input_with_a_message(app, service_env):
    missing = flask(
        service_env, "api-keys", "create", "--agency", "nowhere", "--name", "x", "--scope", "read"
    )
    assert missing.returncode != 0
    assert "No agency with the slug 'nowhere'" in missing.stderr
    bad_slug = flask(
        service_env,
        "agencies", "create", "--name", "X", "--slug", "Not A Slug",
        "--admin-email", "a@x.test", "--admin-password", "a long admin password",
    )  # fmt: skip
    assert bad_slug.returncode != 0
    assert "slug" in bad_slug.stderr


def test_demo_seed_prints_credentials_that_work(app, client, service_env):
    seeded = flask(service_env, "demo", "seed")
    assert seeded.returncode == 0, seeded.stderr
    lines = dict(line.split(":", 1) for line in seeded.stdout.strip().splitlines())
    email, password = (part.strip() for part in lines["Owner login"].split(" / "))
    key = lines["API key"].strip()
    assert Api(client, key).get("auth/me").status_code == 200
    login = client.post(
        "/api/v1/auth/login", json={"agency": "demo", "email": email, "password": password}
    )
    assert login.status_code == 200
    again = flask(service_env, "demo", "seed")
    assert again.returncode == 0, again.stderr
    assert Api(client, key).get("auth/me").status_code == 401  # the old demo key is revoked


@pytest.mark.parametrize("variable", ["SECRET_KEY", "SECRETS_ENCRYPTION_KEYS"])
def test_production_without_a_key_refuses_to_start(service_env, variable):
    env = {k: v for k, v in service_env.items() if k != variable}
    env["REPUTATION_ENV"] = "production"
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=repo_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"{variable} is not set" in result.stderr
