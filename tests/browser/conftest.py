"""Browser tests: what a person sees of the service's pages, in Debian's Chromium, driven by
Playwright (its sync API; no asyncio plugin is active in this suite, anyio's acts only on tests
marked for it).

One real service serves every test of this folder (`live_service`): gunicorn with
deploy/gunicorn.conf.py and `python -m workers`, against the suite's database and Redis, started
once and stopped after the folder's last test. Package scope, not session: the workers would
otherwise take the jobs of the tests that run after this folder, and Playwright's event loop
would look like a running one to them. Each test still starts from empty tables and an empty
Redis (`_fresh_state` of tests/conftest.py): the service keeps no state of its own between
requests, and at the end of a test the fixtures wait until the workers have done every job it
caused, so that none is still running when the next test empties the tables (the scheduler is
left out for the same reason: see `service_starting`).

A test asks for `page`: a tab in a fresh browser context (no cookies, no storage) whose relative
URLs go to the service (`page.goto("/api/v1/docs")`); `new_context()` opens more, one per person
a test plays. Whatever else it checks, a test fails if a page of its contexts requested another
origin (such requests are refused, never sent) or logged a console error or an uncaught exception.
`page_watch.allow_console_error(pattern)` admits an error that the test provokes on purpose (the
browser logs every 4xx answer to a fetch, say, as an error).
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from flask import Flask
from rq import Queue
from rq.job import Job, JobStatus
from sqlalchemy import func, select

from reputation.extensions import db
from reputation.jobs import QUEUES
from reputation.outbox.models import JOB, OutboxMessage
from reputation.tenancy.scope import system_scope
from tests.conftest import IN_CI, repo_root, stop_process
from workers.relay import MAX_ATTEMPTS

try:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Error,
        Page,
        Playwright,
        Route,
        WebError,
        expect,
        sync_playwright,
    )
except ImportError as error:  # the dev extras bring it; `playwright` says what is missing
    PLAYWRIGHT_MISSING: ImportError | None = error
    expect = None  # tests import it from here; the fixtures skip or fail before it is called
else:
    PLAYWRIGHT_MISSING = None

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package, which .ci/run installs
CHROMIUM_ARGS = [
    "--headless",
    # Chromium's sandbox needs user namespaces, which a root shell in a container rarely has.
    "--no-sandbox",
    "--disable-gpu",
    # No traffic of the browser's own (field trials, safe browsing, component updates): the
    # machine reaches no network but package registries, and the tests watch what pages request.
    "--disable-background-networking",
    "--disable-component-update",
]
# Generous for a busy 2-core machine, and still a failure in seconds, not Playwright's 30.
TIMEOUT_MS = 10_000
# How long the service may take to answer /healthz, and the workers to finish a test's jobs.
START_SECONDS = 30
SETTLE_SECONDS = 30
# How long the workers must have been idle before a test that caused jobs is over (`settle`).
QUIET_SECONDS = 0.3
# A job to wait for; one that failed and waits to be retried (`scheduled`) is not waited for.
UNFINISHED = {JobStatus.QUEUED.value.encode(), JobStatus.STARTED.value.encode()}
WATCH = pytest.StashKey["PageWatch"]()


def missing(what: str) -> None:
    """The policy of `unavailable` in tests/conftest.py: a failure in CI, else a skip that says
    why."""
    message = f"{what}; .ci/run installs it, or run outside CI to skip the browser tests"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveService:
    """The service as deployed, on 127.0.0.1: `url` is also the origin of its pages."""

    url: str
    app: Flask  # the suite's app, on the same database and Redis
    logs: Path  # a log file for each process
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    def wait_until_serving(self) -> None:
        log = self.logs / "gunicorn.log"
        deadline = time.monotonic() + START_SECONDS
        while True:
            for name, process in self.processes.items():
                assert process.poll() is None, f"{name} exited: see the logs in {self.logs}"
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer,
            ):
                if answer.status == 200:
                    return
            assert time.monotonic() < deadline, f"no /healthz in {START_SECONDS} s: see {log}"
            time.sleep(0.05)

    def jobs(self) -> tuple[int, int]:
        """How many jobs the current test caused, and how many of them are still waiting in the
        outbox, or queued or running in RQ (in a queue, in a started registry, or so by the
        job's own status)."""
        with self.app.app_context(), system_scope():
            caused, waiting = db.session.execute(
                select(
                    func.count(),
                    func.count().filter(
                        OutboxMessage.relayed_at.is_(None),
                        # The relay sets a message aside after these; it will never run.
                        OutboxMessage.attempts < MAX_ATTEMPTS,
                    ),
                ).where(OutboxMessage.kind == JOB)
            ).one()
            db.session.rollback()
        with redis.Redis.from_url(self.app.config["REDIS_URL"]) as connection:
            queues = [Queue(name, connection=connection) for name in QUEUES]
            keys = connection.scan_iter(match=f"{Job.redis_job_namespace_prefix}*", _type="HASH")
            statuses = [connection.hget(key, "status") for key in keys]
            waiting += sum(status in UNFINISHED for status in statuses) + sum(
                queue.count + queue.started_job_registry.get_job_count(cleanup=False)
                for queue in queues
            )
        return caused + len(statuses), waiting

    def settle(self) -> None:
        """Wait until the workers have done every job the test caused, and then stayed idle a
        moment: a worker takes a job off its queue a little before it records it as started,
        and if the job's id was enqueued again while it ran, nothing in Redis shows it in
        between. The next test empties the tables and Redis, and a job still running then would
        write into them. A test that caused no job does not wait."""
        deadline = time.monotonic() + SETTLE_SECONDS
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < QUIET_SECONDS:
            caused, waiting = self.jobs()
            if not caused:
                return
            if waiting:
                idle_since = time.monotonic()
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the workers still had jobs {SETTLE_SECONDS} s after the test; "
                    f"see the logs in {self.logs}",
                    pytrace=False,
                )
            time.sleep(0.05)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver, once the browser tests know they can run here."""
    if PLAYWRIGHT_MISSING is not None:
        missing(f"the playwright package is not installed ({PLAYWRIGHT_MISSING})")
    if not CHROMIUM.exists():
        missing(f"Chromium is not installed at {CHROMIUM}")
    playwright = sync_playwright().start()
    yield playwright
    playwright.stop()


@pytest.fixture(scope="package")
def service_starting(
    playwright: Playwright,
    app: Flask,
    service_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveService]:
    """gunicorn (deploy/gunicorn.conf.py, one worker) on a free port, and the outbox relay and
    the workers of `python -m workers`, after `app` has run the migrations (and after
    `playwright`, which skips or fails first when the browser tests cannot run here); not yet
    waited for, so that Chromium starts meanwhile (`browser`). Stopped after the folder's last
    test."""
    port = free_port()
    logs = tmp_path_factory.mktemp("live-service")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    workers = [sys.executable, "-m", "workers", "--role"]
    commands = {
        "gunicorn": [str(gunicorn), "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
        # Each role on its own, as `python -m workers` runs them, but not the scheduler: after
        # every test's flush of Redis it would enqueue the day's sweep again, in the middle of
        # some later test.
        "relay": [*workers, "relay", "--poll", "0.1"],
        "trust": [*workers, "trust"],
        "worker": [*workers, "worker"],
        "webhooks": [*workers, "webhooks"],
    }
    # The tests' webhook receivers listen on 127.0.0.1, which the service refuses by default.
    env = {
        **service_env,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
    }
    service = LiveService(url=f"http://127.0.0.1:{port}", app=app, logs=logs)
    try:
        for name, command in commands.items():
            with open(logs / f"{name}.log", "wb") as output:
                service.processes[name] = subprocess.Popen(
                    command, cwd=repo_root(), env=env, stdout=output, stderr=subprocess.STDOUT
                )
        yield service
    finally:
        # Side by side: an RQ worker takes a second or two to stop, gunicorn one.
        with ThreadPoolExecutor() as stopping:
            list(stopping.map(stop_process, service.processes.values()))


@pytest.fixture(scope="package")
def browser(playwright: Playwright, service_starting: LiveService) -> Iterator[Browser]:
    """Debian's Chromium, headless, for every test of this folder. It closes before the service
    stops: gunicorn would otherwise wait on its kept-alive connections."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def live_service(service_starting: LiveService, browser: Browser) -> LiveService:
    """The service, once gunicorn answers; the workers take jobs as soon as they are up."""
    service_starting.wait_until_serving()
    return service_starting


@dataclass
class PageWatch:
    """What the pages of one test did that no page of the service may do: request another
    origin, log a console error, throw an uncaught exception."""

    origin: str
    foreign_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)

    def allow_console_error(self, pattern: str) -> None:
        """Admit the console errors and uncaught exceptions in which `pattern` (a regular
        expression) is found: ones the test provokes on purpose. Requests to another origin are
        never admitted."""
        self.allowed.append(re.compile(pattern))

    def watch(self, context: BrowserContext) -> None:
        self.contexts.append(context)
        context.route("**/*", self._route)
        context.on("console", self._console)
        context.on("weberror", self._page_error)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if origin_of(url) == self.origin:
            route.fallback()
        else:
            # Refused, never sent: nothing leaves the machine, and no test waits for a timeout.
            self.foreign_requests.append(f"{route.request.method} {url}")
            route.abort("blockedbyclient")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location
            at = f" ({where['url']}:{where['lineNumber']})" if where["url"] else ""
            self.console_errors.append(f"console error: {message.text}{at}")

    def _page_error(self, error: WebError) -> None:
        self.console_errors.append(f"uncaught exception: {error.error}")

    def problems(self) -> list[str]:
        """Everything seen so far, once the browser has delivered what it had sent."""
        for context in self.contexts:
            for page in context.pages:
                # A round trip to each page: events it emitted before are handled first.
                with contextlib.suppress(Error):
                    page.evaluate("0")
        errors = [e for e in self.console_errors if not any(p.search(e) for p in self.allowed)]
        return [f"request to another origin: {r}" for r in self.foreign_requests] + errors


@pytest.fixture
def page_watch(request: pytest.FixtureRequest, live_service: LiveService) -> PageWatch:
    watch = PageWatch(origin=origin_of(live_service.url))
    request.node.stash[WATCH] = watch
    return watch


@pytest.fixture
def new_context(
    browser: Browser, live_service: LiveService, page_watch: PageWatch
) -> Iterator[Callable[..., BrowserContext]]:
    """Opens a fresh, watched browser context on the service (Playwright's `new_context`
    options pass through); all are closed at the end of the test."""

    def new(**options: Any) -> BrowserContext:
        # Service workers would fetch past the watch's route.
        options = {"base_url": live_service.url, "service_workers": "block", **options}
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        page_watch.watch(context)
        return context

    yield new
    for context in page_watch.contexts:
        context.close()
    live_service.settle()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A tab in a fresh context: relative URLs go to the service."""
    return new_context().new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A browser test fails, as itself, when a page did what `PageWatch` looks for; when it
    failed already, what the pages did is shown beside its error."""
    try:
        result = yield
    except BaseException:
        watch = item.stash.get(WATCH, None)
        if watch is not None and (problems := watch.problems()):
            item.add_report_section("call", "browser", "\n".join(problems))
        raise
    watch = item.stash.get(WATCH, None)
    if watch is not None and (problems := watch.problems()):
        pytest.fail("\n".join(["the pages of this test:", *problems]), pytrace=False)
    return result


def save_screenshot(page: Page, path: Path | str, full_page: bool = False) -> Path:
    """What the page shows, as a PNG at `path` (its folders made as needed), for a person to look
    at: the window, or with `full_page` the whole length of the page (slower: a long page is a
    tall picture)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=full_page)
    return path
