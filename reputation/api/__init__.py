"""Conventions every endpoint of `/api/v1` follows: problem+json errors, JSON bodies, one pager,
Idempotency-Key on POST, and one unit of work per request."""
