"""What conduct events, rehabilitation steps and decisions share: who recorded them, and how the
database keeps their recorded facts from ever changing."""

from __future__ import annotations

import uuid

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from reputation.actors import current_actor

SOURCES = ("agency", "client", "colleague", "contractor", "referee", "import")


class RecordedBy:
    """The principal that recorded a row: kind, id and a label that outlives renames."""

    recorded_by_type: Mapped[str] = mapped_column(String(20))
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column()
    recorded_by: Mapped[str] = mapped_column(String(254))


def recorder() -> dict[str, object]:
    """The RecordedBy columns for whoever acts (actors.current_actor)."""
    actor = current_actor()
    return {"recorded_by_type": actor.kind, "recorded_by_id": actor.id, "recorded_by": actor.label}
