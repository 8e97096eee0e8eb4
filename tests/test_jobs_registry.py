"""Every job name that crosses from the web app to the workers resolves to a job function, and
the web app names jobs only through the registry (reputation/jobs.py)."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

import workers.jobs
from reputation import jobs
from tests.conftest import repo_root


@pytest.mark.parametrize("job", jobs.JOBS, ids=lambda job: job.function)
def test_every_registered_job_names_a_job_function_of_the_workers(job):
    module, _, name = job.function.rpartition(".")
    assert module == "workers.jobs"
    function = getattr(importlib.import_module(module), name)
    assert callable(function)
    assert job.queue in jobs.QUEUES


def test_every_job_function_of_the_workers_is_registered():
    defined = {
        f"workers.jobs.{name}"
        for name, function in inspect.getmembers(workers.jobs, inspect.isfunction)
        if function.__module__ == "workers.jobs" and name != "tenant_job"
    }
    assert defined == {job.function for job in jobs.JOBS}


def test_no_other_module_spells_a_job_name():
    spelt = [
        str(path.relative_to(repo_root()))
        for package in ("reputation", "workers")
        for path in (repo_root() / package).rglob("*.py")
        if path.name != "jobs.py" and re.search(r"[\"']workers\.jobs\.", path.read_text())
    ]
    assert spelt == []
