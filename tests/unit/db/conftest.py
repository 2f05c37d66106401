"""Fixtures running every DB test against SQLite, PostgreSQL and MariaDB.

``db_url`` (session scope, one per backend) creates a uniquely named
database, migrates it with ``db_sync`` and drops it at the end. ``db``
points ``glance.db.session`` at it and empties the tables after each test.

Servers default to the local test instances; override with
GLANCE_TEST_POSTGRESQL_URL / GLANCE_TEST_MYSQL_URL (a server URL ending in
'/'). An unreachable server skips its tests, unless the environment variable
CI is set: then it is a failure.
"""
import contextlib
import os
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import pool as sa_pool

from glance.db import migration
from glance.db import models
from glance.db import session as db_session

SERVERS = {
    "postgresql": os.environ.get(
        "GLANCE_TEST_POSTGRESQL_URL",
        "postgresql+psycopg2://postgres@127.0.0.1:5432/"),
    "mysql": os.environ.get(
        "GLANCE_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/"),
}
URL_QUERY = {"postgresql": "", "mysql": "?charset=utf8mb4"}
CREATE = {"postgresql": "CREATE DATABASE %s ENCODING 'UTF8'",
          "mysql": "CREATE DATABASE %s CHARACTER SET utf8mb4 "
                   "COLLATE utf8mb4_general_ci"}
DROP = {"postgresql": "DROP DATABASE IF EXISTS %s WITH (FORCE)",
        "mysql": "DROP DATABASE IF EXISTS %s"}
# Children first, for the foreign keys.
TABLES = ("task_info", "tasks", "image_locations", "image_members",
          "image_tags", "image_properties", "images",
          "metadef_namespace_resource_types", "metadef_objects",
          "metadef_properties", "metadef_tags", "metadef_resource_types",
          "metadef_namespaces")


def in_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0",
                                                            "false")


def unavailable(message):
    if in_ci():
        pytest.fail(message + " (CI is set: not skipping)")
    pytest.skip(message)


@contextlib.contextmanager
def server_database(backend):
    """Create a fresh database on a server; yield its URL; drop it."""
    server = sa.create_engine(SERVERS[backend], poolclass=sa_pool.NullPool,
                              isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError as e:
        unavailable("%s server %s unreachable: %s"
                    % (backend, SERVERS[backend],
                       str(getattr(e, "orig", e)).strip().splitlines()[0]))
    name = "glance_test_%s" % uuid.uuid4().hex[:8]
    with server.connect() as conn:
        conn.exec_driver_sql(CREATE[backend] % name)
    try:
        yield SERVERS[backend] + name + URL_QUERY[backend]
    finally:
        db_session.configure(None)
        with server.connect() as conn:
            conn.exec_driver_sql(DROP[backend] % name)
        server.dispose()


@contextlib.contextmanager
def migrated_server_database(backend):
    """:func:`server_database`, migrated and in use by glance.db."""
    with server_database(backend) as url:
        db_session.configure(url)
        migration.db_sync()
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql", "mysql"])
def db_url(request, tmp_path_factory):
    """URL of a migrated, empty database of each backend."""
    backend = request.param
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "glance.sqlite"
        stack = contextlib.nullcontext("sqlite:///%s" % path)
    else:
        stack = server_database(backend)
    with stack as url:
        db_session.configure(url)
        migration.db_sync()
        yield url
        db_session.configure(None)


@pytest.fixture
def db(db_url):
    """The database of ``db_url`` in use by glance.db; emptied after."""
    if db_session.connection_url() != db_url:
        db_session.configure(db_url)
    yield db_url
    if db_session.connection_url() != db_url:
        db_session.configure(db_url)
    empty_tables()


def empty_tables():
    """Delete every row of the database in use by glance.db."""
    with db_session.connection(write=True) as conn:
        for table in TABLES:
            conn.execute(models.Base.metadata.tables[table].delete())


@pytest.fixture
def backend(db):
    """Name of the backend under test: sqlite, postgresql or mysql."""
    return db_session.get_engine().dialect.name


class StatementCounter:
    """Counts the SQL statements an engine sends while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements = []

    def _record(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    def __enter__(self):
        self.statements = []
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)

    @property
    def count(self):
        return len(self.statements)


@pytest.fixture
def count_statements(db):
    """``with count_statements() as c: ...; c.count``."""
    return lambda: StatementCounter(db_session.get_engine())
