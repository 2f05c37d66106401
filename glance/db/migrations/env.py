"""Alembic environment, configured in code by ``glance.db.migration``.

``glance.db.migration`` passes an open connection (already in a write
transaction) through ``config.attributes["connection"]``; without one,
e.g. when a developer runs the ``alembic`` command, the engine of
``glance.db.session`` is used.
"""
from alembic import context

from glance.db import models
from glance.db import session as db_session

config = context.config
target_metadata = models.Base.metadata


def _configure(connection):
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True)


def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    with db_session.connection(write=True) as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()


def run_migrations_offline():
    context.configure(url=db_session.connection_url(),
                      target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
