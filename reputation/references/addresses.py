"""The addresses a person signs in from: a referee's form sent from one of them was probably
not sent by the referee. Written at every sign-in and sign-up (persons.service.start_session)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from reputation import clock
from reputation.extensions import db
from reputation.references.models import PersonAddress


def remember_address(person_id: uuid.UUID, address: str | None) -> None:
    """Note that the person signed in from `address` now (the request's address, after the
    trusted proxies). One row per address: two sign-ins at once update the same row rather
    than clash on it."""
    if not address:
        return
    now = clock.now()
    insert = (
        postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    statement = insert(PersonAddress).values(
        person_id=person_id, address=address, first_seen_at=now, last_seen_at=now
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[PersonAddress.person_id, PersonAddress.address],
            set_={"last_seen_at": now},
        )
    )


def signed_in_from(person_id: uuid.UUID, address: str | None) -> bool:
    """Whether the person ever signed in or up from `address`."""
    if not address:
        return False
    return (
        db.session.scalar(
            select(PersonAddress.address).where(
                PersonAddress.person_id == person_id, PersonAddress.address == address
            )
        )
        is not None
    )
