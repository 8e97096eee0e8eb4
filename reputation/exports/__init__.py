"""Bulk exports: an agency's contractors, events, rehabilitation steps, assessments or
trajectories as one CSV or JSONL file, written batch by batch by a job on the `bulk` queue and
downloadable for seven days."""
