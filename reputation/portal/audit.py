"""The agency's audit log."""

from __future__ import annotations

from reputation.portal.blueprint import portal

__all__ = ["portal"]
