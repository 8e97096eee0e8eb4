"""Applying a batch of an import's rows in a few statements, rather than several per row.

The rows are taken in the file's order, as they would be one at a time: a row may name a
contractor or an event that an earlier row created, in this batch or an earlier one. What the
batch's rows name in the database (contractors, events, steps) is read in one query per table,
and the rows they create are written together, a table at a time (imports.bulk), with the
audit entries, webhook events and recompute requests the services (contractors, conduct,
rehabilitation) record for each: the same rows, so that neither the API, the audit trail nor a
webhook can tell an imported row from one written through the API.

The rules a row may break are checked here, in memory, before anything is written: a rejected
row writes nothing. What only the database can refuse (a DataError) refuses the whole batch, and
the caller then applies its rows one at a time to find the row at fault.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import g, has_request_context
from sqlalchemy import ARRAY, Select, String, bindparam, func, select, true
from sqlalchemy.orm import selectinload

from reputation import clock, jobs
from reputation.actors import current_actor
from reputation.audit.models import AuditEntry
from reputation.conduct.models import ACTIVE, ConductEvent
from reputation.conduct.schemas import EventSchema
from reputation.contractors import service as contractors
from reputation.contractors.models import Contractor, ContractorTag
from reputation.contractors.schemas import ContractorSchema
from reputation.errors import DomainError
from reputation.evidence import recorder
from reputation.extensions import db
from reputation.ids import new_id
from reputation.imports import rows
from reputation.imports.bulk import insert_rows
from reputation.outbox.models import EVENT, JOB, OutboxMessage
from reputation.rehabilitation.models import PENDING, RehabilitationStep
from reputation.rehabilitation.schemas import StepSchema
from reputation.rehabilitation.service import check_addressed_event
from reputation.tenancy.scope import current_agency_id
from reputation.trust.taxonomy import CONDUCT_KINDS
from reputation.webhooks.models import WebhookEndpoint
from reputation.webhooks.service import enabled_endpoints, fan_out

# What the webhooks of the rows created carry: the schemas the API answers with. They dump the
# rows' values as they dump a model (a dict is read by key as a model by attribute), which costs
# a fraction of building the model.
CONTRACTOR, EVENT_SHOWN, STEP = ContractorSchema(), EventSchema(), StepSchema()
# What the event's model adds to its columns: a new event has no statement and no dispute.
NEW_EVENT = {"disputed": False, "statement": None, "dispute": None}


@dataclass(frozen=True)
class RowError:
    """Why the row numbered `number` was not applied."""

    number: int
    field: str | None
    message: str


@dataclass(frozen=True)
class KnownEvent:
    """What a step's row reads of the event it addresses (rehabilitation.AddressedEvent)."""

    id: uuid.UUID
    contractor_id: uuid.UUID
    valence: str
    status: str
    occurred_at: datetime


def apply_rows(batch: Sequence[rows.Parsed]) -> list[RowError]:
    """Apply the rows of `batch` that can be, in the current transaction; why the others cannot.

    Raises what the database refuses (sqlalchemy.exc.DataError), having then written part of the
    batch: the caller applies it inside a savepoint.
    """
    parsed = [(number, row) for number, row in batch if isinstance(row, rows.Row)]
    errors = [
        RowError(number, row.field, row.message)
        for number, row in batch
        if isinstance(row, rows.RowRejected)
    ]
    writer = _Writer(parsed)
    for number, row in parsed:
        try:
            writer.apply(row)
        except rows.RowRejected as rejected:
            errors.append(RowError(number, rejected.field, rejected.message))
        except DomainError as refused:
            errors.append(RowError(number, refused.field, refused.detail))
    writer.request_recomputes()
    writer.write()
    return sorted(errors, key=lambda error: error.number)


@dataclass
class _Pending:
    """The rows a stretch of the batch creates, written together (`_Writer.write`)."""

    contractors: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> Iterable[tuple[type, list[dict[str, Any]]]]:
        """Each table's rows, a table after those it refers to."""
        yield Contractor, self.contractors
        yield ContractorTag, self.tags
        yield ConductEvent, self.events
        yield RehabilitationStep, self.steps
        yield AuditEntry, self.audit
        yield OutboxMessage, self.outbox


def _stored(model: Any, columns: list[Any], external_refs: set[str]) -> Select[Any]:
    """`columns` of the agency's rows of `model` that have these external references.

    On PostgreSQL each reference is looked up on its own in the unique index (agency,
    external_ref), by a LATERAL join. Asked as one condition (`IN` or `= ANY`), the lookup is
    planned, until the table's statistics catch up with the import, as a read of every row of
    the agency, and once prepared as a generic plan, with each row compared to every reference:
    a second a lookup at 60,000 events.
    """
    agency = model.agency_id == current_agency_id()
    if db.session.get_bind().dialect.name != "postgresql":
        return select(*columns).where(agency, model.external_ref.in_(external_refs))
    wanted = (
        func.unnest(bindparam(None, sorted(external_refs), type_=ARRAY(String)))
        .table_valued("ref")
        .render_derived()
    )
    found = select(*columns).where(agency, model.external_ref == wanted.c.ref).lateral()
    return select(found).select_from(wanted).join(found, true())


class _Writer:
    """The batch's view of the agency's contractors, events and steps by external reference:
    those stored before it, read once, and those its earlier rows created."""

    def __init__(self, parsed: list[tuple[int, rows.Row]]) -> None:
        self.agency_id = current_agency_id()
        self.recorder = recorder()
        self.actor = current_actor()
        self.request_id = g.get("request_id") if has_request_context() else None
        self.webhooks: Sequence[WebhookEndpoint] = enabled_endpoints()
        self.pending = _Pending()
        # The contractors whose evidence changed: recomputed once each after the batch commits.
        self.recomputes: set[uuid.UUID] = set()
        # The contractors this batch created, not yet written, by external reference.
        self.unwritten: set[str] = set()
        by_record: dict[str, set[str]] = {"contractor": set(), "event": set(), "step": set()}
        named: set[str] = set()  # contractors
        addressed: set[str] = set()  # events
        for _, row in parsed:
            by_record[row.record].add(row.facts["external_ref"])
            named.add(row.references.get("contractor_ref") or row.facts["external_ref"])
            if "addresses_ref" in row.references:
                addressed.add(row.references["addresses_ref"])
        self.contractor_ids = self._contractor_ids(named)
        # Existing contractors that a contractor row updates: loaded with their tags at once.
        self.updatable = {
            contractor.external_ref: contractor
            for contractor in db.session.scalars(
                select(Contractor)
                .where(
                    Contractor.agency_id == self.agency_id,
                    Contractor.id.in_(
                        self.contractor_ids[external_ref]
                        for external_ref in by_record["contractor"] & self.contractor_ids.keys()
                    ),
                )
                .options(selectinload(Contractor.tag_rows))
            )
        }
        self.events = self._events(by_record["event"] | addressed)
        self.steps = set(
            db.session.scalars(
                _stored(RehabilitationStep, [RehabilitationStep.external_ref], by_record["step"])
            )
        )

    def _contractor_ids(self, external_refs: set[str]) -> dict[str, uuid.UUID]:
        found = db.session.execute(
            _stored(Contractor, [Contractor.external_ref, Contractor.id], external_refs)
        )
        return {external_ref: contractor_id for external_ref, contractor_id in found}

    def _events(self, external_refs: set[str]) -> dict[str, KnownEvent]:
        E = ConductEvent
        columns = [E.external_ref, E.id, E.contractor_id, E.valence, E.status, E.occurred_at]
        found = db.session.execute(_stored(E, columns, external_refs))
        return {row[0]: KnownEvent(*row[1:]) for row in found}

    def apply(self, row: rows.Row) -> None:
        """Apply one row as it would be applied alone; DomainError or RowRejected if it cannot."""
        if row.record == "contractor":
            self._contractor(row.facts)
            return
        contractor_id = self.contractor_ids.get(row.references["contractor_ref"])
        if contractor_id is None:
            raise rows.RowRejected("contractor_ref", "No contractor with this external_ref.")
        if row.record == "event":
            if row.facts["external_ref"] not in self.events:  # an event is never rewritten
                self._event(contractor_id, row.facts)
        elif row.facts["external_ref"] not in self.steps:
            self._step(contractor_id, row.facts, row.references.get("addresses_ref"))

    def _contractor(self, facts: dict[str, Any]) -> None:
        external_ref = facts["external_ref"]
        if external_ref in self.unwritten:
            # A second row for a contractor this batch created: written first, so that the
            # change is an update of it, as one row at a time would make it.
            self.write()
        if external_ref in self.contractor_ids and external_ref not in self.updatable:
            contractor = db.session.get(
                Contractor, (self.agency_id, self.contractor_ids[external_ref])
            )
            assert contractor is not None
            self.updatable[external_ref] = contractor
        if external_ref in self.updatable:
            # The external reference is the one matched on: the rest are changes.
            changes = {name: value for name, value in facts.items() if name != "external_ref"}
            contractors.update_contractor(self.updatable[external_ref], changes)
            return
        now = clock.now()
        tags = contractors.normalise_tags(facts["tags"])
        values = {
            "id": new_id(),
            "agency_id": self.agency_id,
            "name": facts["name"],
            "email": facts["email"].lower() if facts["email"] else None,
            "external_ref": external_ref,
            "status": facts["status"],
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        self.pending.contractors.append(values)
        self.pending.tags.extend(
            {"agency_id": self.agency_id, "contractor_id": values["id"], "tag": tag} for tag in tags
        )
        self.contractor_ids[external_ref] = values["id"]
        self.unwritten.add(external_ref)
        self._audit("contractor.created", "contractor", values["id"], {"name": facts["name"]})
        self._publish("contractor.created", CONTRACTOR.dump({**values, "tags": tags}))

    def _event(self, contractor_id: uuid.UUID, facts: dict[str, Any]) -> None:
        """What conduct.record_event stores for these facts."""
        kind = CONDUCT_KINDS[facts["kind"]]
        values = {
            "id": new_id(),
            "agency_id": self.agency_id,
            "contractor_id": contractor_id,
            "kind": kind.name,
            "valence": kind.valence.value,
            "severity": facts.get("severity") or kind.default_severity,
            "occurred_at": facts["occurred_at"],
            "recorded_at": clock.now(),
            "summary": facts["summary"],
            "details": facts.get("details", ""),
            "evidence_urls": facts.get("evidence_urls", []),
            "source": facts.get("source", "agency"),
            "external_ref": facts["external_ref"],
            "supersedes_id": None,
            "status": ACTIVE,
            "status_changed_at": None,
            "status_reason": None,
            "status_changed_by": None,
            **self.recorder,
        }
        self.pending.events.append(values)
        self.events[facts["external_ref"]] = KnownEvent(
            values["id"], contractor_id, values["valence"], ACTIVE, facts["occurred_at"]
        )
        self._audit("conduct_event.recorded", "conduct_event", values["id"], {"kind": kind.name})
        self._publish("conduct_event.recorded", EVENT_SHOWN.dump({**values, **NEW_EVENT}))
        self.recomputes.add(contractor_id)

    def _step(
        self, contractor_id: uuid.UUID, facts: dict[str, Any], addresses_ref: str | None
    ) -> None:
        """What rehabilitation.record_step stores for these facts."""
        addresses_event_id = None
        if addresses_ref is not None:
            event = self.events.get(addresses_ref)
            if event is None:
                raise rows.RowRejected("addresses_ref", "No event with this external_ref.")
            check_addressed_event(contractor_id, event, facts["occurred_at"])
            addresses_event_id = event.id
        values = {
            "id": new_id(),
            "agency_id": self.agency_id,
            "contractor_id": contractor_id,
            "kind": facts["kind"],
            "occurred_at": facts["occurred_at"],
            "recorded_at": clock.now(),
            "addresses_event_id": addresses_event_id,
            "unsolicited": facts.get("unsolicited", False),
            "description": facts.get("description", ""),
            "evidence_urls": facts.get("evidence_urls", []),
            "source": facts.get("source", "agency"),
            "external_ref": facts["external_ref"],
            "status": PENDING,
            "verified_by": None,
            "verified_by_id": None,
            "verified_at": None,
            "verification_note": None,
            **self.recorder,
        }
        self.pending.steps.append(values)
        self.steps.add(facts["external_ref"])
        self._audit(
            "rehabilitation.recorded", "rehabilitation_step", values["id"], {"kind": facts["kind"]}
        )
        self._publish("rehabilitation.recorded", STEP.dump(values))
        self.recomputes.add(contractor_id)

    def _audit(
        self, action: str, object_type: str, object_id: uuid.UUID, details: dict[str, Any]
    ) -> None:
        """The entry audit.record_audit adds for this action."""
        self.pending.audit.append(
            {
                "id": new_id(),
                "agency_id": self.agency_id,
                "at": clock.now(),
                "actor_type": self.actor.kind,
                "actor_id": str(self.actor.id) if self.actor.id else None,
                "actor_label": self.actor.label if self.actor.kind != "system" else "",
                "action": action,
                "object_type": object_type,
                "object_id": str(object_id),
                "details": details,
                "request_id": self.request_id,
            }
        )

    def _publish(self, event_type: str, data: dict[str, Any]) -> None:
        """The event outbox.publish_event records, and its webhook messages (fan_out)."""
        now = clock.now()
        values = {
            "id": new_id(),
            "agency_id": self.agency_id,
            "created_at": now,
            "kind": EVENT,
            "queue": None,
            "name": event_type,
            "payload": data,
            "job_id": None,
            # Handed to the webhooks here: nothing is left for the relay.
            "relayed_at": now,
            "attempts": 0,
            "last_error": None,
        }
        self.pending.outbox.append(values)
        if any(endpoint.wants(event_type) for endpoint in self.webhooks):
            fan_out(OutboxMessage(**values), self.webhooks)

    def request_recomputes(self) -> None:
        """The job outbox.recompute_after_commit records for each contractor whose evidence
        changed, one per contractor for the whole batch (as outbox.recomputes_coalesced)."""
        now = clock.now()
        job = jobs.RECOMPUTE_CONTRACTOR
        self.pending.outbox.extend(
            {
                "id": new_id(),
                "agency_id": self.agency_id,
                "created_at": now,
                "kind": JOB,
                "queue": job.queue.value,
                "name": job.function,
                "payload": {"contractor_id": str(contractor_id)},
                "job_id": f"recompute-{contractor_id}",
                "relayed_at": None,
                "attempts": 0,
                "last_error": None,
            }
            for contractor_id in sorted(self.recomputes, key=str)
        )
        self.recomputes.clear()

    def write(self) -> None:
        """Write what the rows so far created: many rows of a table at once."""
        for model, values in self.pending.tables():
            insert_rows(model.__table__, values)  # type: ignore[attr-defined]
        self.pending = _Pending()
        self.unwritten.clear()
