"""The RQ side of the service: the outbox relay, the job functions and the worker processes.

`python -m workers` starts them; jobs receive ids and the agency's id, never ORM objects.
"""
