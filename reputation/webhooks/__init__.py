"""Webhooks: agencies' endpoints, one signed message per event and endpoint, every attempt kept."""
