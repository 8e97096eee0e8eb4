"""Rehabilitation steps: what a contractor did to make amends, verified by the agency's staff."""
