"""Bulk exports: written batch by batch by a real RQ job, read back exactly as the API shows the
same data, downloadable by the agency alone for seven days, then deleted."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import downgrade, upgrade

from reputation import clock
from reputation.exports import rows
from reputation.extensions import db
from tests.conftest import Api, login, make_app, run_jobs
from tests.factories import PASSWORD

KINDS = ("contractors", "events", "rehabilitation", "assessments", "trajectories")
# What identifies a row of the kinds that have no id of their own.
KEYS = {"assessments": ("contractor_id",), "trajectories": ("contractor_id", "at")}
EARLY, LATE = datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 9, 1, tzinfo=UTC)


@pytest.fixture
def recruiter(app, tenants):
    return login(app, "acme", "recruiter@acme.test", PASSWORD)


@pytest.fixture(autouse=True)
def _no_files_left_behind(app, tenants):
    yield
    for tenant in tenants:
        shutil.rmtree(os.path.join(app.config["EXPORT_DIR"], str(tenant.agency_id)), True)


@pytest.fixture
def small_batches(monkeypatch):
    # A few rows a query, so that even this little data crosses several pages of the keyset.
    monkeypatch.setattr(rows, "BATCH", 2)


def ok(response) -> dict:
    assert response.status_code < 300, response.json
    return response.json


def record_history(api: Api) -> list[dict]:
    """Two contractors with an amended event, a retracted one, a good one and a verified step."""
    sam = ok(
        api.post(
            "contractors",
            {"name": "Sam", "email": "sam@example.com", "external_ref": "S-1",
             "tags": ["sql", "go"]},
        )
    )  # fmt: skip
    # Quotes, a newline and U+2028 (a line break to str.splitlines, not to JSON Lines).
    ana = ok(api.post("contractors", {"name": 'Ana, "the fixer"\nof Leeds\u2028and Hull'}))
    ghosting = ok(
        api.post(
            f"contractors/{sam['id']}/events",
            {"kind": "ghosting", "occurred_at": "2025-03-01T09:30:00Z",
             "summary": "Stopped answering, mid-process",
             "evidence_urls": ["https://ats.example.com/notes/1"]},
        )
    )  # fmt: skip
    amended = ok(
        api.post(
            f"events/{ghosting['id']}/amend", {"severity": 1, "reason": "Called back the next day"}
        )
    )
    rude = ok(
        api.post(
            f"contractors/{ana['id']}/events",
            {"kind": "rudeness", "occurred_at": "2025-02-01T00:00:00Z", "summary": "Rude"},
        )
    )
    ok(api.post(f"events/{rude['id']}/retract", {"reason": "Wrong contractor"}))
    ok(
        api.post(
            f"contractors/{ana['id']}/events",
            {
                "kind": "commitment_kept",
                "occurred_at": "2025-04-01T00:00:00Z",
                "summary": "On time",
            },
        )
    )
    step = ok(
        api.post(
            f"contractors/{sam['id']}/rehabilitation",
            {"kind": "acknowledgement", "occurred_at": "2025-04-02T00:00:00Z",
             "addresses_event_id": amended["id"], "description": "Owned it"},
        )
    )  # fmt: skip
    ok(api.post(f"rehabilitation/{step['id']}/verify", {"decision": "verified", "note": "Checked"}))
    return [sam, ana]


def what_the_api_shows(api: Api, what: str, contractors: list[dict]) -> list[dict]:
    """Every object of one kind, as the API's own endpoints give it."""
    found: list[dict] = []
    for contractor in contractors:
        path = f"contractors/{contractor['id']}"
        if what == "contractors":
            found.append(api.get(path).json)
        elif what == "events":
            found += api.get(f"{path}/events?per_page=100").json["items"]
        elif what == "rehabilitation":
            found += api.get(f"{path}/rehabilitation?per_page=100").json["items"]
        elif what == "assessments":
            found.append({"contractor_id": contractor["id"], **api.get(f"{path}/assessment").json})
        else:
            points = api.get(f"{path}/trajectory").json["points"]
            found += [{"contractor_id": contractor["id"], **point} for point in points]
    return found


def export(api: Api, app, redis_url, what: str, format: str = "csv", **body) -> dict:
    """Start an export, run the queued jobs, and return the export as the API then shows it."""
    response = api.post("exports", {"what": what, "format": format, **body})
    assert response.status_code == 202, response.json
    run_jobs(app, redis_url)
    return api.get(response.headers["Location"]).json


def read_back(api: Api, done: dict) -> list[dict]:
    response = api.get(done["download_url"])
    assert response.status_code == 200, response.json
    text = response.get_data(as_text=True)
    if done["format"] == "jsonl":
        assert response.mimetype == "application/x-ndjson"
        # Lines end with \n alone: a JSON string may hold U+2028, which splitlines() splits on.
        return [json.loads(line) for line in text.split("\n") if line]
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(text, newline="")))


def cell_holds(cell: str, value: object) -> bool:
    """A CSV cell holds a string as it is, null as nothing, anything else as its JSON text.
    (No string of record_history starts like a formula: see the tests of formulas below.)"""
    if value is None:
        return cell == ""
    if isinstance(value, str):
        return cell == value
    return json.loads(cell) == value


def assert_same(exported: list[dict], shown: list[dict], format: str, key=("id",)) -> None:
    def keyed(items):
        return {tuple(item[k] for k in key): item for item in items}

    exported_by_key, shown_by_key = keyed(exported), keyed(shown)
    assert len(exported) == len(exported_by_key)  # no row written twice across batches
    assert exported_by_key.keys() == shown_by_key.keys()
    for k, row in exported_by_key.items():
        expected = {name: value for name, value in shown_by_key[k].items() if name != "history"}
        assert row.keys() == expected.keys()
        if format == "jsonl":
            assert row == expected
        else:
            wrong = {n: (row[n], v) for n, v in expected.items() if not cell_holds(row[n], v)}
            assert not wrong, wrong


@pytest.mark.parametrize("format", ["csv", "jsonl"])
def test_every_kind_of_export_reads_back_as_the_api_shows_it(
    app, tenants, recruiter, redis_url, small_batches, format
):
    contractors = record_history(recruiter)
    run_jobs(app, redis_url)  # the assessments and trajectories
    for what in KINDS:
        done = export(recruiter, app, redis_url, what, format)
        assert done["status"] == "done", done
        exported = read_back(recruiter, done)
        shown = what_the_api_shows(recruiter, what, contractors)
        assert_same(exported, shown, format, KEYS.get(what, ("id",)))
        assert done["rows_done"] == len(exported) == len(shown)
    events = read_back(recruiter, export(recruiter, app, redis_url, "events", format))
    # History is part of the data: every version, with its status.
    assert sorted(event["status"] for event in events) == [
        "active", "active", "retracted", "superseded"
    ]  # fmt: skip


def test_since_keeps_only_what_was_recorded_or_computed_at_or_after_it(
    app, tenants, recruiter, redis_url
):
    def contractor_with_history(name: str) -> str:
        contractor = recruiter.post("contractors", {"name": name}).json
        path = f"contractors/{contractor['id']}"
        recruiter.post(
            f"{path}/events",
            {"kind": "ghosting", "occurred_at": "2025-01-01T00:00:00Z", "summary": "Gone"},
        )
        recruiter.post(
            f"{path}/rehabilitation", {"kind": "outreach", "occurred_at": "2025-02-01T00:00:00Z"}
        )
        run_jobs(app, redis_url)
        return contractor["id"]

    with clock.frozen(EARLY):
        contractor_with_history("Before")
    with clock.frozen(LATE):
        later = contractor_with_history("After")
    since = (LATE - timedelta(days=1)).isoformat()
    for what in KINDS:
        done = export(recruiter, app, redis_url, what, "jsonl", since=since)
        assert done["since"] == "2025-08-31T00:00:00+00:00"
        exported = read_back(recruiter, done)
        assert exported, what
        owners = {row["contractor_id"] if what != "contractors" else row["id"] for row in exported}
        assert owners == {later}, what
    everything = export(recruiter, app, redis_url, "contractors", "jsonl")
    assert everything["rows_done"] == 2


def test_since_includes_older_rows_changed_after_it(app, tenants, recruiter, redis_url):
    """An incremental export carries what changed: an old event retracted, an old step verified,
    an old contractor edited, not only what was recorded since."""
    with clock.frozen(EARLY):
        contractor = recruiter.post("contractors", {"name": "Old"}).json
        path = f"contractors/{contractor['id']}"
        event = recruiter.post(
            f"{path}/events",
            {"kind": "ghosting", "occurred_at": "2025-01-01T00:00:00Z", "summary": "Gone"},
        ).json
        step = recruiter.post(
            f"{path}/rehabilitation",
            {"kind": "acknowledgement", "occurred_at": "2025-02-01T00:00:00Z",
             "addresses_event_id": event["id"]},
        ).json  # fmt: skip
    with clock.frozen(LATE):
        recruiter.post(f"events/{event['id']}/retract", {"reason": "Wrong person"})
        recruiter.post(f"rehabilitation/{step['id']}/verify", {"decision": "verified"})
        etag = recruiter.get(path).headers["ETag"]
        recruiter.patch(path, {"name": "Old, renamed"}, headers={"If-Match": etag})
    since = (LATE - timedelta(days=1)).isoformat()
    changed = {
        what: read_back(recruiter, export(recruiter, app, redis_url, what, "jsonl", since=since))
        for what in ("contractors", "events", "rehabilitation")
    }
    assert [row["name"] for row in changed["contractors"]] == ["Old, renamed"]
    assert [row["status"] for row in changed["events"]] == ["retracted"]
    assert [row["status"] for row in changed["rehabilitation"]] == ["verified"]


def test_progress_is_reported_and_the_agency_lists_its_exports(app, tenants, recruiter, redis_url):
    record_history(recruiter)
    started = recruiter.post("exports", {"what": "events", "format": "csv"})
    assert started.status_code == 202
    queued = started.json
    assert (queued["status"], queued["rows_done"], queued["download_url"]) == ("queued", 0, None)
    assert started.headers["Location"] == f"/api/v1/exports/{queued['id']}"
    run_jobs(app, redis_url)
    done = recruiter.get(f"exports/{queued['id']}").json
    assert (done["status"], done["rows_done"], done["error"]) == ("done", 4, None)
    finished = datetime.fromisoformat(done["finished_at"])
    assert datetime.fromisoformat(done["expires_at"]) == finished + timedelta(days=7)
    assert done["download_url"] == f"/api/v1/exports/{queued['id']}/download"
    download = recruiter.get(done["download_url"])
    assert download.headers["Content-Disposition"].startswith("attachment; filename=events-")
    assert download.headers["Content-Disposition"].endswith(".csv")
    assert "no-store" in download.headers["Cache-Control"]
    # Exports are reads: the read-only key and a viewer may start them too.
    assert Api(recruiter.client, tenants[0].read_key).post(
        "exports", {"what": "contractors", "format": "jsonl"}
    ).status_code == 202  # fmt: skip
    viewer = login(app, "acme", "viewer@acme.test", PASSWORD)
    assert viewer.post("exports", {"what": "assessments", "format": "csv"}).status_code == 202
    listed = viewer.get("exports?per_page=2").json
    assert (listed["total"], listed["pages"], len(listed["items"])) == (3, 2, 2)
    assert [e["what"] for e in listed["items"]] == ["assessments", "contractors"]  # newest first
    audit = viewer.get(f"audit?object_id={queued['id']}").json["items"]
    assert {entry["action"] for entry in audit} == {"export.created", "export.done"}


def test_download_waits_for_the_file_and_ends_with_its_expiry(app, tenants, recruiter, redis_url):
    from workers.jobs import nightly_sweep

    record_history(recruiter)
    export_id = recruiter.post("exports", {"what": "contractors", "format": "csv"}).json["id"]
    download = f"exports/{export_id}/download"
    early = recruiter.get(download)
    assert early.status_code == 409 and early.mimetype == "application/problem+json"
    assert "queued" in early.json["detail"]
    with clock.frozen(LATE):
        run_jobs(app, redis_url)
    last_moment = LATE + timedelta(days=7) - timedelta(seconds=1)
    with clock.frozen(last_moment):
        assert recruiter.get(download).status_code == 200
        nightly_sweep()
        assert recruiter.get(download).status_code == 200  # not yet purged
    folder = os.path.join(app.config["EXPORT_DIR"], str(tenants[0].agency_id))
    assert f"{export_id}.csv" in os.listdir(folder)
    # What a killed run left behind goes too, once it is old enough to be no running job's.
    abandoned, running = os.path.join(folder, "killed.part"), os.path.join(folder, "running.part")
    for path in (abandoned, running):
        with open(path, "w") as file:
            file.write("id,name\n")
    for path, age in ((abandoned, timedelta(days=2)), (running, timedelta(hours=1))):
        moment = (LATE + timedelta(days=7) - age).timestamp()
        os.utime(path, (moment, moment))
    with clock.frozen(LATE + timedelta(days=7)):
        expired = recruiter.get(download)
        assert expired.status_code == 410 and expired.mimetype == "application/problem+json"
        assert recruiter.get(f"exports/{export_id}").json["download_url"] is None
        nightly_sweep()
    left = os.listdir(folder)
    assert f"{export_id}.csv" not in left and "killed.part" not in left
    assert "running.part" in left
    os.remove(running)
    assert recruiter.get(download).status_code == 410
    assert recruiter.get(f"exports/{export_id}").json["status"] == "done"  # the record stays


def test_a_failed_export_says_so_and_has_nothing_to_download(
    app, tenants, recruiter, redis_url, monkeypatch, tmp_path
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the exports' folder should be")
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(blocker))
    from workers.jobs import run_export

    export_id = recruiter.post("exports", {"what": "events", "format": "jsonl"}).json["id"]
    run_jobs(app, redis_url)
    retrying = recruiter.get(f"exports/{export_id}").json
    assert retrying["status"] == "queued"  # RQ tries it again: not over yet
    assert "NotADirectoryError" in retrying["error"]
    with pytest.raises(NotADirectoryError):  # the last try, outside RQ: no retry left
        run_export(agency_id=str(tenants[0].agency_id), export_id=export_id)
    failed = recruiter.get(f"exports/{export_id}").json
    assert failed["status"] == "failed"
    assert "NotADirectoryError" in failed["error"] and str(tmp_path) not in failed["error"]
    assert failed["download_url"] is None
    assert recruiter.get(f"exports/{export_id}/download").status_code == 409


def test_another_agencys_export_is_404_and_strangers_get_401(app, tenants, recruiter, client):
    export_id = recruiter.post("exports", {"what": "contractors", "format": "csv"}).json["id"]
    globex = login(app, "globex", "owner@globex.test", PASSWORD)
    for path in (f"exports/{export_id}", f"exports/{export_id}/download"):
        response = globex.get(path)
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert globex.get("exports").json["total"] == 0
    stranger = Api(client)
    assert stranger.post("exports", {"what": "contractors", "format": "csv"}).status_code == 401
    for path in ("exports", f"exports/{export_id}", f"exports/{export_id}/download"):
        assert stranger.get(path).status_code == 401


@pytest.mark.parametrize(
    ("body", "field", "mentions"),
    [
        ({"what": "payroll", "format": "csv"}, "what", "contractors, events, rehabilitation"),
        ({"what": "events", "format": "xlsx"}, "format", "csv, jsonl"),
        ({"format": "csv"}, "what", "Missing"),
        ({"what": "events", "format": "csv", "since": "last tuesday"}, "since", "datetime"),
        ({"what": "events", "format": "csv", "since": "2025-01-01T00:00:00"}, "since", "aware"),
        ({"what": "events", "format": "csv", "where": "x"}, "where", "Unknown"),
        (
            {"what": "events", "format": "jsonl", "neutralise_formulas": True},
            "neutralise_formulas",
            "CSV",
        ),
        (
            {"what": "events", "format": "csv", "neutralise_formulas": "maybe"},
            "neutralise_formulas",
            "boolean",
        ),
    ],
)
def test_bad_requests_are_422_naming_the_field(recruiter, body, field, mentions):
    response = recruiter.post("exports", body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    errors = {error["field"]: error["detail"] for error in response.json["errors"]}
    assert field in errors and mentions in errors[field], errors


def test_an_export_whose_job_never_finished_is_failed_by_the_sweep(app, tenants, recruiter):
    from workers.app import use_app
    from workers.jobs import nightly_sweep

    with clock.frozen(EARLY):
        stuck = ok(recruiter.post("exports", {"what": "events", "format": "csv"}))
    use_app(app)
    with clock.frozen(EARLY + timedelta(hours=2)):
        nightly_sweep()
    assert recruiter.get(f"exports/{stuck['id']}").json["status"] == "queued"  # may still run
    with clock.frozen(EARLY + timedelta(days=2)):
        nightly_sweep()
    shown = recruiter.get(f"exports/{stuck['id']}").json
    assert shown["status"] == "failed" and "start a new export" in shown["error"]


# What an agency's ATS import can plant in a free-text field: a formula, and the other cell
# starts a spreadsheet reads as one (OWASP, "CSV Injection").
FORMULAS = (
    '=HYPERLINK("http://evil","click")',
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
)


def record_formulas(api: Api) -> None:
    """A contractor named with each formula, with an event whose summary and details hold it."""
    for formula in FORMULAS:
        contractor = ok(
            api.post("contractors", {"name": formula, "external_ref": formula, "tags": [formula]})
        )
        ok(
            api.post(
                f"contractors/{contractor['id']}/events",
                {"kind": "ghosting", "severity": 3, "occurred_at": "2025-03-01T09:30:00Z",
                 "summary": formula, "details": formula},
            )
        )  # fmt: skip


def test_formulas_planted_in_names_and_summaries_open_as_text_in_a_spreadsheet(
    app, tenants, recruiter, redis_url
):
    record_formulas(recruiter)
    ok(recruiter.post("contractors", {"name": "Plain Sam", "external_ref": "S-1"}))
    contractors_export = export(recruiter, app, redis_url, "contractors")
    contractors = read_back(recruiter, contractors_export)
    events = read_back(recruiter, export(recruiter, app, redis_url, "events"))
    # A leading quote is what spreadsheets read as "this cell is text"; the rest is untouched.
    assert sorted(row["name"] for row in contractors) == sorted(
        ["Plain Sam", *(f"'{formula}" for formula in FORMULAS)]
    )
    for contractor in contractors:
        if contractor["name"] != "Plain Sam":
            assert contractor["external_ref"] == contractor["name"]
            # A list is written as its JSON text, which starts with `[`: nothing to neutralise.
            assert json.loads(contractor["tags"]) == [contractor["name"][1:].strip().lower()]
    assert {row["external_ref"] for row in contractors} >= {"S-1"}
    assert sorted(row["summary"] for row in events) == sorted(f"'{f}" for f in FORMULAS)
    assert all(row["details"] == row["summary"] for row in events)
    # Numbers and booleans stay what they were.
    assert {(row["severity"], row["disputed"]) for row in events} == {("3", "false")}
    assert contractors_export["neutralise_formulas"] is True  # the default, and shown


def test_a_client_that_asks_for_verbatim_csv_gets_it_and_the_export_says_so(
    app, tenants, recruiter, redis_url
):
    record_formulas(recruiter)
    done = export(recruiter, app, redis_url, "events", neutralise_formulas=False)
    assert done["neutralise_formulas"] is False
    assert recruiter.get("exports").json["items"][0]["neutralise_formulas"] is False
    events = read_back(recruiter, done)
    assert sorted(row["summary"] for row in events) == sorted(FORMULAS)
    assert sorted(row["details"] for row in events) == sorted(FORMULAS)
    viewer = login(app, "acme", "viewer@acme.test", PASSWORD)
    audit = viewer.get(f"audit?object_id={done['id']}").json["items"]
    created = next(entry for entry in audit if entry["action"] == "export.created")
    assert created["details"]["neutralise_formulas"] is False


def test_jsonl_exports_keep_formulas_exactly_as_recorded(app, tenants, recruiter, redis_url):
    record_formulas(recruiter)
    done = export(recruiter, app, redis_url, "contractors", "jsonl")
    # Nothing is neutralised in JSON, and the export says so.
    assert done["neutralise_formulas"] is False
    assert sorted(row["name"] for row in read_back(recruiter, done)) == sorted(FORMULAS)
    events = read_back(recruiter, export(recruiter, app, redis_url, "events", "jsonl"))
    assert sorted(row["summary"] for row in events) == sorted(FORMULAS)


def test_numbers_booleans_lists_and_objects_in_csv_keep_their_json_text():
    # No field of today's exports holds a negative number; the writer must keep one a number.
    file = io.StringIO(newline="")
    columns = ("negative", "fraction", "flag", "listed", "object", "nothing", "text")
    write = rows.writer(file, "csv", columns)
    write(
        [
            {"negative": -2, "fraction": -0.5, "flag": True, "listed": ["=1+1"],
             "object": {"a": "-1"}, "nothing": None, "text": "-2"},
        ]
    )  # fmt: skip
    file.seek(0)
    (row,) = csv.DictReader(file)
    assert row == {
        "negative": "-2",
        "fraction": "-0.5",
        "flag": "true",
        "listed": '["=1+1"]',
        "object": '{"a": "-1"}',
        "nothing": "",
        "text": "'-2",  # a string from the data, though it looks like a number
    }


def test_exports_written_before_the_upgrade_say_their_formulas_were_not_neutralised(
    app, tenants, recruiter, redis_url, database_urls
):
    # The session's database, taken back to before migration 0010 and up again, as an
    # operator's upgrade would: the files written before it passed formulas through, while a CSV
    # still waiting for its file is written after it, by the neutralising writer.
    written = ok(recruiter.post("exports", {"what": "contractors", "format": "csv"}))
    run_jobs(app, redis_url)
    waiting = ok(recruiter.post("exports", {"what": "contractors", "format": "csv"}))
    migrator = make_app(database_urls.owner, redis_url)
    with migrator.app_context():
        try:
            downgrade(revision="0009")
        finally:
            upgrade()
            db.engine.dispose()
    assert recruiter.get(f"exports/{written['id']}").json["neutralise_formulas"] is False
    assert recruiter.get(f"exports/{waiting['id']}").json["neutralise_formulas"] is True
    after = ok(recruiter.post("exports", {"what": "contractors", "format": "csv"}))
    assert after["neutralise_formulas"] is True
