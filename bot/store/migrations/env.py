"""Alembic's entry point, only ever run by bot.store.migrate on a connection it already holds
(inside the transaction that took the migration lock)."""

from alembic import context

from bot.store.tables import metadata

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=metadata,
    render_as_batch=True,  # SQLite alters a table by copying it
)
with context.begin_transaction():
    context.run_migrations()
