"""Scoring: the trust model applied to the stored evidence, its stored results, and their API.

The model itself is `reputation.trust` (pure); this package loads the evidence, stores each
contractor's current assessment and trajectory, and serves them.
"""
