"""References: a referee vouches for a contractor through a one-time link, with the signs of a
reference the contractor wrote themselves; and the evidence a contractor brings on their own."""
