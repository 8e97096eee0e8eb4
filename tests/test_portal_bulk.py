"""The imports and exports pages as the server answers them: a file uploaded, its progress
followed until it ends and its row errors listed; an export started, followed and downloaded;
each as the API allows it to whom it allows it. (Another agency's import or export is the 404
page, its download included: tests/test_portal.py walks every route.)"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from sqlalchemy import select

from reputation.contractors.models import Contractor
from reputation.exports.models import DONE, QUEUED, RUNNING, Export
from reputation.exports.rows import WHATS
from reputation.extensions import db
from reputation.imports.models import FAILED, Import
from reputation.portal.bulk import EXPORT_WHATS
from reputation.portal.labels import JOB_STATUSES
from reputation.tenancy.scope import agency_scope
from tests.conftest import count_rows, run_jobs
from tests.test_portal import csrf_token, sign_in

ONE_BAD_ROW = (
    b"record,external_ref,name,contractor_ref,kind,occurred_at,summary\n"
    b"contractor,C-1,Jamie Rivera,,,,\n"
    b"event,E-1,,C-1,ghosting,2025-03-02T09:00:00Z,Did not attend the final interview\n"
    b"event,E-2,,C-1,shouting,2025-03-03T09:00:00Z,Not a kind the model knows\n"
)


@pytest.fixture(autouse=True)
def import_folder(app, monkeypatch, tmp_path):
    folder = tmp_path / "imports"
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(folder))
    return folder


def staff(app, role):
    client = app.test_client()
    assert sign_in(client, email=f"{role}@acme.test").status_code == 302
    return client


def token(client) -> str:
    return csrf_token(client.get("/account").get_data(as_text=True), "password-csrf_token")


def upload(client, content: bytes, filename="ats.csv", **fields):
    return client.post(
        "/imports",
        data={"file": (BytesIO(content), filename), "csrf_token": token(client), **fields},
        content_type="multipart/form-data",
    )


def error_beside(page: str, field: str) -> str:
    found = re.search(rf'<small id="{field}-errors" class="error">([^<]*)</small>', page)
    assert found, f"no error beside {field}"
    return found.group(1)


def test_a_recruiter_uploads_a_file_and_follows_it_to_its_row_error(app, tenants, redis_url):
    recruiter = staff(app, "recruiter")
    assert "Upload and import" in recruiter.get("/imports").get_data(as_text=True)
    uploaded = upload(recruiter, ONE_BAD_ROW)
    assert uploaded.status_code == 302
    page = uploaded.headers["Location"]
    waiting = recruiter.get(page).get_data(as_text=True)
    assert "The file is uploaded" in waiting and "waiting for a worker" in waiting
    assert 'hx-trigger="every 1s"' in waiting  # followed while it waits or runs

    run_jobs(app, redis_url)
    ended = recruiter.get(page, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in ended and 'id="import-progress"' in ended
    assert "hx-trigger" not in ended  # nothing more to follow
    assert "completed" in ended and "3 of 3 rows read, 1 not applied." in ended
    row = re.search(r"<td>(\d+)</td>\s*<td><code>(\w+)</code></td>\s*<td>([^<]+)</td>", ended)
    assert row and (row.group(1), row.group(2)) == ("3", "kind")
    assert "shouting" in row.group(3)
    with app.app_context(), agency_scope(tenants[0].agency_id):
        assert db.session.scalar(select(Contractor.name)) == "Jamie Rivera"
    listed = recruiter.get("/imports").get_data(as_text=True)
    assert "ats.csv" in listed and page in listed


def test_a_jsonl_file_is_read_as_jsonl_by_its_name(app, tenants, redis_url):
    admin = staff(app, "admin")
    line = b'{"record": "contractor", "external_ref": "C-9", "name": "Priya Shah"}\n'
    assert upload(admin, line, filename="ats.ndjson").status_code == 302
    run_jobs(app, redis_url)
    with app.app_context(), agency_scope(tenants[0].agency_id):
        record = db.session.scalars(select(Import)).one()
        assert (record.format, record.status, record.rows_failed) == ("jsonl", "completed", 0)


@pytest.mark.parametrize(
    ("content", "fields", "field", "says"),
    [
        (b"", {}, "file", "The file is empty."),
        (None, {}, "file", "Choose the file to import."),
        (b"x" * 10, {"format": "xlsx"}, "format", "Not a valid choice."),
    ],
)
def test_a_wrong_upload_is_said_beside_its_field_and_leaves_nothing(
    app, tenants, import_folder, content, fields, field, says
):
    recruiter = staff(app, "recruiter")
    data = {"csrf_token": token(recruiter), **fields}
    if content is not None:
        data["file"] = (BytesIO(content), "ats.csv")
    answer = recruiter.post("/imports", data=data, content_type="multipart/form-data")
    assert answer.status_code == 422
    assert error_beside(answer.get_data(as_text=True), field) == says
    assert count_rows(app, Import) == 0
    assert not import_folder.exists() or not any(import_folder.rglob("*.*"))


def test_a_file_over_the_limit_is_refused_beside_the_field(app, tenants, import_folder):
    recruiter = staff(app, "recruiter")
    csrf = token(recruiter)
    app.config["IMPORT_MAX_BYTES"] = 2 * 1024 * 1024
    try:
        # Larger than a form may be (1 MiB), within what an import may be.
        big = b"record,external_ref,name\n" + b"contractor,C-1,Jamie\n" * 60_000
        assert upload(recruiter, big).status_code == 302
        answer = recruiter.post(
            "/imports",
            data={"file": (BytesIO(big * 2), "ats.csv"), "csrf_token": csrf},
            content_type="multipart/form-data",
        )
    finally:
        app.config["IMPORT_MAX_BYTES"] = 200 * 1024 * 1024
    assert answer.status_code == 413
    assert error_beside(answer.get_data(as_text=True), "file") == (
        "The file is larger than 2 MiB; split it."
    )
    assert count_rows(app, Import) == 1


def test_a_viewer_follows_imports_but_uploads_none(app, tenants, redis_url):
    upload(staff(app, "recruiter"), ONE_BAD_ROW)
    viewer = staff(app, "viewer")
    listed = viewer.get("/imports").get_data(as_text=True)
    assert "ats.csv" in listed and "Upload and import" not in listed and 'type="file"' not in listed
    forged = upload(viewer, ONE_BAD_ROW)
    assert forged.status_code == 403
    assert count_rows(app, Import) == 1
    with app.app_context(), agency_scope(tenants[0].agency_id):
        import_id = db.session.scalar(select(Import.id))
    assert viewer.get(f"/imports/{import_id}").status_code == 200


def test_row_errors_come_a_page_at_a_time(app, tenants, redis_url):
    admin = staff(app, "admin")
    rows = b"".join(b"contractor,C-%d,\n" % number for number in range(30))
    upload(admin, b"record,external_ref,name\n" + rows)
    run_jobs(app, redis_url)
    with app.app_context(), agency_scope(tenants[0].agency_id):
        import_id = db.session.scalar(select(Import.id))
    first = admin.get(f"/imports/{import_id}").get_data(as_text=True)
    assert "30 of 30 rows read, 30 not applied." in first and "Page 1 of 2" in first
    second = admin.get(f"/imports/{import_id}?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second
    assert re.findall(r"<td>(\d+)</td>\s*<td><code>name", second) == [str(n) for n in range(26, 31)]


def test_an_export_is_started_followed_and_downloaded(app, tenants, redis_url):
    admin = staff(app, "admin")
    with app.app_context(), agency_scope(tenants[0].agency_id):
        db.session.add(Contractor(name="=HYPERLINK(1)", external_ref="C-1"))
        db.session.commit()
    started = admin.post(
        "/exports",
        data={"what": "contractors", "format": "csv", "neutralise_formulas": "y",
              "csrf_token": token(admin)},
    )  # fmt: skip
    assert started.headers["Location"] == "/exports"
    waiting = admin.get("/exports").get_data(as_text=True)
    assert "The export has started" in waiting and "waiting for a worker" in waiting
    assert 'hx-trigger="every 1s"' in waiting and "Download" not in waiting

    run_jobs(app, redis_url)
    ready = admin.get("/exports", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in ready and "hx-trigger" not in ready and "ready" in ready
    link = re.search(r'href="(/exports/[0-9a-f-]+/download)"', ready).group(1)
    download = admin.get(link)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"].startswith("attachment; filename=contractors-")
    assert "no-store" in download.headers["Cache-Control"]
    lines = download.get_data(as_text=True).splitlines()
    assert lines[0].startswith("id,name,email") and "'=HYPERLINK(1)" in lines[1]


def test_a_jsonl_export_since_a_moment_is_verbatim(app, tenants, redis_url):
    viewer = staff(app, "viewer")  # exports are reads: the API lets any staff start one
    answer = viewer.post(
        "/exports",
        data={"what": "events", "format": "jsonl", "since": "2025-01-02T03:04",
              "neutralise_formulas": "y", "csrf_token": token(viewer)},
    )  # fmt: skip
    assert answer.status_code == 302
    with app.app_context(), agency_scope(tenants[0].agency_id):
        record = db.session.scalars(select(Export)).one()
        assert (record.what, record.format, record.neutralise_formulas) == (
            "events",
            "jsonl",
            False,
        )
        assert record.since == datetime(2025, 1, 2, 3, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"what": "everything"}, "what"),
        ({"format": "xlsx"}, "format"),
        ({"since": "yesterday"}, "since"),
        ({"since": "9999-12-31T23:00"}, "since"),
    ],
)
def test_a_wrong_export_is_said_beside_its_field_and_starts_nothing(app, tenants, fields, field):
    admin = staff(app, "admin")
    answer = admin.post(
        "/exports",
        data={"what": "contractors", "format": "csv", "csrf_token": token(admin), **fields},
    )
    assert answer.status_code == 422
    assert error_beside(answer.get_data(as_text=True), field)
    assert count_rows(app, Export) == 0


@pytest.mark.parametrize(("status", "expired"), [(QUEUED, False), (RUNNING, False), (DONE, True)])
def test_a_file_not_ready_or_no_longer_kept_is_not_served(app, tenants, status, expired):
    admin = staff(app, "admin")
    admin.post(
        "/exports", data={"what": "contractors", "format": "csv", "csrf_token": token(admin)}
    )
    with app.app_context(), agency_scope(tenants[0].agency_id):
        record = db.session.scalars(select(Export)).one()
        record.status = status
        if expired:
            record.path = "/nonexistent/export.csv"
            record.finished_at = datetime.now(UTC) - timedelta(days=8)
            record.expires_at = datetime.now(UTC) - timedelta(days=1)
        db.session.commit()
        export_id = record.id
    listed = admin.get("/exports").get_data(as_text=True)
    assert "/download" not in listed
    if expired:
        assert "expired" in listed
    answer = admin.get(f"/exports/{export_id}/download")
    # Gone for good once expired (410), not ready yet otherwise (409).
    assert answer.status_code == (410 if expired else 409) and answer.mimetype == "text/html"


def test_the_pages_speak_french(app, tenants):
    recruiter = staff(app, "recruiter")
    french = {"Accept-Language": "fr"}
    assert "Importer un fichier" in recruiter.get("/imports", headers=french).get_data(as_text=True)
    assert "Lancer un export" in recruiter.get("/exports", headers=french).get_data(as_text=True)


def test_every_kind_of_export_and_every_status_has_words():
    assert set(EXPORT_WHATS) == set(WHATS)
    assert {QUEUED, RUNNING, DONE, FAILED, "completed"} <= set(JOB_STATUSES)
