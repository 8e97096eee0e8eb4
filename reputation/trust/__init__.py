"""The trust model `beta-decay-v1` (TRUST_MODEL.md): plain data in, plain data out.

Nothing here imports Flask or SQLAlchemy or reads the clock.
"""
