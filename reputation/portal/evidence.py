"""Writing a contractor's evidence from their page: events, steps, retractions, amendments,
verifications and decisions; the assessment refreshed as soon as the worker has stored it."""

from __future__ import annotations

from reputation.portal.blueprint import portal

__all__ = ["portal"]
