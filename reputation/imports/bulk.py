"""Writing many new rows of one table in one go.

On PostgreSQL the rows are sent with COPY into a TEMP table shaped like the columns written, then
moved by one `INSERT … SELECT`: COPY costs a few microseconds a row where an INSERT statement
costs tens, and COPY cannot write to a table under row-level security itself, while the
`INSERT … SELECT` goes through the table's policies, constraints and triggers as any INSERT
does. Elsewhere (SQLite) the driver's executemany is as fast as the database can write. The
configuration's `IMPORT_COPY` set to False takes the portable way on PostgreSQL too (the tests
compare the two ways).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from flask import current_app
from sqlalchemy import Table, insert
from sqlalchemy.exc import DataError

from reputation.extensions import db


def insert_rows(table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys: column names) into `table`."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql" and current_app.config.get("IMPORT_COPY", True):
        _copy(table, rows)
    else:
        connection.execute(insert(table), rows)


def _copy(table: Table, rows: list[dict[str, Any]]) -> None:
    connection = db.session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    columns = ", ".join(names)
    # The column types' own conversions (UTC timestamps, JSON), as an INSERT would apply them.
    convert: list[Callable[[Any], Any] | None] = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    staged = f"staged_{table.name}"
    # Dropped at commit, so that no connection of the pool keeps one; typed as the table is, and
    # without its constraints, which the INSERT … SELECT checks.
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {staged} ON COMMIT DROP "
        f"AS SELECT {columns} FROM {table.name} WITH NO DATA"
    )
    driver = connection.connection.driver_connection
    assert driver is not None
    statement = f"COPY {staged} ({columns}) FROM STDIN"
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [
                        row[name] if to_database is None else to_database(row[name])
                        for name, to_database in zip(names, convert, strict=True)
                    ]
                )
    except psycopg.DataError as refused:
        # A value the staged column's type refuses (a text longer than the column): raised as
        # the INSERT would raise it, for the caller to find the row at fault.
        raise DataError(statement, None, refused) from refused
    connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {staged}"
    )
    connection.exec_driver_sql(f"TRUNCATE {staged}")
