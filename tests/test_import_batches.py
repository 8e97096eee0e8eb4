"""ATS imports applied a batch at a time (reputation/imports/batches.py): the rows read as they
would one by one, whatever batch they fall in; the same rows stored as the API stores them, with
the same audit entries, webhook events and recompute requests; and the same results whether
PostgreSQL is sent the rows with COPY or with INSERT statements."""

from __future__ import annotations

import json
import multiprocessing
import re
from typing import Any

import pytest
from sqlalchemy import select

from reputation.audit.models import AuditEntry
from reputation.conduct.models import ConductEvent
from reputation.contractors.models import Contractor
from reputation.extensions import db
from reputation.imports import rows, service
from reputation.imports.models import ImportRowError
from reputation.outbox.models import OutboxMessage
from reputation.rehabilitation.models import RehabilitationStep
from reputation.tenancy.scope import agency_scope
from reputation.webhooks.models import WebhookMessage
from tests.conftest import Api, run_jobs
from tests.test_webhooks import Receiver

HEADER = "record,external_ref,name,email,tags,contractor_ref,kind,occurred_at,summary,addresses_ref"
# Rows that lean on each other across batches (of three, below), and one of each refusal.
ROWS = [
    "contractor,C-1,Ana,ana@example.com,python;sql,,,,,",
    "contractor,C-2,Bo,,,,,,,",
    "event,E-1,,,,C-1,ghosting,2025-01-01T00:00:00Z,Gone,",
    "event,E-2,,,,C-1,client_commendation,2025-01-02T00:00:00Z,Praised,",
    "step,S-1,,,,C-1,acknowledgement,2025-02-01T00:00:00Z,,E-1",
    "contractor,C-1,Ana Lima,ANA@example.com,sql,,,,,",  # an update of row 1
    "step,S-2,,,,C-1,acknowledgement,2025-02-01T00:00:00Z,,E-2",  # a positive event
    "step,S-3,,,,C-2,acknowledgement,2025-02-01T00:00:00Z,,E-1",  # another's event
    "step,S-4,,,,C-1,acknowledgement,2024-12-01T00:00:00Z,,E-1",  # before the event
    "event,E-3,,,,C-9,ghosting,2025-01-01T00:00:00Z,Gone,",  # no such contractor
    "event,E-1,,,,C-2,rudeness,2025-01-03T00:00:00Z,Rude,",  # E-1 exists: left as it is
    "step,S-5,,,,C-2,acknowledgement,2025-02-01T00:00:00Z,,E-404",  # no such event
    "contractor,C-3,Cy,,,,,,,",
    "contractor,C-3,Cy,,,,,,,",  # the same again: nothing changes
    "event,E-4,,,,C-3,rudeness,2025-03-01T00:00:00Z,Rude,",
    "step,S-6,,,,C-3,outreach,2025-03-02T00:00:00Z,,E-4",
]
FILE = "\n".join([HEADER, *ROWS]).encode()
ERRORS = [
    (7, "addresses_event_id", "A step addresses a negative event only."),
    (8, "addresses_event_id", "No event with this id for this contractor."),
    (9, "addresses_event_id", "A step addresses an event that occurred before the step."),
    (10, "contractor_ref", "No contractor with this external_ref."),
    (12, "addresses_ref", "No event with this external_ref."),
]


@pytest.fixture(autouse=True)
def import_folder(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path / "imports"))


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of three rows, so that the file's rows lean on rows of earlier batches."""
    monkeypatch.setattr(service, "BATCH", 3)


def imported(app, redis_url, api: Api, data: bytes) -> dict:
    response = api.post("imports", data=data, headers={"Content-Type": "text/csv"})
    assert response.status_code == 202, response.json
    run_jobs(app, redis_url)
    return api.get(f"{response.headers['Location']}?per_page=100").json


def row_errors(report: dict) -> list[tuple[int, str | None, str]]:
    return [(e["row"], e["field"], e["message"]) for e in report["errors"]]


def test_rows_lean_on_rows_of_earlier_batches_and_fail_alone(
    app, tenants, redis_url, client, small_batches
):
    api = Api(client, tenants[0].write_key)
    report = imported(app, redis_url, api, FILE)
    assert (report["status"], report["rows_done"], report["rows_failed"]) == (
        "completed", len(ROWS), len(ERRORS),
    )  # fmt: skip
    assert row_errors(report) == ERRORS
    ana = api.get("contractors?external_ref=C-1").json["items"][0]
    # Created by row 1, then changed by row 6: a second version, as the API would make it.
    assert (ana["name"], ana["email"], ana["tags"]) == ("Ana Lima", "ana@example.com", ["sql"])
    audited = [entry for entry in stored(app, tenants[0])["audit"] if entry["object"] == "C-1"]
    assert [(entry["action"], entry["details"]) for entry in audited] == [
        ("contractor.created", {"name": "Ana"}),
        ("contractor.updated", {"name": ["Ana", "Ana Lima"], "tags": [["python", "sql"], ["sql"]]}),
    ]
    events = api.get(f"contractors/{ana['id']}/events").json["items"]
    assert sorted(e["external_ref"] for e in events) == ["E-1", "E-2"]
    (step,) = api.get(f"contractors/{ana['id']}/rehabilitation").json["items"]
    assert (step["external_ref"], step["addresses_event_id"]) == (
        "S-1", next(e["id"] for e in events if e["external_ref"] == "E-1"),
    )  # fmt: skip
    before = stored(app, tenants[0])
    again = imported(app, redis_url, api, FILE)
    assert row_errors(again) == ERRORS
    after = stored(app, tenants[0])
    # Events and steps are never rewritten: matched on their external references.
    assert (after["events"], after["steps"]) == (before["events"], before["steps"])


def test_imported_rows_are_stored_announced_and_audited_as_the_api_does(
    app, tenants, redis_url, client
):
    """The same contractor, event and step, once through the API and once imported: the same
    columns, the same webhook bodies and audit entries but for ids, times and references."""
    receiver = Receiver()
    admin_endpoint(app, receiver)
    api = Api(client, tenants[0].write_key)
    contractor = api.post(
        "contractors",
        {"name": "Ana", "email": "Ana@example.com", "external_ref": "A-1", "tags": ["sql"]},
    ).json
    event = api.post(
        f"contractors/{contractor['id']}/events",
        {"kind": "ghosting", "occurred_at": "2025-01-01T00:00:00Z", "summary": "Gone",
         "external_ref": "A-E"},
    ).json  # fmt: skip
    step = api.post(
        f"contractors/{contractor['id']}/rehabilitation",
        {"kind": "acknowledgement", "occurred_at": "2025-02-01T00:00:00Z",
         "addresses_event_id": event["id"], "external_ref": "A-S"},
    ).json  # fmt: skip
    assert "id" in step, step
    report = imported(
        app, redis_url, api,
        "\n".join([
            HEADER,
            "contractor,I-1,Ana,Ana@example.com,sql,,,,,",
            "event,I-E,,,,I-1,ghosting,2025-01-01T00:00:00Z,Gone,",
            "step,I-S,,,,I-1,acknowledgement,2025-02-01T00:00:00Z,,I-E",
        ]).encode(),
    )  # fmt: skip
    assert report["rows_failed"] == 0, report["errors"]
    snapshot = stored(app, tenants[0])
    for kind in ("contractors", "events", "steps"):
        by_api, by_import = (
            [row for row in snapshot[kind] if row["external_ref"].startswith(prefix)]
            for prefix in ("A-", "I-")
        )
        assert len(by_api) == len(by_import) == 1
        assert differences(by_api[0], by_import[0]) <= REFERENCES
    for name in ("contractor.created", "conduct_event.recorded", "rehabilitation.recorded"):
        by_api, by_import = (
            [body for body in snapshot["webhooks"] if body["type"] == name and prefix in str(body)]
            for prefix in ("A-", "I-")
        )
        assert len(by_api) == len(by_import) == 1, name
        assert differences(by_api[0]["data"], by_import[0]["data"]) <= REFERENCES, name
    assert sorted(entry["action"] for entry in snapshot["audit"] if "A-" in entry["object"]) == (
        sorted(entry["action"] for entry in snapshot["audit"] if "I-" in entry["object"])
    )
    recomputes = [job for job in snapshot["jobs"] if job["job_id"] == "recompute-I-1"]
    assert recomputes == [
        {"queue": "trust", "name": "workers.jobs.recompute_contractor",
         "payload": {"contractor_id": "I-1"}, "job_id": "recompute-I-1"},
    ]  # fmt: skip
    receiver.server.shutdown()


# What differs between the two by construction: their references, and who recorded them (an
# import says which file).
REFERENCES = {"external_ref", "contractor_id", "addresses_event_id", "recorded_by"}


def admin_endpoint(app, receiver: Receiver) -> None:
    """A webhook endpoint of the agency that wants every event."""
    from tests.conftest import login
    from tests.factories import PASSWORD

    admin = login(app, "acme", "admin@acme.test", PASSWORD)
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = True
    try:
        response = admin.post("webhooks/endpoints", {"url": receiver.url})
        assert response.status_code == 201, response.json
    finally:
        app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = False


def differences(one: dict, other: dict) -> set[str]:
    assert one.keys() == other.keys()
    return {name for name in one if one[name] != other[name]}


@pytest.mark.postgresql_only
def test_copy_and_insert_statements_store_the_same(
    app, tenants, redis_url, client, monkeypatch, small_batches
):
    """The same file into two agencies, one sent with COPY, the other with INSERT statements:
    the same rows, audit entries, outbox messages and row errors."""
    reports = []
    for tenant, copy in zip(tenants, (True, False), strict=True):
        monkeypatch.setitem(app.config, "IMPORT_COPY", copy)
        reports.append(imported(app, redis_url, Api(client, tenant.write_key), FILE))
    assert row_errors(reports[0]) == row_errors(reports[1]) == ERRORS
    with_copy, with_inserts = (stored(app, tenant) for tenant in tenants)
    assert with_copy == with_inserts
    # Three contractors (one changed once), three events and two steps: nothing left out.
    assert (len(with_copy["audit"]), len(with_copy["published"])) == (9, 8)


def stored(app, tenant) -> dict[str, Any]:
    """What the agency's database holds of its contractors, events and steps, their audit
    entries, outbox messages and webhook bodies, and the imports' row errors: ids written as the
    external references they stand for, times of recording left out (they differ by run)."""
    with app.app_context(), agency_scope(tenant.agency_id):
        refs: dict[str, str] = {}
        for model in (Contractor, ConductEvent, RehabilitationStep):
            for object_id, external_ref in db.session.execute(select(model.id, model.external_ref)):
                refs[str(object_id)] = external_ref

        def plain(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items() if not recorded_time(k)}
            if isinstance(value, list):
                return [plain(v) for v in value]
            if value is None:
                return None
            # An API key's label names its prefix, which differs by agency.
            text = KEY_PREFIX.sub("(key)", str(value))
            return refs.get(text, text)

        def columns(model: type) -> list[dict[str, Any]]:
            table = model.__table__  # type: ignore[attr-defined]
            names = [c.key for c in table.columns if c.key not in ("agency_id", "search_text")]
            found = [
                plain({name: getattr(row, name) for name in names if name != "recorded_by_id"})
                for row in db.session.scalars(select(model))
            ]
            return sorted(found, key=lambda row: json.dumps(row, sort_keys=True))

        contractors = columns(Contractor)
        for row in contractors:
            contractor = db.session.scalars(
                select(Contractor).where(Contractor.external_ref == row["external_ref"])
            ).one()
            row["tags"] = contractor.tags
        audit = sorted(
            (
                {"action": e.action, "object": plain(e.object_id), "details": plain(e.details),
                 "actor": plain([e.actor_type, e.actor_label])}
                for e in db.session.scalars(select(AuditEntry))
                if str(e.object_id) in refs
            ),
            key=lambda entry: json.dumps(entry, sort_keys=True),
        )  # fmt: skip
        messages = db.session.scalars(select(OutboxMessage)).all()
        result = {
            "contractors": contractors,
            "events": columns(ConductEvent),
            "steps": columns(RehabilitationStep),
            "audit": audit,
            "published": sorted(
                (
                    json.dumps(plain({"name": m.name, "payload": m.payload}), sort_keys=True)
                    for m in messages
                    if m.kind == "event" and m.name in PUBLISHED
                ),
            ),
            "jobs": sorted(
                (
                    {
                        **plain({"queue": m.queue, "name": m.name, "payload": m.payload}),
                        "job_id": "recompute-" + plain(m.job_id.removeprefix("recompute-")),
                    }
                    for m in messages
                    if m.kind == "job" and m.name.endswith("recompute_contractor")
                ),
                key=lambda job: json.dumps(job, sort_keys=True),
            ),
            "webhooks": [
                plain(json.loads(m.body)) for m in db.session.scalars(select(WebhookMessage))
            ],
            "errors": sorted(
                (e.row_number, e.field, e.message)
                for e in db.session.scalars(select(ImportRowError))
            ),
        }
        db.session.rollback()
    return result


KEY_PREFIX = re.compile(r"\(rk_[^)]*\)")
PUBLISHED = ("contractor.created", "conduct_event.recorded", "rehabilitation.recorded")


def recorded_time(name: str) -> bool:
    return name in ("created_at", "updated_at", "recorded_at", "at", "timestamp", "id") or (
        name.endswith("_at") and name != "occurred_at"
    )


def test_the_reading_process_stops_once_its_batches_are_not_wanted(tmp_path):
    path = tmp_path / "contractors.csv"
    lines = [f"contractor,C-{i},Name {i}" for i in range(100)]
    path.write_text("\n".join(["record,external_ref,name", *lines]))
    batches = rows.parsed_batches(str(path), "csv", 10)
    first = next(batches)
    assert [number for number, _ in first] == list(range(1, 11))
    assert first[0][1] == rows.Row("contractor", ANA_FACTS, {})
    batches.close()  # as when applying a batch fails
    assert multiprocessing.active_children() == []


ANA_FACTS = {"name": "Name 0", "external_ref": "C-0", "email": None, "tags": [], "status": "active"}


def test_what_cannot_be_read_is_raised_where_the_batch_was_expected(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"record,n\xe4me\ncontractor,A\n")
    with pytest.raises(rows.Unreadable, match="column 2"):
        list(rows.parsed_batches(str(path), "csv", 10))
    assert multiprocessing.active_children() == []
