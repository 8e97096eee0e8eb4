"""The rules of contractors."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, Text, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import selectinload

from reputation import clock
from reputation.audit.service import record_audit
from reputation.contractors.models import SEARCH_SEPARATOR, Contractor, ContractorTag
from reputation.contractors.schemas import ContractorSchema
from reputation.errors import Conflict, Stale
from reputation.extensions import db
from reputation.outbox.service import publish_event
from reputation.scoring.models import TrustSnapshot
from reputation.tenancy.scope import current_agency_id
from reputation.trust.policy import INSUFFICIENT_EVIDENCE

EDITABLE = ("name", "email", "external_ref", "status")


def normalise_tags(tags: list[str]) -> list[str]:
    return sorted({tag.strip().lower() for tag in tags if tag.strip()})


def names_of(contractor_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names of these contractors of the agency, by id (those that exist)."""
    if not contractor_ids:
        return {}
    rows = db.session.execute(
        select(Contractor.id, Contractor.name).where(
            Contractor.agency_id == current_agency_id(), Contractor.id.in_(contractor_ids)
        )
    )
    return {contractor_id: name for contractor_id, name in rows}


def find_by_external_ref(external_ref: str) -> Contractor | None:
    return db.session.scalar(
        select(Contractor).where(
            Contractor.agency_id == current_agency_id(), Contractor.external_ref == external_ref
        )
    )


def _check_external_ref_free(
    external_ref: str | None, contractor: Contractor | None = None
) -> None:
    if external_ref is None:
        return
    holder = find_by_external_ref(external_ref)
    if holder is not None and holder is not contractor:
        raise Conflict(
            f"Contractor {holder.id} already has this external_ref.", field="external_ref"
        )


def create_contractor(
    name: str,
    email: str | None = None,
    external_ref: str | None = None,
    tags: list[str] | None = None,
    status: str = "active",
) -> Contractor:
    """A new contractor of the agency in scope; `contractor.created` goes out once committed."""
    _check_external_ref_free(external_ref)
    contractor = Contractor(
        name=name,
        email=email.lower() if email else None,
        external_ref=external_ref,
        status=status,
        tag_rows=[ContractorTag(tag=tag) for tag in normalise_tags(tags or [])],
    )
    db.session.add(contractor)
    db.session.flush()
    record_audit("contractor.created", "contractor", contractor.id, {"name": name})
    publish_event("contractor.created", ContractorSchema().dump(contractor))
    return contractor


def update_contractor(
    contractor: Contractor, changes: dict[str, Any], if_match: str | None = None
) -> Contractor:
    """Apply `changes`; with `if_match`, only if nobody changed the contractor since (else 412)."""
    if if_match is not None and if_match not in ("*", contractor.etag):
        raise Stale(
            f"The contractor changed since you read it (now {contractor.etag}); read it again.",
            field="If-Match",
        )
    if "external_ref" in changes:
        _check_external_ref_free(changes["external_ref"], contractor)
    if changes.get("email"):
        changes["email"] = changes["email"].lower()
    changed: dict[str, Any] = {}
    for name in EDITABLE:
        if name in changes and changes[name] != getattr(contractor, name):
            changed[name] = [getattr(contractor, name), changes[name]]
            setattr(contractor, name, changes[name])
    if "tags" in changes and normalise_tags(changes["tags"]) != contractor.tags:
        tags = normalise_tags(changes["tags"])
        changed["tags"] = [contractor.tags, tags]
        contractor.tag_rows = [ContractorTag(tag=tag) for tag in tags]
        db.session.flush()
    if changed:
        # Touching the row makes the UPDATE that moves the version (the ETag), tags included.
        contractor.updated_at = clock.now()
        record_audit("contractor.updated", "contractor", contractor.id, changed)
        db.session.flush()  # the version, and so the ETag, the commit will store
    return contractor


# The orders a list of contractors may take; the id last, so that pages never overlap.
ORDERS = {
    "name": (Contractor.name, Contractor.id),
    "-name": (Contractor.name.desc(), Contractor.id),
    "-updated_at": (Contractor.updated_at.desc(), Contractor.id),
}


def search(
    q: str | None = None,
    email: str | None = None,
    external_ref: str | None = None,
    tag: str | None = None,
    status: str | None = None,
    band: str | None = None,
    eligible: bool | None = None,
    order: str = "name",
    never_assessed: int | None = None,
) -> Select[tuple[Contractor]]:
    """The agency's contractors matching every filter given, in one of ORDERS (by name unless
    asked). A contractor never assessed has the opinion of no evidence: insufficient_evidence,
    and eligible. `never_assessed`, when the caller has counted them (`count_never_assessed`):
    with none, those filters need no outer join."""
    statement = (
        select(Contractor)
        .where(Contractor.agency_id == current_agency_id())
        .options(selectinload(Contractor.tag_rows))
        .order_by(*ORDERS[order])
    )
    if q:
        literal = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{literal}%"
        # One LIKE over the stored search text; a search holding the separator could match
        # across two fields there, so it tests each field. The text is written into the SQL
        # (safely quoted) so that PostgreSQL plans each search for its text: a plan prepared for
        # any text walks the names in order, which reads every contractor when the text is rare.
        statement = statement.where(
            Contractor.search_text.like(
                bindparam("search", pattern, type_=Text, literal_execute=True), escape="\\"
            )
            if SEARCH_SEPARATOR not in literal
            else or_(
                func.lower(Contractor.name).like(pattern, escape="\\"),
                func.lower(Contractor.email).like(pattern, escape="\\"),
                func.lower(Contractor.external_ref).like(pattern, escape="\\"),
            )
        )
    if email:
        statement = statement.where(Contractor.email == email.lower())
    if external_ref:
        statement = statement.where(Contractor.external_ref == external_ref)
    if status:
        statement = statement.where(Contractor.status == status)
    # The filters name the snapshot's own columns, so that PostgreSQL finds a band's contractors
    # in its index (agency, band, contractor) rather than in every snapshot's row (kilobytes of
    # JSON each); only the band and eligibility of the never assessed, the opinion of no
    # evidence, need the outer join, which reads every contractor and every snapshot of the
    # agency (a hash join) however few it finds.
    outer = includes_never_assessed(band, eligible) and never_assessed != 0
    if band is not None or eligible is not None:
        on = and_(
            TrustSnapshot.agency_id == Contractor.agency_id,
            TrustSnapshot.contractor_id == Contractor.id,
        )
        statement = (
            statement.outerjoin(TrustSnapshot, on) if outer else statement.join(TrustSnapshot, on)
        )
    if band is not None:
        statement = statement.where(
            or_(TrustSnapshot.band == band, TrustSnapshot.contractor_id.is_(None))
            if outer
            else TrustSnapshot.band == band
        )
    if eligible is not None:
        statement = statement.where(
            or_(TrustSnapshot.eligible.is_(True), TrustSnapshot.contractor_id.is_(None))
            if outer
            else TrustSnapshot.eligible.is_(eligible)
        )
    if tag:
        statement = statement.where(
            exists().where(
                ContractorTag.agency_id == Contractor.agency_id,
                ContractorTag.contractor_id == Contractor.id,
                ContractorTag.tag == tag.strip().lower(),
            )
        )
    return statement


def includes_never_assessed(band: str | None, eligible: bool | None) -> bool:
    """Whether the contractors never assessed (insufficient_evidence, eligible) pass these
    filters of their snapshot, when there is a filter of their snapshot at all."""
    return (band is not None or eligible is not None) and (
        band in (None, INSUFFICIENT_EVIDENCE) and eligible in (None, True)
    )


def count_never_assessed() -> int:
    """How many of the agency's contractors have no stored assessment yet: the contractors less
    the snapshots (every snapshot has its contractor, a foreign key, and at most one snapshot
    each), two counts that read an index each."""
    return db.session.scalar(_never_assessed()) or 0


def _never_assessed() -> Select[tuple[int]]:
    agency_id = current_agency_id()
    everyone = select(func.count()).where(Contractor.agency_id == agency_id)
    assessed = select(func.count()).where(TrustSnapshot.agency_id == agency_id)
    return select(everyone.scalar_subquery() - assessed.scalar_subquery())


def search_with_total(**filters: Any) -> tuple[Select[tuple[Contractor]], Select[tuple[int]]]:
    """`search` and how many it finds, the never assessed counted once for both when the band
    or eligibility asked for may include them."""
    never_assessed = None
    if includes_never_assessed(filters.get("band"), filters.get("eligible")):
        never_assessed = count_never_assessed()
    return (
        search(never_assessed=never_assessed, **filters),
        search_total(never_assessed=never_assessed, **filters),
    )


def search_total(
    band: str | None = None,
    eligible: bool | None = None,
    never_assessed: int | None = None,
    **filters: Any,
) -> Select[tuple[int]]:
    """How many contractors `search` finds with these filters. Asked only of the band or the
    eligibility, the snapshots' band index answers alone (it holds the agency, the band, the
    contractor and the eligibility, and every snapshot has its contractor), plus the never
    assessed when they pass those filters (`never_assessed`, counted by the caller). Counting
    through the join would read every contractor of the agency."""
    contractors_asked = any(value for name, value in filters.items() if name != "order")
    if contractors_asked or (band is None and eligible is None):
        found = search(band=band, eligible=eligible, never_assessed=never_assessed, **filters)
        return select(func.count()).select_from(found.order_by(None).subquery())
    statement = select(func.count()).where(TrustSnapshot.agency_id == current_agency_id())
    if band is not None:
        statement = statement.where(TrustSnapshot.band == band)
    if eligible is not None:
        statement = statement.where(TrustSnapshot.eligible.is_(eligible))
    if includes_never_assessed(band, eligible):
        never = _never_assessed().scalar_subquery() if never_assessed is None else never_assessed
        return select(statement.scalar_subquery() + never)
    return statement
