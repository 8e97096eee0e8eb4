"""The agency's webhook endpoints and their deliveries."""

from __future__ import annotations

from reputation.portal.blueprint import portal

__all__ = ["portal"]
