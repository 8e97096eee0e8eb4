"""Decisions: a person's call on a contractor, its reason, and the assessment they saw."""
