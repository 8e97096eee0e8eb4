"""Agencies (the tenants), their staff and API keys, and the scoping that keeps them apart."""
