"""The current agency, and the two layers that hold every query to it.

The agency comes from the credentials of a request, or from the arguments of a job; never from a
request body. Once set, every ORM query is filtered on it (`with_loader_criteria`), every new
tenant row is checked against it, and on PostgreSQL each transaction carries it in
`app.agency_id`, which the row-level security policies of the migrations read.

`system_scope()` is for the few infrastructure tasks that span agencies (the outbox relay, the
purge of expired idempotency records); the row-level security policies allow it only on those
infrastructure tables.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import g, has_app_context
from sqlalchemy import ColumnElement, ForeignKey, Text, cast, event, false, func, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    SessionTransaction,
    mapped_column,
    scoped_session,
    with_loader_criteria,
)

from reputation.extensions import db


class TenantScoped:
    """Models owned by one agency; the global filter applies to each of them.

    agency_id leads the primary key of every tenant table.
    """

    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True, sort_order=-2
    )


# Infrastructure tables that system_scope() reads across agencies; the migrations' policies agree.
SYSTEM_TABLES = frozenset({"outbox_messages", "idempotency_records", "webhook_messages"})


class CrossTenantWrite(RuntimeError):
    """A row of one agency was about to be written while another agency was in scope."""


def current_agency_id() -> uuid.UUID | None:
    """The agency whose data this request or job may touch, if any."""
    return g.get("agency_id") if has_app_context() else None


def in_system_scope() -> bool:
    return bool(g.get("system_scope")) if has_app_context() else False


def enter_agency(agency_id: uuid.UUID | None) -> None:
    """Scope the rest of this request or job to one agency (None: to no agency at all)."""
    _switch(agency_id=agency_id)


def agency_setting(agency_column: ColumnElement[Any]) -> ColumnElement[Any] | None:
    """A column to read beside a row that names the agency to enter: on PostgreSQL, reading it
    sets the transaction's agency for row-level security, as `enter_agency` would, in the round
    trip of the read itself (None on other databases, which have no such setting). Once the row
    is read, `entered_agency` records its agency; a query that reads no row sets nothing."""
    if db.engine.dialect.name != "postgresql":
        return None
    return func.set_config("app.agency_id", cast(agency_column, Text), True)


def entered_agency(agency_id: uuid.UUID) -> None:
    """Scope the rest of this request to the agency whose row was just read with
    `agency_setting`: the transaction carries it already (on PostgreSQL), and nothing was
    written under another scope yet."""
    g.agency_id = agency_id


@contextmanager
def agency_scope(agency_id: uuid.UUID) -> Iterator[None]:
    """Scope a block (a job, a CLI command) to one agency."""
    previous = current_agency_id()
    enter_agency(agency_id)
    try:
        yield
    except BaseException:
        # What the block wrote is not safe to keep, and a failed PostgreSQL transaction
        # accepts nothing more until it is rolled back.
        db.session.rollback()
        raise
    finally:
        enter_agency(previous)


@contextmanager
def system_scope() -> Iterator[None]:
    """Lift the agency filter for infrastructure work that spans agencies."""
    previous = in_system_scope()
    _switch(system_scope=True)
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    finally:
        _switch(system_scope=previous)


def _settings() -> dict[str, str]:
    agency_id = current_agency_id()
    person_id = g.get("person_id")
    return {
        "agency": str(agency_id) if agency_id else "",
        "system": "on" if in_system_scope() else "",
        "key_hash": g.get("api_key_hash") or "",
        "person": str(person_id) if person_id else "",
        "token_hash": g.get("token_hash") or "",
    }


# One round trip sets them all. app.api_key_hash lets the row-level security of api_keys show
# a key's row, before its agency is known, to the caller presenting that key (auth.py);
# app.token_hash does the same for a one-time link's row (an invitation, a referee's form), and
# app.person_id shows a contractor's own account the records linked to it, in every agency.
_SET_SCOPE = text(
    "SELECT set_config('app.agency_id', :agency, true), set_config('app.system', :system, true),"
    " set_config('app.api_key_hash', :key_hash, true), set_config('app.person_id', :person, true),"
    " set_config('app.token_hash', :token_hash, true)"
)


def present_token(token_hash: str | None) -> None:
    """The hash of a one-time link's token that this request presents (None: none), which the
    row-level security lets it read before its agency is known."""
    _switch(token_hash=token_hash)


def act_as_person(person_id: uuid.UUID | None) -> None:
    """Scope the rest of this request to a contractor's own account (None: to none)."""
    _switch(person_id=person_id)


def _switch(**scope: Any) -> None:
    session = db.session()
    if session.in_transaction():
        # Rows written under the previous scope are flushed under it, where its policies admit them.
        session.flush()
    for name, value in scope.items():
        setattr(g, name, value)
    if session.in_transaction() and db.engine.dialect.name == "postgresql":
        session.execute(_SET_SCOPE, _settings())


def _carry_scope_into_transaction(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    # Transaction-local settings: a pooled connection never carries one agency into the next use.
    # A savepoint inherits them from its transaction.
    if transaction.nested:
        return
    if connection.dialect.name == "postgresql" and has_app_context():
        connection.execute(_SET_SCOPE, _settings())


def _filter_on_current_agency(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the criteria of the parent query already apply
    if state.execution_options.get("tenant_unscoped"):
        return
    if in_system_scope():
        # Across agencies, but only the infrastructure tables (as the row-level security allows).
        state.statement = state.statement.options(
            *(
                with_loader_criteria(model, false(), include_aliases=True)
                for model in _agency_private_models()
            )
        )
        return
    agency_id = current_agency_id()
    if agency_id is None:
        # A forgotten scope reads no one's data.
        criteria = with_loader_criteria(TenantScoped, lambda cls: false(), include_aliases=True)
    else:
        criteria = with_loader_criteria(
            TenantScoped, lambda cls: cls.agency_id == agency_id, include_aliases=True
        )
    state.statement = state.statement.options(criteria)


@functools.cache
def _agency_private_models() -> tuple[type, ...]:
    return tuple(
        mapper.class_
        for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, TenantScoped) and mapper.local_table.name not in SYSTEM_TABLES
    )


def _belong_to_current_agency(target: TenantScoped, args: Any, kwargs: dict[str, Any]) -> None:
    # A new row belongs to the agency in scope unless it names one itself.
    kwargs.setdefault("agency_id", current_agency_id())


def _check_new_rows_belong_to_agency(session: Session, flush_context: Any, instances: Any) -> None:
    if not has_app_context() or in_system_scope():
        return
    agency_id = current_agency_id()
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.agency_id is None:
            raise CrossTenantWrite(f"{type(obj).__name__} has no agency and none is in scope")
        if agency_id is not None and obj.agency_id != agency_id:
            raise CrossTenantWrite(f"{type(obj).__name__} belongs to another agency")


def register_listeners(session: scoped_session[Session]) -> None:
    """Bind the tenancy layers to `session` (the app's, `db.session`): the agency carried into
    each transaction, the filter on every query, the check of every new row, and new rows'
    agency. Called by `create_app`; a second app of the same process finds them bound."""
    for target, name, listener, options in (
        (session, "after_begin", _carry_scope_into_transaction, {}),
        (session, "do_orm_execute", _filter_on_current_agency, {}),
        (session, "before_flush", _check_new_rows_belong_to_agency, {}),
        (TenantScoped, "init", _belong_to_current_agency, {"propagate": True}),
    ):
        if not event.contains(target, name, listener):
            event.listen(target, name, listener, **options)
