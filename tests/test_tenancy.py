"""Agencies never see each other: the API, the ORM filter, and PostgreSQL's row-level security."""

from __future__ import annotations

import re
import uuid

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from reputation.audit.models import AuditEntry
from reputation.contractors.models import Contractor, ContractorTag
from reputation.extensions import db
from reputation.tenancy.models import User
from reputation.tenancy.scope import CrossTenantWrite, agency_scope
from tests.conftest import Api, login
from tests.factories import PASSWORD, make_evidence, make_export, make_webhook, objects_of

# Bodies that pass validation, for routes whose body is checked before the object is looked up.
# A route that takes a body with required fields adds one here.
EVENT = {"kind": "rudeness", "occurred_at": "2025-01-01T00:00:00Z", "summary": "x"}
VALID_BODIES: dict[tuple[str, str], dict] = {
    ("post", "/api/v1/contractors/{contractor_id}/events"): EVENT,
    ("post", "/api/v1/contractors/{contractor_id}/rehabilitation"): {
        "kind": "outreach",
        "occurred_at": "2025-06-01T00:00:00Z",
    },
    ("post", "/api/v1/contractors/{contractor_id}/decisions"): {
        "decision": "engage",
        "reason": "x",
    },
    ("post", "/api/v1/events/{event_id}/retract"): {"reason": "x"},
    ("post", "/api/v1/rehabilitation/{step_id}/verify"): {"decision": "verified"},
    ("post", "/api/v1/webhooks/endpoints/{endpoint_id}/recover"): {"since": "2025-01-01T00:00:00Z"},
    ("post", "/api/v1/disputes/{dispute_id}/resolve"): {"outcome": "upheld", "reason": "x"},
    ("post", "/api/v1/contractors/{contractor_id}/reference-requests"): {
        "referee_name": "x",
        "referee_email": "ann@client.example",
        "relationship": "x",
    },
    ("post", "/api/v1/erasure-requests/{erasure_request_id}/refuse"): {"reason": "x"},
}


def test_every_route_answers_404_for_another_agencys_objects(app, tenants, client):
    acme, _ = tenants
    spec = client.get("/api/v1/openapi.json").json
    globex_owner = login(app, "globex", "owner@globex.test", PASSWORD)
    acme_objects = objects_of(app, acme)
    walked = []
    for path, operations in spec["paths"].items():
        names = re.findall(r"{(\w+)}", path)
        if not names or path.startswith("/api/v1/me/"):
            continue  # a contractor's own routes refuse staff outright (tests/test_persons.py)
        unknown = [name for name in names if name not in acme_objects]
        assert not unknown, f"{path}: add an object for {unknown} to objects_of()"
        url = path.format(**acme_objects)
        for method in operations:
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            body = VALID_BODIES.get((method, path), {}) if method != "get" else None
            response = globex_owner.request(method.upper(), url, body)
            assert response.status_code == 404, (method, path, response.json)
            assert response.mimetype == "application/problem+json"
            walked.append((method, path))
    assert len(walked) >= 12
    # Nothing of acme's was touched on the way.
    assert Api(client, acme.write_key).get("auth/me").status_code == 200
    acme_owner = login(app, "acme", "owner@acme.test", PASSWORD)
    recruiter = acme_owner.get(f"users/{acme.users['recruiter']}").json
    assert recruiter["active"] is True
    event = acme_owner.get(f"events/{acme_objects['event_id']}").json
    assert (event["status"], len(event["history"])) == ("active", 1)
    steps = acme_owner.get(f"contractors/{acme_objects['contractor_id']}/rehabilitation").json
    assert [s["status"] for s in steps["items"]] == ["pending"]
    assert (
        acme_owner.get(f"contractors/{acme_objects['contractor_id']}/decisions").json["total"] == 0
    )


def test_lists_show_only_the_callers_agency(app, tenants):
    acme, _ = tenants
    owner = login(app, "globex", "owner@globex.test", PASSWORD)
    emails = {user["email"] for user in owner.get("users").json["items"]}
    assert emails and all(email.endswith("@globex.test") for email in emails)
    audit = owner.get("audit?per_page=100").json["items"]
    acme_ids = {str(i) for i in acme.users.values()}
    assert audit and not {entry["object_id"] for entry in audit} & acme_ids


def test_orm_queries_see_only_the_agency_in_scope(app, tenants):
    acme, globex = tenants
    with app.app_context():
        with agency_scope(acme.agency_id):
            emails = db.session.scalars(select(User.email)).all()
            assert emails and all(e.endswith("@acme.test") for e in emails)
            # Even naming the other agency explicitly finds nothing.
            other = select(func.count()).select_from(User).where(User.agency_id == globex.agency_id)
            assert db.session.scalar(other) == 0
        # With no agency in scope, a query reads no one's data.
        assert db.session.scalars(select(User)).all() == []
        db.session.rollback()


def test_a_row_cannot_be_written_into_another_agency(app, tenants):
    acme, globex = tenants
    with app.app_context(), agency_scope(acme.agency_id):
        db.session.add(
            AuditEntry(
                agency_id=globex.agency_id,
                actor_type="system",
                action="sneak",
                object_type="x",
                object_id="1",
            )
        )
        with pytest.raises(CrossTenantWrite):
            db.session.flush()
        db.session.rollback()


def test_composite_foreign_key_refuses_a_reference_into_another_agency(app, tenants):
    acme, globex = tenants
    with app.app_context():
        # Bypass the ORM checks: the database itself must refuse.
        statement = text(
            "INSERT INTO api_keys (agency_id, id, name, prefix, key_hash, scopes, created_by_id, "
            "created_at) VALUES (:agency, :id, 'x', 'x', 'x', '[]', :user, CURRENT_TIMESTAMP)"
        )
        params = {"agency": acme.agency_id, "id": uuid.uuid4(), "user": globex.users["owner"]}
        if db.engine.dialect.name == "sqlite":
            params = {k: v.hex for k, v in params.items()}
        with pytest.raises(IntegrityError), agency_scope(acme.agency_id):
            db.session.execute(statement, params)
        db.session.rollback()


@pytest.mark.postgresql_only
def test_row_level_security_hides_other_agencies_from_raw_sql(app, tenants, database_url):
    acme, globex = tenants
    for tenant in tenants:
        make_evidence(app, tenant)
        make_export(app, tenant)
        make_webhook(app, tenant)
        with app.app_context(), agency_scope(tenant.agency_id):
            contractor = db.session.scalar(select(Contractor))
            contractor.tag_rows = [ContractorTag(tag="python")]
            db.session.commit()
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        is_superuser, bypasses = connection.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert not is_superuser and not bypasses
        tables = [
            "users",
            "api_keys",
            "audit_entries",
            "outbox_messages",
            "idempotency_records",
            "contractors",
            "contractor_tags",
            "conduct_events",
            "rehabilitation_steps",
            "decisions",
            "imports",
            "exports",
            "webhook_endpoints",
            "webhook_messages",
        ]

        # No agency set: a raw, unfiltered SELECT reads nothing at all.
        for table in tables:
            assert connection.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)

        connection.execute("SELECT set_config('app.agency_id', %s, false)", [str(globex.agency_id)])
        agencies = {
            row[0]
            for table in tables
            for row in connection.execute(f"SELECT DISTINCT agency_id FROM {table}")
        }
        assert agencies == {globex.agency_id}
        assert connection.execute("SELECT count(*) FROM users").fetchone()[0] == 4

        # Nor can it write into, or change, another agency's rows.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute(
                "INSERT INTO audit_entries (agency_id, id, at, actor_type, actor_label, action, "
                "object_type, object_id, details) VALUES (%s, gen_random_uuid(), now(), 'system', "
                "'', 'sneak', 'x', '1', '{}')",
                [acme.agency_id],
            )
        connection.rollback()
        connection.execute("SELECT set_config('app.agency_id', %s, false)", [str(globex.agency_id)])
        changed = connection.execute(
            "UPDATE users SET name = 'renamed' WHERE agency_id = %s", [acme.agency_id]
        )
        assert changed.rowcount == 0


@pytest.mark.postgresql_only
def test_api_key_row_is_visible_before_login_only_to_its_holder(app, tenants, database_url):
    acme, _ = tenants
    from reputation.tenancy.auth import hash_api_key

    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        assert connection.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)
        connection.execute(
            "SELECT set_config('app.api_key_hash', %s, false)", [hash_api_key(acme.read_key)]
        )
        rows = connection.execute("SELECT agency_id, name FROM api_keys").fetchall()
        assert rows == [(acme.agency_id, "reader")]


@pytest.mark.postgresql_only
def test_audit_log_is_append_only_in_the_database(app, tenants, database_url):
    acme, _ = tenants
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        connection.execute("SELECT set_config('app.agency_id', %s, false)", [str(acme.agency_id)])
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            connection.execute("UPDATE audit_entries SET action = 'rewritten'")
        connection.rollback()
        connection.execute("SELECT set_config('app.agency_id', %s, false)", [str(acme.agency_id)])
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            connection.execute("DELETE FROM audit_entries")


@pytest.mark.postgresql_only
def test_the_service_role_cannot_lift_the_policies_and_nobody_truncates_evidence(
    app, tenants, database_urls
):
    with psycopg.connect(database_urls.app.replace("+psycopg", "")) as service_role:
        for statement in (
            "ALTER TABLE users NO FORCE ROW LEVEL SECURITY",
            "DROP POLICY agency_isolation ON conduct_events",
            "ALTER TABLE audit_entries DISABLE TRIGGER ALL",
            "TRUNCATE audit_entries",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                service_role.execute(statement)
            service_role.rollback()
    with psycopg.connect(database_urls.owner.replace("+psycopg", "")) as owner:
        for table in ("audit_entries", "conduct_events", "rehabilitation_steps", "decisions"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                owner.execute(f"TRUNCATE {table} CASCADE")
            owner.rollback()


def test_system_scope_reads_only_the_infrastructure_tables(app, tenants):
    from reputation.outbox.models import OutboxMessage
    from reputation.tenancy.scope import system_scope

    for tenant in tenants:
        make_evidence(app, tenant)
    with app.app_context(), system_scope():
        for _ in range(2):  # the second time through the statement cache
            assert db.session.scalars(select(User)).all() == []
            assert db.session.scalars(select(Contractor)).all() == []
            outbox = db.session.scalars(select(OutboxMessage.agency_id)).all()
            assert set(outbox) == {tenant.agency_id for tenant in tenants}
        db.session.rollback()
