"""A contractor's answers to the events an agency recorded: statements (their own account, shown
beside the event) and disputes (which the agency resolves within 30 days, or the event is
overturned: TRUST_MODEL.md §1)."""
