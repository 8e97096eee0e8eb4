"""the relay wakes when work for it commits: NOTIFY on the `outbox` channel

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23 23:00:00.000000

A trigger sends the notification, in the writing transaction, so PostgreSQL delivers it on
commit only, and whatever writes the rows (a service, an import, a hand-written INSERT) wakes the
relay. Notifications with the same payload in one transaction are delivered once. SQLite has no
LISTEN/NOTIFY: there the relay polls, and this revision does nothing.
"""
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# reputation.outbox.models.NOTIFY_CHANNEL; written out, as a migration must not change when the
# code does.
CHANNEL = "outbox"
# Each table, the trigger on it, and which new rows are work for the relay: a pending job (an
# event is handed to the webhooks as it is written), a webhook message to send.
TRIGGERS = (
    ("outbox_messages", "outbox_messages_notify", "NEW.relayed_at IS NULL AND NEW.kind = 'job'"),
    ("webhook_messages", "webhook_messages_notify", "NEW.status = 'pending'"),
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION notify_outbox_relay() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END $$
        """
    )
    for table, trigger, condition in TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER INSERT ON {table} "
            f"FOR EACH ROW WHEN ({condition}) EXECUTE FUNCTION notify_outbox_relay()"
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, trigger, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    op.execute("DROP FUNCTION notify_outbox_relay()")
