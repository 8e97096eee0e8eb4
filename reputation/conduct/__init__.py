"""Conduct events: what a contractor did, good or bad. Append-only: a retraction or an amendment
is recorded beside the original, which stays readable."""
