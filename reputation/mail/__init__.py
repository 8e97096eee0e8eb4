"""Mail: every message is recorded in the outbox with the write that causes it, and a worker of
the `mail` queue sends it over SMTP once that write has committed (DESIGN.md "Queues")."""
