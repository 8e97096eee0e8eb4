"""A recruiter's writes on the portal, as the server answers them: contractors added and edited,
events recorded, amended and retracted, steps recorded and verified or rejected, decisions with
the assessment they were made on; each shows at once, and the assessment follows the worker.
Refused input is said beside its field and writes nothing; a viewer sees no control and a forged
write is refused; blockers and next steps read as sentences in English and in French. (Another
agency's ids are the 404 page on every route: tests/test_portal.py walks them.)"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from reputation import clock
from reputation.conduct.models import ConductEvent
from reputation.conduct.service import record_event
from reputation.contractors.models import Contractor
from reputation.contractors.service import create_contractor
from reputation.decisions.models import Decision
from reputation.extensions import db
from reputation.portal import labels
from reputation.rehabilitation.models import RehabilitationStep
from reputation.scoring.models import TrustSnapshot
from reputation.tenancy.scope import agency_scope
from reputation.trust.taxonomy import REHABILITATION_KINDS
from tests.conftest import count_rows, run_jobs
from tests.factories import make_evidence
from tests.test_portal import csrf_token, sign_in

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    """The service's clock, held: the pages and the jobs run in this process."""
    with clock.frozen(NOW):
        yield NOW


def client_of(app, email="recruiter@acme.test", language="en"):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    assert sign_in(client, email=email).status_code == 302
    return client


@pytest.fixture
def recruiter(app, tenants):
    return client_of(app)


@pytest.fixture
def viewer(app, tenants):
    return client_of(app, "viewer@acme.test")


def page_of(client, path):
    answer = client.get(path)
    assert answer.status_code == 200, path
    return answer.get_data(as_text=True)


def post_form(client, path, prefix, fields, page_path=None):
    """Post a form of the page at `page_path` (else at `path`) as a browser does: with the
    page's CSRF token, every field under the form's prefix."""
    html = page_of(client, page_path or path)
    name = f"{prefix}-csrf_token" if prefix else "csrf_token"
    data = {f"{prefix}-{key}" if prefix else key: value for key, value in fields.items()}
    return client.post(path, data={**data, name: csrf_token(html, name)})


def text_of(html):
    """The page's words, without its markup and with its spaces folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def an_incident(app, tenant, kind="costly_mistake", severity=4, days_ago=400, name="Alex Doe"):
    """A contractor of `tenant` with one incident, as the API would record it."""
    with app.app_context(), agency_scope(tenant.agency_id):
        contractor = create_contractor(name, "alex@example.com")
        event = record_event(
            contractor,
            {
                "kind": kind,
                "severity": severity,
                "occurred_at": clock.now() - timedelta(days=days_ago),
                "summary": "Deleted the client's production data",
            },
        )
        ids = {"contractor_id": contractor.id, "event_id": event.id}
        db.session.commit()
    return ids


def rows(app, tenant, model, **where):
    with app.app_context(), agency_scope(tenant.agency_id):
        found = db.session.scalars(
            select(model).filter_by(**where).options(selectinload("*"))
        ).all()
        db.session.expunge_all()  # read as they are now, and no longer tied to the session
        return found


def polls(html):
    """Whether the assessment's part of the page asks for itself again."""
    live = re.search(r'<div id="assessment-live"[^>]*>', html).group(0)
    return 'hx-trigger="every 1s"' in live


# Contractors


def test_a_recruiter_adds_a_contractor_and_edits_their_details(app, tenants, recruiter):
    assert 'href="/contractors/new"' in page_of(recruiter, "/contractors")
    added = post_form(
        recruiter,
        "/contractors/new",
        "",
        {"name": "Jo Martin", "email": "Jo@Example.com", "external_ref": "ats-7",
         "tags": "python, Rust ,"},
    )  # fmt: skip
    assert added.status_code == 302
    (contractor,) = rows(app, tenants[0], Contractor, name="Jo Martin")
    assert added.headers["Location"] == f"/contractors/{contractor.id}"
    assert (contractor.email, contractor.external_ref, contractor.tags) == (
        "jo@example.com", "ats-7", ["python", "rust"],
    )  # fmt: skip
    page = text_of(page_of(recruiter, added.headers["Location"]))
    assert "The contractor Jo Martin is added." in page and "python, rust" in page

    edit = f"/contractors/{contractor.id}/edit"
    form = page_of(recruiter, edit)
    assert 'value="Jo Martin"' in form and 'value="python, rust"' in form
    saved = post_form(
        recruiter,
        edit,
        "",
        {"name": "Jo Martin-Lee", "email": "", "external_ref": "ats-7", "tags": "python",
         "status": "archived", "version": str(contractor.version)},
    )  # fmt: skip
    assert saved.status_code == 302
    (contractor,) = rows(app, tenants[0], Contractor, id=contractor.id)
    assert (contractor.name, contractor.email, contractor.tags, contractor.status) == (
        "Jo Martin-Lee", None, ["python"], "archived",
    )  # fmt: skip


def test_a_refused_contractor_is_said_beside_its_fields_and_nothing_is_added(
    app, tenants, recruiter
):
    make_evidence(app, tenants[0])  # Sam Contractor, external reference ats-acme
    before = count_rows(app, Contractor)
    answer = post_form(
        recruiter, "/contractors/new", "", {"name": " ", "email": "not an address", "tags": ""}
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert re.search(r'id="name-errors" class="error">[^<]+<', html)
    assert 'id="email-errors" class="error">Not a valid email address.<' in html
    assert 'value="not an address"' in html  # what was typed is kept
    taken = post_form(
        recruiter, "/contractors/new", "", {"name": "Sam", "external_ref": "ats-acme"}
    )
    assert taken.status_code == 422
    assert "Another contractor has this external reference." in taken.get_data(as_text=True)
    assert count_rows(app, Contractor) == before


def test_an_edit_made_on_a_stale_page_is_refused_and_says_so(app, tenants, recruiter):
    ids = make_evidence(app, tenants[0])
    edit = f"/contractors/{ids['contractor_id']}/edit"
    (contractor,) = rows(app, tenants[0], Contractor, id=ids["contractor_id"])
    first = {"name": "Sam A", "email": "", "external_ref": "", "tags": "", "status": "active",
             "version": str(contractor.version)}  # fmt: skip
    assert post_form(recruiter, edit, "", first).status_code == 302
    late = post_form(recruiter, edit, "", {**first, "name": "Sam B"})
    assert late.status_code == 409
    assert "Someone changed this contractor meanwhile" in late.get_data(as_text=True)
    assert rows(app, tenants[0], Contractor, id=ids["contractor_id"])[0].name == "Sam A"


# Events


def test_an_event_shows_at_once_and_the_assessment_follows_the_worker(
    app, tenants, recruiter, redis_url, frozen
):
    with app.app_context(), agency_scope(tenants[0].agency_id):
        contractor_id = create_contractor("Robin").id
        db.session.commit()
    path = f"/contractors/{contractor_id}"
    # Nothing recorded, nothing on its way: the page does not poll.
    assert not polls(page_of(recruiter, path))
    recorded = post_form(
        recruiter,
        f"{path}/events/new",
        "",
        {"kind": "rudeness", "severity": "", "occurred_at": "2026-05-30T09:30",
         "summary": "Shouted at the client", "source": "client",
         "evidence_urls": "https://tickets.example/1\r\n"},
    )  # fmt: skip
    assert (recorded.status_code, recorded.headers["Location"]) == (302, path)
    (event,) = rows(app, tenants[0], ConductEvent)
    assert (event.severity, event.occurred_at, event.source, event.evidence_urls) == (
        2, datetime(2026, 5, 30, 9, 30, tzinfo=UTC), "client", ["https://tickets.example/1"],
    )  # fmt: skip
    page = page_of(recruiter, path)
    assert "The event is recorded." in page and "Shouted at the client" in page
    assert polls(page) and "the assessment is being updated" in page
    partial = page_of(recruiter, f"{path}/assessment")
    assert polls(partial) and 'data-chart=\'{"computed_at": null' in partial

    run_jobs(app, redis_url)
    partial = page_of(recruiter, f"{path}/assessment")
    assert not polls(partial)
    assert "Caution" in partial and "being updated" not in partial
    assert f'"computed_at": "{NOW.isoformat()}"' in partial
    # The decision's form hears of it too, out of band.
    assert re.search(r'<p id="decision-basis" hx-swap-oob="true">', partial)


def test_a_refused_event_is_said_beside_its_fields_and_nothing_is_recorded(app, tenants, recruiter):
    ids = make_evidence(app, tenants[0])
    record = f"/contractors/{ids['contractor_id']}/events/new"
    assert f'href="{record}"' in page_of(recruiter, f"/contractors/{ids['contractor_id']}")
    answer = post_form(
        recruiter,
        record,
        "",
        {"kind": "rudeness", "occurred_at": "2999-01-01T10:00", "summary": "",
         "evidence_urls": "ftp://files.example/x", "source": "agency"},
    )  # fmt: skip
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="occurred_at-errors" class="error">This is in the future.<' in html
    assert re.search(r'id="summary-errors" class="error">[^<]+<', html)
    assert "Not an http:// or https:// address of printable ASCII: ftp://files.example/x" in html
    assert 'value="2999-01-01T10:00"' in html  # what was typed is kept
    forged = post_form(
        recruiter, record, "",
        {"kind": "kindness", "occurred_at": "2025-01-01T10:00", "summary": "x", "source": "agency"},
    )  # fmt: skip
    assert forged.status_code == 422
    assert len(rows(app, tenants[0], ConductEvent)) == 1


def test_the_event_form_lists_each_kind_with_what_it_records_and_its_severity(
    app, tenants, recruiter
):
    ids = make_evidence(app, tenants[0])
    form = text_of(page_of(recruiter, f"/contractors/{ids['contractor_id']}/events/new"))
    incidents, good = form.split("Good conduct")
    assert (
        "Unethical conduct — unethical or extremely unprofessional conduct: the burned bridge "
        "(critical by default)" in incidents
    )
    assert "Mistake owned — raised and owned their own mistake promptly (moderate by default)" in (
        good
    )
    assert "4 — severe" in form and "Default for the kind" in form


def test_retracting_an_event_needs_a_reason_and_the_timeline_keeps_it(app, tenants, recruiter):
    ids = make_evidence(app, tenants[0])
    path = f"/contractors/{ids['contractor_id']}"
    retract = f"/events/{ids['event_id']}/retract"
    assert f'href="{retract}"' in page_of(recruiter, path)
    assert "Stopped answering during the final interview round" in page_of(recruiter, retract)
    refused = post_form(recruiter, retract, "", {"reason": " "})
    assert refused.status_code == 422
    assert re.search(r'id="reason-errors" class="error">', refused.get_data(as_text=True))
    assert rows(app, tenants[0], ConductEvent)[0].status == "active"

    done = post_form(recruiter, retract, "", {"reason": "Recorded against the wrong person"})
    assert (done.status_code, done.headers["Location"]) == (302, path)
    page = text_of(page_of(recruiter, path))
    assert "The event is retracted." in page
    assert "retracted Recorded by" in page
    assert "Retracted by recruiter@acme.test on" in page
    assert "Recorded against the wrong person" in page
    # A retracted event has no controls left, and cannot be retracted again.
    assert f'href="{retract}"' not in page_of(recruiter, path)
    assert recruiter.get(retract).status_code == 409


def test_amending_an_event_keeps_the_old_version_with_the_reason(app, tenants, recruiter):
    ids = make_evidence(app, tenants[0])
    path = f"/contractors/{ids['contractor_id']}"
    amend = f"/events/{ids['event_id']}/amend"
    form = page_of(recruiter, amend)
    # Filled with the event as recorded; an incident may only become another incident.
    assert 'value="Stopped answering during the final interview round"' in form
    assert re.search(r'<input checked [^>]*value="ghosting">', form)
    assert 'value="2025-03-01T00:00"' in form
    assert 'value="commitment_kept"' not in form
    fields = {"kind": "ghosting", "severity": "2", "occurred_at": "2025-03-01T00:00",
              "summary": "Stopped answering during the final interview round", "details": "",
              "source": "agency", "evidence_urls": "", "reason": ""}  # fmt: skip
    unchanged = post_form(recruiter, amend, "", fields)
    assert unchanged.status_code == 422
    assert "An amendment changes at least one field." in unchanged.get_data(as_text=True)
    positive = post_form(recruiter, amend, "", {**fields, "kind": "commitment_kept"})
    assert positive.status_code == 422

    done = post_form(recruiter, amend, "", {**fields, "severity": "3", "reason": "Worse than said"})
    assert (done.status_code, done.headers["Location"]) == (302, path)
    old, new = sorted(rows(app, tenants[0], ConductEvent), key=lambda e: e.recorded_at)
    assert (old.status, old.status_reason, new.supersedes_id) == (
        "superseded", "Worse than said", old.id,
    )  # fmt: skip
    # The time sent back as shown, to the minute, is the time recorded.
    assert (new.severity, new.occurred_at) == (3, old.occurred_at)
    page = text_of(page_of(recruiter, path))
    assert "The event is amended." in page
    assert "(major) — Stopped answering during the final interview round amended" in page
    assert "Why: Worse than said" in page
    assert "superseded" in page and "Superseded by an amendment of" in page


# Steps


def test_a_step_addresses_a_counting_incident_and_is_verified(app, tenants, recruiter):
    ids = an_incident(app, tenants[0], days_ago=30)
    with app.app_context(), agency_scope(tenants[0].agency_id):
        contractor = db.session.get(Contractor, (tenants[0].agency_id, ids["contractor_id"]))
        praise = record_event(
            contractor,
            {"kind": "client_commendation", "occurred_at": clock.now() - timedelta(days=3),
             "summary": "Praised by the client"},
        )  # fmt: skip
        praise_id = praise.id
        db.session.commit()
    path = f"/contractors/{ids['contractor_id']}"
    form = page_of(recruiter, f"{path}/steps/new")
    choices = re.search(r'<select[^>]*id="addresses_event_id".*?</select>', form, re.S)
    assert str(ids["event_id"]) in choices.group(0)
    assert str(praise_id) not in choices.group(0)  # a step addresses an incident only
    assert "Acknowledgement — took responsibility and apologised" in form

    recorded = post_form(
        recruiter,
        f"{path}/steps/new",
        "",
        {"kind": "outreach", "addresses_event_id": str(ids["event_id"]),
         "occurred_at": (clock.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
         "unsolicited": "y", "description": "Called the client to apologise", "source": "agency"},
    )  # fmt: skip
    assert recorded.status_code == 302
    (step,) = rows(app, tenants[0], RehabilitationStep)
    assert (step.kind, step.addresses_event_id, step.unsolicited, step.status) == (
        "outreach", ids["event_id"], True, "pending",
    )  # fmt: skip
    page = text_of(page_of(recruiter, path))
    assert "The step is recorded, pending verification." in page
    assert "Outreach — Called the client to apologise pending unsolicited" in page
    assert "It addresses the incident of" in page

    prefix = f"verify-{step.id}"
    verified = post_form(
        recruiter, f"/steps/{step.id}/verify", prefix,
        {"decision": "verified", "note": "The client confirmed"}, page_path=path,
    )  # fmt: skip
    assert verified.status_code == 302
    (step,) = rows(app, tenants[0], RehabilitationStep)
    assert (step.status, step.verified_by, step.verification_note) == (
        "verified", "recruiter@acme.test", "The client confirmed",
    )  # fmt: skip
    page = text_of(page_of(recruiter, path))
    assert "The step is verified." in page
    assert "Verified by recruiter@acme.test on" in page and "Note: The client confirmed" in page
    assert f'action="/steps/{step.id}/verify"' not in page_of(recruiter, path)


def test_a_step_may_be_rejected_and_a_verdict_needs_a_button(app, tenants, recruiter):
    ids = make_evidence(app, tenants[0])
    path, step_id = f"/contractors/{ids['contractor_id']}", ids["step_id"]
    prefix = f"verify-{step_id}"
    nothing = post_form(recruiter, f"/steps/{step_id}/verify", prefix, {"note": ""}, path)
    assert nothing.status_code == 422
    assert "Choose: verify or reject." in nothing.get_data(as_text=True)
    rejected = post_form(
        recruiter, f"/steps/{step_id}/verify", prefix,
        {"decision": "rejected", "note": "Nobody could confirm it"}, path,
    )  # fmt: skip
    assert rejected.status_code == 302
    assert rows(app, tenants[0], RehabilitationStep)[0].status == "rejected"
    page = text_of(page_of(recruiter, path))
    assert "rejected" in page and "Rejected by recruiter@acme.test on" in page


def test_a_step_before_its_incident_is_refused_beside_the_incident(app, tenants, recruiter):
    ids = make_evidence(app, tenants[0])  # the incident on 1 March 2025
    path = f"/contractors/{ids['contractor_id']}"
    answer = post_form(
        recruiter, f"{path}/steps/new", "",
        {"kind": "acknowledgement", "addresses_event_id": str(ids["event_id"]),
         "occurred_at": "2025-02-01T10:00", "source": "agency"},
    )  # fmt: skip
    assert answer.status_code == 422
    assert re.search(
        r'id="addresses_event_id-errors" class="error">A step addresses an event that '
        r"occurred before the step.<",
        answer.get_data(as_text=True),
    )
    assert len(rows(app, tenants[0], RehabilitationStep)) == 1


# Decisions


def test_a_decision_is_saved_with_the_assessment_the_form_showed(
    app, tenants, recruiter, redis_url, frozen
):
    ids = an_incident(app, tenants[0])
    run_jobs(app, redis_url)
    path = f"/contractors/{ids['contractor_id']}"
    page = text_of(page_of(recruiter, path))
    shown = re.search(r"Saved with the decision, the assessment as it stands: (.*?)\. ", page)
    assert shown.group(1) == "Caution , trust 0.26, eligible from Apr 26, 2032"
    refused = post_form(recruiter, f"{path}/decisions", "decision", {"decision": "engage"}, path)
    assert refused.status_code == 422
    assert count_rows(app, Decision) == 0
    done = post_form(
        recruiter, f"{path}/decisions", "decision",
        {"decision": "probation", "reason": "A trial on a small project first"}, path,
    )  # fmt: skip
    assert done.status_code == 302
    (decision,) = rows(app, tenants[0], Decision)
    assert (decision.decision, decision.assessment["band"], decision.assessment["pending"]) == (
        "probation", "caution", False,
    )  # fmt: skip
    page = text_of(page_of(recruiter, path))
    assert "Engage on probation — A trial on a small project first" in page
    assert (
        "Decision by recruiter@acme.test. The assessment then: Caution, trust 0.26, eligible from "
        "Apr 26, 2032." in page
    )


# Who may


def test_a_viewer_sees_no_write_control_and_a_forged_write_changes_nothing(
    app, tenants, recruiter, viewer
):
    ids = make_evidence(app, tenants[0])
    path = f"/contractors/{ids['contractor_id']}"
    page = page_of(viewer, path)
    # The only form a viewer has is signing out.
    assert re.findall(r'<form method="post" action="([^"]+)"', page) == ["/sign-out"]
    assert "Edit the contractor" not in page and "Record a decision" not in page
    assert 'href="/contractors/new"' not in page_of(viewer, "/contractors")
    assert 'id="decision-basis"' not in page_of(viewer, f"{path}/assessment")

    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
    writes = {
        "/contractors/new": {"name": "Forged"},
        f"{path}/edit": {"name": "Forged"},
        f"{path}/events/new": {"kind": "rudeness", "summary": "Forged",
                               "occurred_at": "2025-05-01T10:00", "source": "agency"},
        f"{path}/steps/new": {"kind": "training", "occurred_at": "2025-05-01T10:00"},
        f"/events/{ids['event_id']}/retract": {"reason": "Forged"},
        f"/events/{ids['event_id']}/amend": {"summary": "Forged"},
        f"/steps/{ids['step_id']}/verify": {f"verify-{ids['step_id']}-decision": "verified"},
        f"{path}/decisions": {"decision-decision": "engage", "decision-reason": "Forged"},
    }  # fmt: skip
    for address, data in writes.items():
        answer = viewer.post(address, data={**data, "csrf_token": token})
        assert answer.status_code == 403, address
        assert "Only recruiters, admins and owners" in answer.get_data(as_text=True)
    event = f"/events/{ids['event_id']}"
    for address in ("/contractors/new", f"{path}/edit", f"{path}/events/new",
                    f"{path}/steps/new", f"{event}/amend", f"{event}/retract"):  # fmt: skip
        assert viewer.get(address).status_code == 403
    assert (count_rows(app, Contractor), count_rows(app, ConductEvent)) == (1, 1)
    assert rows(app, tenants[0], RehabilitationStep)[0].status == "pending"
    assert count_rows(app, Decision) == 0


# Plain words


def test_blockers_and_next_steps_read_as_sentences_in_english(
    app, tenants, recruiter, redis_url, frozen
):
    ids = an_incident(app, tenants[0], days_ago=30)  # a severe costly mistake on 2 May 2026
    run_jobs(app, redis_url)
    page = text_of(page_of(recruiter, f"/contractors/{ids['contractor_id']}"))
    assert "Trust 0.17 is below the eligibility threshold of 0.45." in page
    assert (
        "The severe incident of 2 May 2026 (Costly mistake) has no verified acknowledgement."
        in page
    )
    assert (
        "The incident of 2 May 2026 (Costly mistake) is in its cooling-off period until "
        "29 October 2026." in page
    )
    # TRUST_MODEL.md §6: the acknowledgement brings eligibility forward; no other step alone.
    said = re.search(
        r"A verified acknowledgement addressing the incident of 2 May 2026 \(Costly mistake\) "
        r"would make them eligible ([\d,]+) days sooner, on (\d+ \w+ \d{4})\.",
        page,
    )
    assert said, page
    with app.app_context(), agency_scope(tenants[0].agency_id):
        snapshot = db.session.get(TrustSnapshot, (tenants[0].agency_id, ids["contractor_id"]))
        ours = next(s for s in snapshot.next_steps if s["kind"] == "acknowledgement")
        db.session.rollback()
    assert int(said.group(1).replace(",", "")) == ours["days_earlier"]
    assert "On its own, none of these would bring the date forward: Follow-up," in page
    assert "the incident of" in page and "Costly mistake" in page


def test_blockers_and_next_steps_read_as_sentences_in_french(app, tenants, redis_url, frozen):
    ids = an_incident(app, tenants[0], days_ago=30)
    run_jobs(app, redis_url)
    french = client_of(app, language="fr")
    page = text_of(page_of(french, f"/contractors/{ids['contractor_id']}"))
    assert "La confiance, 0,17, est inférieure au seuil d'éligibilité de 0,45." in page
    assert (
        "L'incident grave du 2 mai 2026 (Erreur coûteuse) n'a pas de reconnaissance vérifiée."
        in page
    )
    cooling_off = "L'incident du 2 mai 2026 (Erreur coûteuse) est en période d'attente jusqu'au"
    assert f"{cooling_off} 29 octobre 2026." in page
    assert re.search(
        r"Une reconnaissance vérifiée portant sur l'incident du 2 mai 2026 \(Erreur coûteuse\) "
        r"avancerait l'éligibilité de [\d ]+ jours, au \d+ \w+ \d{4}\.",
        page,
    ), page


def test_every_kind_of_step_has_its_words_and_one_day_is_one_day(app):
    assert set(labels.VERIFIED_STEPS) == set(REHABILITATION_KINDS)
    step = {"blocker": "trust_below_threshold", "kind": "training", "addresses_event_id": None,
            "lifts_blocker_now": True, "eligible_from": "2026-06-03",
            "days_earlier": 1}  # fmt: skip
    for language, said in (
        ("en", "Verified training would make them eligible 1 day sooner, on 3 June 2026."),
        ("fr", "Une formation vérifiée avancerait l'éligibilité de 1 jour, au 3 juin 2026."),
    ):
        with app.test_request_context(headers={"Accept-Language": language}):
            advice = labels.next_step_advice([step], {}, date(2026, 6, 4), date(2026, 6, 1))
            assert advice == [labels.Advice([said])]


def test_next_steps_for_one_incident_name_it_once(app):
    ghosting = SimpleNamespace(
        kind="ghosting", severity=4, occurred_at=datetime(2025, 3, 3, 15, tzinfo=UTC)
    )
    steps = [
        {"blocker": "unacknowledged_severe_incident", "kind": "acknowledgement",
         "addresses_event_id": "e1", "lifts_blocker_now": True, "eligible_from": "2026-01-01",
         "days_earlier": 120},
        {"blocker": "trust_below_threshold", "kind": "acknowledgement",
         "addresses_event_id": "e1", "lifts_blocker_now": False, "eligible_from": "2026-01-01",
         "days_earlier": 120},
        {"blocker": "trust_below_threshold", "kind": "probation_completed",
         "addresses_event_id": "e1", "lifts_blocker_now": True, "eligible_from": "2026-05-01",
         "days_earlier": None},
        {"blocker": "trust_below_threshold", "kind": "training", "addresses_event_id": "e1",
         "lifts_blocker_now": False, "eligible_from": "2026-05-01", "days_earlier": None},
    ]  # fmt: skip
    with app.test_request_context(headers={"Accept-Language": "en"}):
        one = labels.next_step_advice(
            steps[:1], {"e1": ghosting}, date(2026, 5, 1), date(2025, 6, 1)
        )
        several = labels.next_step_advice(
            steps, {"e1": ghosting}, date(2026, 5, 1), date(2025, 6, 1)
        )
    assert one == [labels.Advice([
        "A verified acknowledgement addressing the incident of 3 March 2025 (Ghosting) would make "
        "them eligible 120 days sooner, on 1 January 2026."
    ])]  # fmt: skip
    assert several == [
        labels.Advice(
            ["A verified acknowledgement would make them eligible 120 days sooner, on 1 January "
             "2026.",
             "A verified completed probation would bring trust up to the threshold, though on "
             "its own it would not bring the date forward."],
            lead="For the incident of 3 March 2025 (Ghosting):",
        ),
        labels.Advice(["On its own, none of these would bring the date forward: Training."]),
    ]  # fmt: skip


def test_the_list_filters_by_tag_and_status_and_sorts(app, tenants, recruiter):
    with app.app_context(), agency_scope(tenants[0].agency_id):
        create_contractor("Alice Archived", None, None, ["Java"], status="archived")
        create_contractor("Bob Java", None, None, ["java", "sql"])
        create_contractor("Carla Go", None, None, ["go"])
        db.session.commit()

    def names(**query):
        page = recruiter.get("/contractors", query_string=query).get_data(as_text=True)
        return re.findall(r'<a href="/contractors/[0-9a-f-]{36}">([^<]+)</a>', page)

    assert names(tag="JAVA ") == ["Alice Archived", "Bob Java"]
    assert names(tag="java", status="active") == ["Bob Java"]
    assert names(status="archived") == ["Alice Archived"]
    assert names(order="-name") == ["Carla Go", "Bob Java", "Alice Archived"]
    assert names(order="name") == ["Alice Archived", "Bob Java", "Carla Go"]
    # An order that is not offered is the form's error, not a 500.
    refused = recruiter.get("/contractors", query_string={"order": "id; drop"})
    assert refused.status_code == 200 and "Not a valid choice" in refused.get_data(as_text=True)
