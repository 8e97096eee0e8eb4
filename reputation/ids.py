"""Identifiers: time-ordered UUIDs (the UUIDv7 layout of RFC 9562).

Ids are opaque to clients. Time ordering keeps new rows at the right edge of every index, which
keeps inserts cheap on PostgreSQL's B-trees.
"""

from __future__ import annotations

import os
import time
import uuid


def new_id() -> uuid.UUID:
    """A new random id whose first 48 bits are the Unix time in milliseconds."""
    millis = time.time_ns() // 1_000_000
    value = (millis & 0xFFFF_FFFF_FFFF) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
    return uuid.UUID(int=value)
