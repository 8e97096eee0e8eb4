"""The agency's staff and API keys."""

from __future__ import annotations

from reputation.portal.blueprint import portal

__all__ = ["portal"]
