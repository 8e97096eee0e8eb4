"""The outbox: jobs and webhook events recorded in the same transaction as the write that causes
them, and moved to RQ by the relay (`workers.relay`) only once that transaction has committed."""
