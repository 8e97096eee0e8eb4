"""The one clock of the service.

Everything that needs "now" asks this module, so tests can set the time instead of waiting for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_frozen_at: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _frozen_at if _frozen_at is not None else datetime.now(UTC)


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Hold the clock at `at` (a timezone-aware time) for the duration of the block."""
    global _frozen_at
    if at.tzinfo is None:
        raise ValueError("the clock only holds timezone-aware times")
    previous, _frozen_at = _frozen_at, at.astimezone(UTC)
    try:
        yield
    finally:
        _frozen_at = previous
