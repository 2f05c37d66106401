"""Schema migrations: bring the database to the code's schema.

Alembic is configured here in code (no alembic.ini at runtime). The
migration runs on one connection inside one write transaction; on SQLite
that transaction starts with ``BEGIN IMMEDIATE``, so processes migrating the
same file at once run one after the other, and the later ones find the
schema already at head and do nothing.

A database written by OpenStack Glance (at one of Glance's own alembic
revisions) is first adopted: reshaped in place into our revision 0001 by
``glance.db.migrations.from_glance``, then upgraded as usual.
"""
import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script
from oslo_log import log as logging

from glance.db import session as db_session
from glance.db.migrations import from_glance

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "migrations")

AdoptionError = from_glance.AdoptionError
LOG = logging.getLogger(__name__)


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
    """Upgrade the database to ``version`` (default: the newest),
    adopting a Glance database first. True if Glance's was adopted."""
    with db_session.schema_connection() as conn:
        adopted = from_glance.adopt(conn)
        command.upgrade(alembic_cfg(conn), version or "heads")
    return adopted


def db_heads():
    """The revisions recorded in the database (empty: never migrated)."""
    with db_session.connection(write=False) as conn:
        return alembic_migration.MigrationContext.configure(
            conn).get_current_heads()


def db_version():
    """The database's current revision (None if never migrated); several
    Glance heads are joined with ', '."""
    return ", ".join(db_heads()) or None


def is_glance_database():
    """Whether the database is at an OpenStack Glance revision."""
    return from_glance.is_glance(db_heads())


def needs_upgrade():
    """Whether ``db_sync`` has anything to do."""
    return db_heads() != (head_version(),)


def ensure_schema():
    """Migrate the embedded SQLite database if needed; nothing for servers.

    A database server is migrated by the operator (``glance-manage db
    sync``), never behind their back (see :func:`warn_if_behind`).
    """
    if not db_session.is_sqlite():
        return
    if needs_upgrade():
        db_sync()


def warn_if_behind():
    """Log a warning saying what to run if the database is not at the
    code's revision (a Glance database not adopted yet, or an older one
    of ours): glance-api serves it as it is."""
    heads, head = db_heads(), head_version()
    if heads == (head,):
        return
    LOG.warning("The database is at %(what)s %(heads)s, not at this "
                "service's revision %(head)s: run 'glance-manage db sync'",
                {"what": "OpenStack Glance's revision"
                 if from_glance.is_glance(heads) else "revision",
                 "heads": ", ".join(heads) or "none (empty)",
                 "head": head})
