"""Contractors' own accounts (persons), the agencies' invitations, and the links between them."""
