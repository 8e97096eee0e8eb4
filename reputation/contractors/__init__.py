"""Contractors: the people an agency records evidence about."""
