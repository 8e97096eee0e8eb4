"""The agency's scoring policy: every number with its default and its explanation, edits simulated
before they are saved, and the versions."""

from __future__ import annotations

from reputation.portal.blueprint import portal

__all__ = ["portal"]
