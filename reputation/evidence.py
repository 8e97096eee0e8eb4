"""What conduct events, rehabilitation steps and decisions share: who recorded them, and how the
database keeps their recorded facts from ever changing."""

from __future__ import annotations

import uuid

from flask import g
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

SOURCES = ("agency", "client", "colleague", "contractor", "referee", "import")


class RecordedBy:
    """The principal that recorded a row: kind, id and a label that outlives renames."""

    recorded_by_type: Mapped[str] = mapped_column(String(20))
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column()
    recorded_by: Mapped[str] = mapped_column(String(254))


def recorder() -> dict[str, object]:
    """The RecordedBy columns for the current principal (or the system, for jobs)."""
    principal = g.get("principal")
    if principal is None:
        return {"recorded_by_type": "system", "recorded_by_id": None, "recorded_by": "system"}
    return {
        "recorded_by_type": principal.kind,
        "recorded_by_id": principal.id,
        "recorded_by": principal.label,
    }
