"""Imports and exports: the agency's evidence in and out in bulk."""

from __future__ import annotations

from reputation.portal.blueprint import portal

__all__ = ["portal"]
