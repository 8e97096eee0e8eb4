"""Row-level security on PostgreSQL: the last of the three tenancy layers.

Migrations call these. Each policy reads the transaction-local settings that
`reputation.tenancy.scope` sets at the start of every transaction; with no agency set, a tenant
table shows no rows and accepts none. FORCE makes the policies bind the tables' owner too, so only
a superuser or a BYPASSRLS role could read across agencies. Once a migration has used a function
here its SQL is part of the schema's history: change a policy with a new function and a new
migration, never by editing these.
"""

from __future__ import annotations

CURRENT_AGENCY = "NULLIF(current_setting('app.agency_id', true), '')::uuid"
SYSTEM_SCOPE = "current_setting('app.system', true) = 'on'"


def isolate(table: str) -> list[str]:
    """A tenant table: each transaction sees and writes only its agency's rows."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY agency_isolation ON {table} "
        f"USING (agency_id = {CURRENT_AGENCY}) WITH CHECK (agency_id = {CURRENT_AGENCY})",
    ]


def allow_system_tasks(table: str) -> list[str]:
    """An infrastructure table that the relay and housekeeping also read across agencies."""
    return [
        f"CREATE POLICY system_tasks ON {table} USING ({SYSTEM_SCOPE}) WITH CHECK ({SYSTEM_SCOPE})"
    ]


def allow_key_holder(table: str = "api_keys") -> list[str]:
    """An API key's row is visible, before its agency is known, to whoever presents the key."""
    return [
        f"CREATE POLICY key_holder ON {table} FOR SELECT "
        "USING (key_hash = NULLIF(current_setting('app.api_key_hash', true), ''))"
    ]


def allow_token_holder(table: str) -> list[str]:
    """A one-time link's row is visible, before its agency is known, to whoever presents its
    token (scope.present_token)."""
    return [
        f"CREATE POLICY token_holder ON {table} FOR SELECT "
        "USING (token_hash = NULLIF(current_setting('app.token_hash', true), ''))"
    ]


def allow_person(table: str) -> list[str]:
    """A contractor's own account sees its rows of this table in every agency."""
    return [
        f"CREATE POLICY person_holder ON {table} FOR SELECT "
        "USING (person_id = NULLIF(current_setting('app.person_id', true), '')::uuid)"
    ]


REFUSE_CHANGE_FUNCTION = """
CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def append_only(table: str) -> list[str]:
    """Refuse every UPDATE and DELETE of a table's rows, whoever asks."""
    return [
        REFUSE_CHANGE_FUNCTION,
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION refuse_change()",
    ]


GUARD_RECORDED_FACTS_FUNCTION = """
CREATE OR REPLACE FUNCTION guard_recorded_facts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    open_status text := TG_ARGV[0];
    mutable text[] := TG_ARGV[1:array_upper(TG_ARGV, 1)];
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% is append-only: DELETE refused', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (to_jsonb(NEW) - mutable) IS DISTINCT FROM (to_jsonb(OLD) - mutable) THEN
        RAISE EXCEPTION '% keeps its recorded facts: UPDATE of them refused', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status <> open_status THEN
        RAISE EXCEPTION '% row % is %: its status is final', TG_TABLE_NAME, OLD.id, OLD.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$
"""


def recorded_facts_only_grow(table: str, open_status: str, mutable: tuple[str, ...]) -> list[str]:
    """Evidence: no DELETE; an UPDATE may only move the status (and its own columns) once,
    away from `open_status`. Every other column is a recorded fact and never changes."""
    arguments = ", ".join(f"'{name}'" for name in (open_status, *mutable))
    return [
        GUARD_RECORDED_FACTS_FUNCTION,
        f"CREATE TRIGGER {table}_recorded_facts BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION guard_recorded_facts({arguments})",
    ]


def refuse_truncate(table: str) -> list[str]:
    """TRUNCATE skips row triggers and row-level security alike: refuse it outright."""
    return [
        REFUSE_CHANGE_FUNCTION,
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()",
    ]


# Erasure (GDPR Art 17), the one exception to append-only (DESIGN.md "Writes"): the erasure
# service names, in the transaction-local `app.erasure`, the contractor whose rows it deletes;
# these versions of the guards above let exactly those rows go, and refuse the rest as before.
ERASED_CONTRACTOR = "NULLIF(current_setting('app.erasure', true), '')"

REFUSE_CHANGE_UNLESS_ERASED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION refuse_change_unless_erased() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.contractor_id::text = {ERASED_CONTRACTOR} THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

GUARD_RECORDED_FACTS_UNLESS_ERASED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION guard_recorded_facts_unless_erased() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    open_status text := TG_ARGV[0];
    mutable text[] := TG_ARGV[1:array_upper(TG_ARGV, 1)];
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.contractor_id::text = {ERASED_CONTRACTOR} THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION '% is append-only: DELETE refused', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (to_jsonb(NEW) - mutable) IS DISTINCT FROM (to_jsonb(OLD) - mutable) THEN
        RAISE EXCEPTION '% keeps its recorded facts: UPDATE of them refused', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status <> open_status THEN
        RAISE EXCEPTION '% row % is %: its status is final', TG_TABLE_NAME, OLD.id, OLD.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$
"""

# The audit log keeps every row, an erasure's included; an erasure may only blank what a row
# said (its details, and a contractor's own address as its actor), never who did what, when.
KEEP_AUDIT_UNLESS_ERASED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION keep_audit_unless_erased() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND {ERASED_CONTRACTOR} IS NOT NULL
        AND NEW.details IN (OLD.details, '{{}}'::jsonb)
        AND NEW.actor_label IN (OLD.actor_label, '')
        AND (to_jsonb(NEW) - 'details' - 'actor_label')
            = (to_jsonb(OLD) - 'details' - 'actor_label') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

ERASURE_FUNCTIONS = {
    "refuse_change_unless_erased": REFUSE_CHANGE_UNLESS_ERASED_FUNCTION,
    "guard_recorded_facts_unless_erased": GUARD_RECORDED_FACTS_UNLESS_ERASED_FUNCTION,
    "keep_audit_unless_erased": KEEP_AUDIT_UNLESS_ERASED_FUNCTION,
}


def erasure_functions() -> list[str]:
    """The erasure-aware versions of the evidence's and the audit log's guards."""
    return list(ERASURE_FUNCTIONS.values())


def repoint_trigger(table: str, trigger: str, function: str, replacement: str) -> list[str]:
    """Make an existing row trigger run `replacement` instead of `function`, with the same
    timing, events and arguments: its definition is read back from the catalog, so the
    arguments given when it was created (a table's mutable columns) are kept exactly. Fails if
    the trigger does not run `function`, rather than leave a guard other than the one meant."""
    return [
        f"""
DO $$
DECLARE
    definition text;
    repointed text;
BEGIN
    SELECT pg_get_triggerdef(oid) INTO STRICT definition FROM pg_trigger
        WHERE tgname = '{trigger}' AND tgrelid = '{table}'::regclass;
    repointed := replace(definition, 'FUNCTION {function}(', 'FUNCTION {replacement}(');
    IF repointed = definition THEN
        RAISE EXCEPTION 'trigger {trigger} on {table} does not run {function}: %', definition;
    END IF;
    EXECUTE 'DROP TRIGGER {trigger} ON {table}';
    EXECUTE repointed;
END
$$
"""
    ]
