"""Contractors: created, searched, and changed only by a writer who read the latest version."""

from __future__ import annotations

import pytest

from tests.conftest import Api, login
from tests.factories import PASSWORD


@pytest.fixture
def recruiter(app, tenants):
    return login(app, "acme", "recruiter@acme.test", PASSWORD)


def add(api, **fields):
    body = {"name": "Alex Doe", **fields}
    response = api.post("contractors", body)
    assert response.status_code == 201, response.json
    return response


def test_recruiter_adds_a_contractor_and_reads_it_back(recruiter):
    created = add(recruiter, email="Alex@Example.com", external_ref="ATS-1", tags=["Python", "go"])
    body = created.json
    assert body["email"] == "alex@example.com"
    assert body["tags"] == ["go", "python"]
    assert body["status"] == "active"
    read = recruiter.get(f"contractors/{body['id']}")
    assert read.json == body
    assert read.headers["ETag"] == created.headers["ETag"]


def test_search_by_name_email_reference_and_tag(recruiter):
    add(recruiter, name="Ada Lovelace", email="ada@example.com", external_ref="A-1", tags=["math"])
    add(recruiter, name="Grace Hopper", email="grace@navy.test", external_ref="G-1", tags=["cobol"])
    add(recruiter, name="100% Done", external_ref="P-1")

    def names(query):
        return [c["name"] for c in recruiter.get(f"contractors?{query}").json["items"]]

    assert names("q=lovel") == ["Ada Lovelace"]
    assert names("q=NAVY") == ["Grace Hopper"]
    assert names("q=g-1") == ["Grace Hopper"]
    assert names("q=%25") == ["100% Done"]  # a literal percent sign, not a wildcard
    assert names("tag=COBOL") == ["Grace Hopper"]
    assert names("external_ref=A-1") == ["Ada Lovelace"]
    assert names("email=ada@example.com") == ["Ada Lovelace"]
    assert len(names("")) == 3


def test_search_matches_within_one_field_never_across_two(recruiter):
    # The search reads one stored text, name|email|reference (contractors.models.SEARCH_TEXT).
    created = add(recruiter, name="Ada Lovelace", email="ada@example.com", external_ref="A-1")
    add(recruiter, name="Left|Right")
    add(recruiter, name="Tim O'Reilly", email="back\\slash@example.com")

    def names(q):
        found = recruiter.get("contractors", query_string={"q": q}).json["items"]
        return [contractor["name"] for contractor in found]

    assert names("lovelace|ada") == []  # the end of the name and the start of the email
    assert names("example.com|a-1") == []
    assert names("t|r") == ["Left|Right"]
    assert names("|") == ["Left|Right"]
    assert names("o'rei") == ["Tim O'Reilly"]  # the text is quoted into the SQL
    assert names("k\\s") == ["Tim O'Reilly"]
    assert names("'; --") == []
    recruiter.patch(f"contractors/{created.json['id']}", {"name": "Ada King"})
    assert names("king") == ["Ada King"]  # the stored text follows the row
    assert names("lovelace") == []


def test_external_ref_is_unique_within_an_agency_only(app, recruiter):
    add(recruiter, external_ref="ATS-7")
    duplicate = recruiter.post("contractors", {"name": "Other", "external_ref": "ATS-7"})
    assert duplicate.status_code == 409
    assert duplicate.json["errors"][0]["field"] == "external_ref"
    other_agency = login(app, "globex", "recruiter@globex.test", PASSWORD)
    add(other_agency, external_ref="ATS-7")


def test_stale_write_is_412_and_changes_nothing(recruiter):
    created = add(recruiter)
    path = f"contractors/{created.json['id']}"
    etag = created.headers["ETag"]
    first = recruiter.patch(path, {"name": "Alex Smith"}, headers={"If-Match": etag})
    assert first.status_code == 200
    assert first.headers["ETag"] != etag
    stale = recruiter.patch(path, {"name": "Alex Jones"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.mimetype == "application/problem+json"
    assert recruiter.get(path).json["name"] == "Alex Smith"


def test_changing_tags_alone_moves_the_etag(recruiter):
    created = add(recruiter, tags=["a"])
    path = f"contractors/{created.json['id']}"
    changed = recruiter.patch(
        path, {"tags": ["b", "c"]}, headers={"If-Match": created.headers["ETag"]}
    )
    assert changed.json["tags"] == ["b", "c"]
    assert changed.headers["ETag"] != created.headers["ETag"]


def test_readers_read_and_writers_write(app, tenants, client, recruiter):
    acme, _ = tenants
    add(recruiter)
    read_key = Api(client, acme.read_key)
    assert read_key.get("contractors").json["total"] == 1
    refused = read_key.post("contractors", {"name": "Nope"})
    assert refused.status_code == 403
    viewer = login(app, "acme", "viewer@acme.test", PASSWORD)
    assert viewer.post("contractors", {"name": "Nope"}).status_code == 403
    assert Api(client, acme.write_key).post("contractors", {"name": "Via ATS"}).status_code == 201
    assert read_key.get("contractors").json["total"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "email": "not an email"}, "email"),
        ({"name": "x", "tags": ["t" * 51]}, "tags.0"),
        ({"name": "x", "status": "deleted"}, "status"),
    ],
)
def test_invalid_contractor_is_422(recruiter, body, field):
    response = recruiter.post("contractors", body)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json["errors"]}
    assert recruiter.get("contractors").json["total"] == 0


def test_the_never_assessed_are_found_whether_or_not_others_are(app, tenants, recruiter, redis_url):
    # With a contractor never assessed, the band and eligibility filters join the snapshots
    # outward; with every contractor assessed, they read the snapshots alone: the same answers.
    import uuid

    from reputation.contractors.models import Contractor
    from reputation.extensions import db
    from reputation.scoring.service import recompute
    from reputation.tenancy.scope import agency_scope
    from tests.conftest import run_jobs

    fresh = add(recruiter, name="Fresh").json
    rude = add(recruiter, name="Rude").json
    recruiter.post(
        f"contractors/{rude['id']}/events",
        {"kind": "rudeness", "occurred_at": "2026-01-05T10:00:00Z", "summary": "Shouted"},
    )
    run_jobs(app, redis_url)

    def found():
        return {
            query: (page["total"], [c["name"] for c in page["items"]])
            for query in ("band=insufficient_evidence", "eligible=true", "eligible=false")
            for page in [recruiter.get(f"contractors?{query}&per_page=1").json]
        }

    expected = {
        "band=insufficient_evidence": (1, ["Fresh"]),
        "eligible=true": (1, ["Fresh"]),
        "eligible=false": (1, ["Rude"]),
    }
    assert found() == expected
    with app.app_context(), agency_scope(tenants[0].agency_id):
        recompute(db.session.get(Contractor, (tenants[0].agency_id, uuid.UUID(fresh["id"]))))
        db.session.commit()
    assert found() == expected
