"""Schema migrations: bring the database to the code's schema.

Alembic is configured here in code (no alembic.ini at runtime). The
migration runs on one connection inside one write transaction; on SQLite
that transaction starts with ``BEGIN IMMEDIATE``, so processes migrating the
same file at once run one after the other, and the later ones find the
schema already at head and do nothing.
"""
import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

from glance.db import session as db_session

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "migrations")


def alembic_cfg(connection=None):
    """An alembic Config for our migrations, optionally bound to a
    connection."""
    cfg = alembic_config.Config()
    cfg.set_main_option("script_location", MIGRATIONS_DIR)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_version():
    """The newest revision the code knows."""
    return alembic_script.ScriptDirectory.from_config(
        alembic_cfg()).get_current_head()


def db_sync(version=None):
    """Upgrade the database to ``version`` (default: the newest)."""
    with db_session.connection(write=True) as conn:
        command.upgrade(alembic_cfg(conn), version or "heads")


def db_version():
    """The database's current revision (None if never migrated)."""
    with db_session.connection(write=False) as conn:
        context = alembic_migration.MigrationContext.configure(conn)
        return context.get_current_revision()


def ensure_schema():
    """Migrate the embedded SQLite database if needed; nothing for servers.

    A database server is migrated by the operator (``glance-manage db
    sync``), never behind their back.
    """
    if not db_session.is_sqlite():
        return
    if db_version() != head_version():
        db_sync()
