"""ATS imports: streamed a batch of rows at a time by a real RQ job; each row whole or not at
all; a second import of the same file changes nothing."""

from __future__ import annotations

import contextlib
import io
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from reputation import clock, text
from reputation.conduct.models import ConductEvent
from reputation.contractors.models import Contractor
from reputation.extensions import db
from reputation.imports import service
from reputation.imports.models import Import
from reputation.rehabilitation.models import RehabilitationStep
from reputation.tenancy.scope import agency_scope
from tests.conftest import Api, count_rows, login, repo_root, run_jobs
from tests.factories import PASSWORD

SAMPLE_CSV = (repo_root() / "examples" / "ats-import.csv").read_bytes()
SAMPLE_JSONL = (repo_root() / "examples" / "ats-import.jsonl").read_bytes()


@pytest.fixture(autouse=True)
def import_folder(app, monkeypatch, tmp_path):
    """Each test's uploads in a folder of its own, so that what is left in it can be seen."""
    folder = tmp_path / "imports"
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(folder))
    return folder


@pytest.fixture
def recruiter(app, tenants):
    return login(app, "acme", "recruiter@acme.test", PASSWORD)


def upload(api, data: bytes, content_type="text/csv", environ_overrides=None, **query):
    query_string = "&".join(f"{k}={v}" for k, v in query.items())
    return api.post(
        f"imports?{query_string}",
        data=data,
        headers={"Content-Type": content_type},
        environ_overrides=environ_overrides,
    )


def counts(app, tenant) -> tuple[int, int, int]:
    with app.app_context(), agency_scope(tenant.agency_id):
        result = tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Contractor, ConductEvent, RehabilitationStep)
        )
        db.session.rollback()
    return result  # type: ignore[return-value]


def test_csv_import_applies_every_row_and_reports_progress(app, tenants, recruiter, redis_url):
    response = upload(recruiter, SAMPLE_CSV, filename="ats.csv")
    assert response.status_code == 202
    assert response.json["status"] == "queued"
    location = response.headers["Location"]
    run_jobs(app, redis_url)
    done = recruiter.get(location).json
    assert (done["status"], done["rows_total"], done["rows_done"], done["rows_failed"]) == (
        "completed", 6, 6, 0,
    )  # fmt: skip
    assert counts(app, tenants[0]) == (2, 2, 2)
    jamie = recruiter.get("contractors?external_ref=C-1001").json["items"][0]
    assert jamie["tags"] == ["django", "python"]
    steps = recruiter.get(f"contractors/{jamie['id']}/rehabilitation").json["items"]
    events = recruiter.get(f"contractors/{jamie['id']}/events").json["items"]
    assert {s["addresses_event_id"] for s in steps} == {events[0]["id"]}
    assert {s["status"] for s in steps} == {"pending"}


def test_importing_the_same_file_again_changes_nothing(app, tenants, recruiter, redis_url):
    upload(recruiter, SAMPLE_CSV)
    run_jobs(app, redis_url)
    viewer = login(app, "acme", "viewer@acme.test", PASSWORD)
    audit_before = viewer.get("audit").json["total"]
    again = upload(recruiter, SAMPLE_CSV)
    run_jobs(app, redis_url)
    assert recruiter.get(again.headers["Location"]).json["rows_failed"] == 0
    assert counts(app, tenants[0]) == (2, 2, 2)
    # Only the import's own two entries (created, completed): no evidence written twice.
    new = viewer.get("audit").json["total"] - audit_before
    assert new == 2


def test_bad_rows_are_reported_by_number_and_the_rest_import(app, tenants, recruiter, redis_url):
    lines = [
        "record,external_ref,name,contractor_ref,kind,occurred_at,summary,addresses_ref",
        "contractor,C-1,Ana,,,,,",  # 1: fine
        "event,E-1,,C-1,lateness,2025-01-01T00:00:00Z,Late,",  # 2: unknown kind
        "event,E-2,,C-404,rudeness,2025-01-01T00:00:00Z,Rude,",  # 3: no such contractor
        "event,E-3,,C-1,rudeness,2099-01-01T00:00:00Z,Rude,",  # 4: in the future
        "step,S-1,,C-1,acknowledgement,2025-02-01T00:00:00Z,,E-9",  # 5: no such event
        "event,E-4,,C-1,rudeness,2025-01-01T00:00:00Z,Rude,",  # 6: fine
        "person,P-1,,,,,,",  # 7: unknown record
        "event,,,C-1,rudeness,2025-01-01T00:00:00Z,Rude,",  # 8: no external_ref
    ]
    response = upload(recruiter, "\n".join(lines).encode())
    run_jobs(app, redis_url)
    report = recruiter.get(response.headers["Location"]).json
    assert (report["rows_done"], report["rows_failed"]) == (8, 6)
    assert [(e["row"], e["field"]) for e in report["errors"]] == [
        (2, "kind"),
        (3, "contractor_ref"),
        (4, "occurred_at"),
        (5, "addresses_ref"),
        (7, "record"),
        (8, "external_ref"),
    ]
    assert "rudeness" in report["errors"][0]["message"]  # the allowed kinds are listed
    assert counts(app, tenants[0]) == (1, 1, 0)


def test_jsonl_upload_as_a_multipart_file(app, tenants, recruiter, redis_url):
    from io import BytesIO

    response = recruiter.client.post(
        "/api/v1/imports",
        data={"file": (BytesIO(SAMPLE_JSONL), "ats.jsonl")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.json
    assert (response.json["format"], response.json["filename"]) == ("jsonl", "ats.jsonl")
    run_jobs(app, redis_url)
    assert counts(app, tenants[0]) == (1, 1, 1)


def test_upload_refusals(app, tenants, recruiter, client):
    assert upload(recruiter, b"a,b\n1,2", content_type="application/pdf").status_code == 415
    assert upload(recruiter, b"").status_code == 422
    reader = Api(client, tenants[0].read_key)
    assert upload(reader, SAMPLE_CSV).status_code == 403
    previous = app.config["IMPORT_MAX_BYTES"]
    app.config["IMPORT_MAX_BYTES"] = 100
    try:
        assert upload(recruiter, SAMPLE_CSV).status_code == 413
    finally:
        app.config["IMPORT_MAX_BYTES"] = previous
    assert counts(app, tenants[0]) == (0, 0, 0)


def test_an_upload_retried_with_its_idempotency_key_is_one_import(app, tenants, recruiter):
    headers = {"Content-Type": "text/csv", "Idempotency-Key": "upload-1"}
    first = recruiter.post("imports", data=SAMPLE_CSV, headers=headers)
    again = recruiter.post("imports", data=SAMPLE_CSV, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json["id"] == again.json["id"]
    assert first.json["size_bytes"] == len(SAMPLE_CSV)


# Nothing of a refused upload stays on disk, and an import's file goes once the import has ended.

MiB = 1024 * 1024
OVER_TWO_MIB = b"record,external_ref,name\n" + b"contractor,C-1,Ana Lima\n" * (3 * MiB // 24)


def files_in(folder) -> list[str]:
    return sorted(path.name for path in folder.rglob("*") if path.is_file())


def chunked(api, data: bytes, content_type="text/csv", headers=None):
    """As a client that streams the body without saying its size: the server ends the stream."""
    return api.post(
        "imports",
        data=data,
        headers={"Content-Type": content_type, "Transfer-Encoding": "chunked", **(headers or {})},
        environ_overrides={"wsgi.input_terminated": True},
    )


def multipart(data: bytes, filename="ats.csv") -> dict:
    """A file as a browser sends it: the body and Content-Type of a multipart/form-data form."""
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename=filename)})
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


# What each refusal answers, and how the upload is sent.
REFUSED_UPLOADS = {
    "streamed past the limit": (413, lambda api: chunked(api, OVER_TWO_MIB)),
    "streamed past the limit as multipart": (
        413, lambda api: chunked(api, **multipart(OVER_TWO_MIB)),
    ),
    "streamed past the limit with an Idempotency-Key": (
        413, lambda api: chunked(api, OVER_TWO_MIB, headers={"Idempotency-Key": "big-1"}),
    ),
    "sized past the limit": (413, lambda api: upload(api, OVER_TWO_MIB)),
    "sized past the limit as multipart": (413, lambda api: upload(api, **multipart(OVER_TWO_MIB))),
    "empty": (422, lambda api: upload(api, b"")),
    "empty and streamed": (422, lambda api: chunked(api, b"")),
    # The client goes away before it has sent all it announced.
    "cut off half-way": (400, lambda api: upload(
        api, SAMPLE_CSV, environ_overrides={"CONTENT_LENGTH": str(len(SAMPLE_CSV) * 2)}
    )),
    "named past 255 characters": (422, lambda api: upload(
        api, **multipart(SAMPLE_CSV, "a" * 300 + ".csv")
    )),
}  # fmt: skip


@pytest.mark.parametrize(("status", "send"), REFUSED_UPLOADS.values(), ids=REFUSED_UPLOADS.keys())
def test_a_refused_upload_leaves_nothing_on_disk(
    app, tenants, recruiter, import_folder, monkeypatch, status, send
):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 2 * MiB)
    response = send(recruiter)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert files_in(import_folder) == []
    assert count_rows(app, Import) == 0


def test_an_accepted_upload_keeps_its_file_until_the_import_has_ended(
    app, tenants, recruiter, redis_url, import_folder
):
    response = chunked(recruiter, SAMPLE_CSV)
    assert response.status_code == 202, response.json
    assert response.json["size_bytes"] == len(SAMPLE_CSV)
    assert files_in(import_folder) == [f"{response.json['id']}.csv"]
    run_jobs(app, redis_url)
    assert recruiter.get(response.headers["Location"]).json["status"] == "completed"
    assert files_in(import_folder) == []  # of no more use: the rows are in the database


# Rows no database can store, or no parser can read, fail alone; the other rows are applied.

OVER_THE_CSV_FIELD_LIMIT = b"x" * (128 * 1024 + 1)


def imported(api, app, redis_url, data: bytes, content_type="text/csv") -> dict:
    """Upload a file, run its job, and return the import as the API then shows it."""
    response = upload(api, data, content_type)
    assert response.status_code == 202, response.json
    run_jobs(app, redis_url)
    return api.get(response.headers["Location"]).json


def row_errors(report: dict) -> list[tuple[int, str | None, str]]:
    return [(e["row"], e["field"], e["message"]) for e in report["errors"]]


def test_csv_rows_that_cannot_be_read_or_stored_fail_alone(app, tenants, recruiter, redis_url):
    report = imported(
        recruiter, app, redis_url,
        b"\n".join([
            b"record,external_ref,name,contractor_ref,kind,occurred_at,summary",
            b"contractor,C-1,Ana,,,,",
            b"contractor,C-2,Bo\x00b,,,,",  # NUL
            b"contractor,C-3," + OVER_THE_CSV_FIELD_LIMIT + b",,,,",
            b"contractor,C-4,Ren\xe9e,,,,",  # Latin-1, not UTF-8
            b"event,E-1,,C-1,rudeness,2025-01-01T00:00:00Z,Rude",
        ]),
    )  # fmt: skip
    assert (report["status"], report["failure"]) == ("completed", None)
    assert (report["rows_total"], report["rows_done"], report["rows_failed"]) == (5, 5, 3)
    assert row_errors(report) == [
        (2, "name", text.NUL),
        (3, "name", "A cell holds at most 128 KiB of text."),
        (4, "name", text.NOT_UNICODE),
    ]
    assert counts(app, tenants[0]) == (1, 1, 0)


def test_an_over_long_quoted_cell_spanning_lines_fails_its_row_and_hides_no_other(
    app, tenants, recruiter, redis_url
):
    # A row planted inside the long cell must not be applied, nor the real row after it lost.
    planted = b'"' + b"x" * 70_000 + b"\ncontractor,Evil,ref-evil\n" + b"y" * 70_000 + b'"'
    report = imported(
        recruiter, app, redis_url,
        b"\n".join([
            b"record,name,external_ref",
            b"contractor," + planted + b",ref1",
            b"contractor,Ok,ref2",
        ]),
    )  # fmt: skip
    assert (report["rows_total"], report["rows_done"], report["rows_failed"]) == (2, 2, 1)
    assert row_errors(report) == [(1, "name", "A cell holds at most 128 KiB of text.")]
    names = [c["name"] for c in recruiter.get("contractors").json["items"]]
    assert names == ["Ok"]


def test_jsonl_rows_that_cannot_be_read_or_stored_fail_alone(app, tenants, recruiter, redis_url):
    long_key = "k" * 300
    report = imported(
        recruiter, app, redis_url,
        b"\n".join([
            b'{"record":"contractor","external_ref":"C-1","name":"Ana"}',
            b'{"record":"contractor","external_ref":"x","name":"\\ud800"}',
            b'{"record":"contractor","external_ref":"C-3","name":"Sam","tags":'
            + b"[" * 5000 + b"]" * 5000 + b"}",
            b'{"record":"contractor","external_ref":"C-4","name":"Ren\xe9e"}',
            b'{"record":"contractor","external_ref":"C-5","name":"Bo\\u0000b"}',
            b'{"record":"contractor","external_ref":"C-6","name":"Kim","'
            + long_key.encode() + b'":"\\u0000"}',
            b'{"record":"event","external_ref":"E-1","contractor_ref":"C-1","kind":"rudeness",'
            b'"occurred_at":"2025-01-01T00:00:00Z","summary":"Rude"}',
        ]),
        content_type="application/x-ndjson",
    )  # fmt: skip
    assert (report["status"], report["failure"]) == ("completed", None)
    assert (report["rows_total"], report["rows_done"], report["rows_failed"]) == (7, 7, 5)
    assert row_errors(report) == [
        (2, "name", text.NOT_UNICODE),
        (3, None, text.TOO_DEEP),
        (4, "name", text.NOT_UNICODE),
        (5, "name", text.NUL),
        (6, long_key[:100], text.NUL),  # the field named as far as the column holds
    ]
    assert counts(app, tenants[0]) == (1, 1, 0)


@pytest.mark.postgresql_only
def test_a_row_the_database_refuses_fails_alone(app, tenants, recruiter, redis_url):
    with database_refusing(app, "contractors", "name", "Refused Name"):
        report = imported(
            recruiter, app, redis_url,
            b"record,external_ref,name\n"
            b"contractor,C-1,Ana\ncontractor,C-2,Refused Name\ncontractor,C-3,Kim\n",
        )  # fmt: skip
    assert (report["status"], report["rows_done"], report["rows_failed"]) == ("completed", 3, 1)
    [(row, field, message)] = row_errors(report)
    assert (row, field) == (2, None)
    assert message.startswith("The database refused this row") and "varying(5)" in message
    assert counts(app, tenants[0]) == (2, 0, 0)


@pytest.mark.postgresql_only
def test_a_value_longer_than_its_column_fails_its_row_alone(app, tenants, recruiter, redis_url):
    """Refused as the rows are sent (COPY on PostgreSQL), before they reach the table."""
    with narrower_column(app, "conduct_events", "summary", 5, 500):
        report = imported(
            recruiter, app, redis_url,
            b"record,external_ref,name,contractor_ref,kind,occurred_at,summary\n"
            b"contractor,C-1,Ana,,,,\n"
            b"event,E-1,,C-1,rudeness,2025-01-01T00:00:00Z,Rude\n"
            b"event,E-2,,C-1,rudeness,2025-01-02T00:00:00Z,Very rude\n",
        )  # fmt: skip
    assert (report["status"], report["rows_done"], report["rows_failed"]) == ("completed", 3, 1)
    [(row, field, message)] = row_errors(report)
    assert (row, field) == (3, None)
    assert message == (
        "The database refused this row: value too long for type character varying(5)"
    )
    assert counts(app, tenants[0]) == (1, 1, 0)


@contextlib.contextmanager
def narrower_column(app, table: str, column: str, length: int, usual: int):
    with psycopg.connect(app.config["ADMIN_DATABASE_URL"], autocommit=True) as admin:
        admin.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar({length})")
        try:
            yield
        finally:
            admin.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar({usual})")


@contextlib.contextmanager
def database_refusing(app, table: str, column: str, value: str):
    """A trigger that refuses one value as a column narrower than the schema would (SQLSTATE
    22001, a DataError), for as long as the block lasts."""
    with psycopg.connect(app.config["ADMIN_DATABASE_URL"], autocommit=True) as admin:
        admin.execute(
            "CREATE FUNCTION refuse_value() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'value too long for type character varying(5)' "
            "USING ERRCODE = '22001'; END $$"
        )
        admin.execute(
            f"CREATE TRIGGER refuse_value BEFORE INSERT ON {table} FOR EACH ROW "
            f"WHEN (NEW.{column} = '{value}') EXECUTE FUNCTION refuse_value()"
        )
        try:
            yield
        finally:
            admin.execute(f"DROP TRIGGER refuse_value ON {table}")
            admin.execute("DROP FUNCTION refuse_value()")


# Every import ends: completed, or failed with the reason.


def test_a_file_that_cannot_be_read_fails_with_the_reason(
    app, tenants, recruiter, redis_url, import_folder
):
    report = imported(recruiter, app, redis_url, b"record,external_ref,n\xe4me\ncontractor,C-1,A\n")
    assert report["status"] == "failed"
    assert report["failure"] == (
        "The file cannot be read: the header row's column 3 breaks the text rule. "
        f"{text.NOT_UNICODE}"
    )
    assert (report["rows_done"], report["rows_failed"], report["errors"]) == (0, 0, [])
    assert files_in(import_folder) == []


def test_an_import_whose_file_is_gone_fails_and_asks_for_it_again(
    app, tenants, recruiter, redis_url, import_folder
):
    location = upload(recruiter, SAMPLE_CSV).headers["Location"]
    for path in import_folder.rglob("*.csv"):
        path.unlink()
    run_jobs(app, redis_url)
    report = recruiter.get(location).json
    assert report["status"] == "failed" and "upload it again" in report["failure"]
    assert str(import_folder) not in report["failure"]


def test_an_import_whose_job_fails_is_queued_while_retried_then_failed(
    app, tenants, recruiter, redis_url, import_folder
):
    from workers.jobs import run_import

    response = upload(recruiter, SAMPLE_CSV)
    [stored] = import_folder.rglob("*.csv")
    stored.unlink()
    stored.mkdir()  # the file cannot be read, and nobody can say it will not be next time
    run_jobs(app, redis_url)
    retrying = recruiter.get(response.headers["Location"]).json
    assert retrying["status"] == "queued"  # RQ tries it again: not over yet
    assert "IsADirectoryError" in retrying["failure"]
    with pytest.raises(IsADirectoryError):  # the last try, outside RQ: no retry left
        run_import(agency_id=str(tenants[0].agency_id), import_id=response.json["id"])
    failed = recruiter.get(response.headers["Location"]).json
    assert (failed["status"], failed["finished_at"] is not None) == ("failed", True)
    assert "IsADirectoryError" in failed["failure"] and str(import_folder) not in failed["failure"]


def test_an_import_whose_job_never_ran_is_failed_after_a_day(
    app, tenants, recruiter, import_folder
):
    uploaded = datetime.now(UTC)
    with clock.frozen(uploaded):
        stuck = upload(recruiter, SAMPLE_CSV).json
    folder = import_folder / str(tenants[0].agency_id)
    # What an upload killed with its web process leaves, and one whose request never committed.
    (folder / "killed.csv.part").write_bytes(b"record,external_ref")
    (folder / "unrecorded.csv").write_bytes(SAMPLE_CSV)
    # Its file is as old as the others by the disk's clock, but its import still waits.
    with clock.frozen(uploaded + timedelta(days=2) - timedelta(hours=1)):
        waiting = upload(recruiter, SAMPLE_CSV).json
    with app.app_context(), agency_scope(tenants[0].agency_id):
        with clock.frozen(uploaded + timedelta(hours=2)):
            assert service.fail_abandoned_imports() == 0  # it may still run
        assert len(files_in(import_folder)) == 4
        with clock.frozen(uploaded + timedelta(days=2)):
            assert service.fail_abandoned_imports() == 1
        db.session.commit()
    shown = recruiter.get(f"imports/{stuck['id']}").json
    assert shown["status"] == "failed" and "upload the file again" in shown["failure"]
    assert recruiter.get(f"imports/{waiting['id']}").json["status"] == "queued"
    assert files_in(import_folder) == [f"{waiting['id']}.csv"]


def test_an_import_that_started_late_is_not_failed_while_it_runs(
    app, tenants, recruiter, import_folder
):
    uploaded = datetime.now(UTC)
    with clock.frozen(uploaded):
        late = upload(recruiter, SAMPLE_CSV).json
        dead = upload(recruiter, SAMPLE_CSV).json
    with app.app_context(), agency_scope(tenants[0].agency_id):
        # One waited 23 hours in a long queue and has run for two; the other ran from the start.
        for import_id, started in ((late["id"], timedelta(hours=23)), (dead["id"], timedelta(0))):
            record = db.session.get(Import, (tenants[0].agency_id, uuid.UUID(import_id)))
            record.status, record.started_at = "running", uploaded + started
        db.session.commit()
        with clock.frozen(uploaded + timedelta(days=1, hours=1)):
            assert service.fail_abandoned_imports() == 1
        db.session.commit()
    assert recruiter.get(f"imports/{late['id']}").json["status"] == "running"
    assert recruiter.get(f"imports/{dead['id']}").json["status"] == "failed"


def test_csv_cells_are_read_as_the_numbers_and_booleans_the_api_takes(
    app, tenants, recruiter, redis_url
):
    report = imported(
        recruiter, app, redis_url,
        b"\n".join([
            b"record,external_ref,name,contractor_ref,kind,severity,occurred_at,summary,"
            b"addresses_ref,unsolicited",
            b"contractor,C-1,Ana,,,,,,,",
            b"event,E-1,,C-1,rudeness,4,2025-01-01T00:00:00Z,Rude,,",
            b"step,S-1,,C-1,outreach,,2025-02-01T00:00:00Z,,E-1,TRUE",
            b"event,E-2,,C-1,rudeness,four,2025-01-02T00:00:00Z,Rude again,,",
        ]),
    )  # fmt: skip
    assert (report["rows_done"], report["rows_failed"]) == (4, 1)
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(4, "severity")]
    contractor = recruiter.get("contractors?q=Ana").json["items"][0]["id"]
    (event,) = recruiter.get(f"contractors/{contractor}/events").json["items"]
    (step,) = recruiter.get(f"contractors/{contractor}/rehabilitation").json["items"]
    assert (event["severity"], step["unsolicited"]) == (4, True)
