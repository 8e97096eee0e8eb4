"""Over-long requests: the app refuses what is over its own limits with problem+json (414 for the
request target, 431 for header fields), and gunicorn's hard limits sit above the app's, so that
only requests beyond them get gunicorn's own text/html answer."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import Api, repo_root, stop_process


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes
    headers: http.client.HTTPMessage

    def problem(self) -> dict:
        assert self.content_type == "application/problem+json", (self.status, self.body[:200])
        body = json.loads(self.body)
        assert {"type", "title", "status", "detail"} <= body.keys()
        assert body["status"] == self.status
        return body


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def send(port: int, target: str, headers: dict[str, str] | list[tuple[str, str]] = ()) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        for name, value in headers.items() if isinstance(headers, dict) else headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return Answer(
            response.status, response.getheader("Content-Type", ""), response.read(), response.msg
        )
    finally:
        connection.close()


@pytest.fixture(scope="module")
def gunicorn(app, service_env, tmp_path_factory) -> Iterator[int]:
    """The service as deployed: gunicorn with deploy/gunicorn.conf.py, one worker, on a free port
    of 127.0.0.1, against the test database (`app` has run its migrations)."""
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [str(repo_root() / ".venv/bin/gunicorn"), "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
            cwd=repo_root(),
            env={**service_env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if send(port, "/healthz").status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield port
    finally:
        stop_process(server)


def padded(target: str, length: int) -> str:
    """`target` with a query parameter that makes it exactly `length` bytes long."""
    separator = "&" if "?" in target else "?"
    return target + separator + "pad=" + "a" * (length - len(target) - len(separator) - 4)


def test_a_url_longer_than_gunicorn_allowed_before_reaches_the_app(gunicorn, app):
    # gunicorn's default limit_request_line (4094) refused this as text/html.
    answer = send(gunicorn, padded("/healthz", app.config["MAX_REQUEST_TARGET"]))
    assert (answer.status, answer.content_type) == (200, "application/json")


def test_a_url_over_the_apps_limit_is_414_problem_json(gunicorn, app):
    answer = send(gunicorn, padded("/api/v1/contractors", app.config["MAX_REQUEST_TARGET"] + 1))
    assert answer.status == 414
    assert str(app.config["MAX_REQUEST_TARGET"]) in answer.problem()["detail"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_a_header_over_the_apps_limit_is_431_problem_json_naming_it(gunicorn, app):
    value = "a" * (app.config["MAX_HEADER_FIELD_BYTES"] - len("X-Padding: ") + 1)
    answer = send(gunicorn, "/api/v1/contractors", {"X-Padding": value})
    assert answer.status == 431
    assert [e["field"] for e in answer.problem()["errors"]] == ["X-Padding"]
    # At the limit it passes: the credentials are looked at, and there are none.
    assert send(gunicorn, "/api/v1/contractors", {"X-Padding": value[1:]}).status == 401


def test_too_many_header_fields_is_431_problem_json(gunicorn, app):
    count = app.config["MAX_HEADER_FIELDS"]
    many = [(f"X-Field-{n}", "1") for n in range(count)]
    assert send(gunicorn, "/healthz", many[: count - 10]).status == 200
    answer = send(gunicorn, "/healthz", many)
    assert answer.status == 431
    assert str(count) in answer.problem()["detail"]


def test_beyond_gunicorns_own_limits_gunicorn_answers_in_text_html(gunicorn):
    """What deploy/gunicorn.conf.py still refuses itself, before the app sees anything: a request
    line over 8190 bytes (gunicorn's maximum) and a header field over 16 KiB."""
    line = send(gunicorn, padded("/healthz", 8190))
    assert (line.status, line.content_type) == (414, "text/html")
    field = send(gunicorn, "/healthz", {"X-Padding": "a" * 16 * 1024})
    assert (field.status, field.content_type) == (431, "text/html")


def test_the_app_checks_its_limits_before_anything_reads_the_request(client, app, tenants):
    """The same limits without gunicorn (any WSGI server): an over-long Authorization header is
    a 431 before the key is looked up, not a 401."""
    key = Api(client, tenants[0].read_key)
    assert key.get("contractors").status_code == 200
    limit = app.config["MAX_HEADER_FIELD_BYTES"]
    huge = "Bearer " + "k" * (limit - len("Authorization: Bearer ") + 1)
    response = client.get("/api/v1/contractors", headers={"Authorization": huge})
    assert response.status_code == 431
    assert response.mimetype == "application/problem+json"
    assert response.json["errors"][0] == {
        "field": "Authorization",
        "location": "headers",
        "detail": response.json["detail"],
    }
    target = padded("/healthz", app.config["MAX_REQUEST_TARGET"])
    assert client.get(target).status_code == 200
    response = client.get(target + "a")
    assert (response.status_code, response.mimetype) == (414, "application/problem+json")
