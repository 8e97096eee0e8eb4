"""ATS imports: streamed row by row by a real RQ job; each row whole or not at all; a second
import of the same file changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from reputation.conduct.models import ConductEvent
from reputation.contractors.models import Contractor
from reputation.extensions import db
from reputation.rehabilitation.models import RehabilitationStep
from reputation.tenancy.scope import agency_scope
from tests.conftest import Api, login, repo_root, run_jobs
from tests.factories import PASSWORD

SAMPLE_CSV = (repo_root() / "examples" / "ats-import.csv").read_bytes()
SAMPLE_JSONL = (repo_root() / "examples" / "ats-import.jsonl").read_bytes()


@pytest.fixture
def recruiter(app, tenants):
    return login(app, "acme", "recruiter@acme.test", PASSWORD)


def upload(api, data: bytes, content_type="text/csv", **query):
    query_string = "&".join(f"{k}={v}" for k, v in query.items())
    return api.post(f"imports?{query_string}", data=data, headers={"Content-Type": content_type})


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
