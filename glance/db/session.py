"""Engine and transaction management for the metadata database.

One SQLAlchemy engine per process, built lazily from ``[database]
connection`` (or the embedded SQLite file under ``state_path``), dropped in a
forked child so a worker never shares its parent's sockets or file handles.

Every query in ``glance.db`` runs inside :func:`connection` (a Core
connection: the image paths, which only run Core statements) or
:func:`reader` / :func:`writer` (an ORM session over one). On SQLite a writer
starts with ``BEGIN IMMEDIATE``: it takes the write lock up front (waiting up
to the busy timeout, with green-friendly sleeps), so concurrent worker
processes queue instead of failing with "database is locked" when a read
lock would have to be upgraded in the middle of a transaction.
"""
import contextlib
import os
import sqlite3
import threading
import time

from oslo_config import cfg
from oslo_log import log as logging
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy import orm
from sqlalchemy import pool as sa_pool

from glance.common import config
from glance.common import exception
from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

database_opts = [
    cfg.StrOpt("connection", secret=True,
               help=_("SQLAlchemy URL of the metadata database, e.g. "
                      "mysql+pymysql://glance:pw@host/glance. Unset: an "
                      "SQLite file glance.sqlite under state_path.")),
    cfg.IntOpt("max_pool_size", default=5, min=1,
               help=_("Connections kept open in each worker's pool.")),
    cfg.IntOpt("max_overflow", default=50, min=0,
               help=_("Connections a worker may open beyond "
                      "max_pool_size under load.")),
    cfg.IntOpt("pool_timeout", default=30, min=1,
               help=_("Seconds to wait for a pooled connection.")),
    cfg.IntOpt("connection_recycle_time", default=3600, min=-1,
               help=_("Seconds after which a pooled connection is "
                      "replaced; -1 never.")),
]

CONF.register_opts(database_opts, group="database")

# Seconds a SQLite connection waits for another process's write lock.
SQLITE_BUSY_TIMEOUT = 30

_WRITE_OPTION = "glance_write"
_LOCK = threading.Lock()
_ENGINE = None
_CONNECTION_OVERRIDE = None


def list_opts():
    """The options of this module, for glance.opts."""
    return [("database", database_opts)]


def configure(connection=None):
    """Forget the current engine and use ``connection`` from now on.

    ``connection=None`` goes back to ``[database] connection`` (or the
    embedded SQLite default). Meant for tests and command-line tools.
    """
    global _ENGINE, _CONNECTION_OVERRIDE
    with _LOCK:
        if _ENGINE is not None:
            _ENGINE.dispose()
        _ENGINE = None
        _CONNECTION_OVERRIDE = connection


def connection_url():
    """The URL of the database in use, as a string."""
    if _CONNECTION_OVERRIDE:
        return _CONNECTION_OVERRIDE
    if CONF.database.connection:
        return CONF.database.connection
    return "sqlite:///%s" % config.state_path("glance.sqlite")


def get_engine():
    """This process's engine, created on first use."""
    global _ENGINE
    engine = _ENGINE
    if engine is not None:
        return engine
    with _LOCK:
        if _ENGINE is None:
            _ENGINE = _create_engine(connection_url())
        return _ENGINE


def is_sqlite(engine=None):
    """Whether the engine (default: this process's) talks to SQLite."""
    engine = engine or get_engine()
    return engine.dialect.name == "sqlite"


def _after_fork_in_child():
    """Drop the parent's engine without closing its connections."""
    global _ENGINE, _LOCK
    # another thread of the parent may have held the lock at fork time
    _LOCK = threading.Lock()
    engine = _ENGINE
    _ENGINE = None
    if engine is not None:
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork_in_child)


def _create_engine(url):
    url = sa.engine.make_url(url)
    if url.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url)
    opts = CONF.database
    return sa.create_engine(
        url,
        pool_size=opts.max_pool_size,
        max_overflow=opts.max_overflow,
        pool_timeout=opts.pool_timeout,
        pool_recycle=opts.connection_recycle_time,
        pool_pre_ping=True)


def _create_sqlite_engine(url):
    kwargs = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT,
                               "check_same_thread": False}}
    in_memory = url.database in (None, "", ":memory:")
    if in_memory:
        kwargs["poolclass"] = sa_pool.StaticPool
    else:
        directory = os.path.dirname(os.path.abspath(url.database))
        os.makedirs(directory, exist_ok=True)
    engine = sa.create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_conn, _record):
    # Let SQLAlchemy, not the sqlite3 module, decide when BEGIN is sent.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout = %d"
                       % (SQLITE_BUSY_TIMEOUT * 1000))
        cursor.execute("PRAGMA foreign_keys = ON")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _use_wal(cursor):
    """Switch the file to WAL once; retry while another process does.

    The switch needs an exclusive lock, and SQLite may refuse it at once
    (no busy wait) while several processes open a new file together.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if mode.lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


def _sqlite_on_begin(conn):
    if conn.get_execution_options().get(_WRITE_OPTION):
        _begin_immediate(conn)
    else:
        conn.exec_driver_sql("BEGIN")


def _begin_immediate(conn):
    """BEGIN IMMEDIATE, waiting for the write lock with short sleeps.

    SQLite's own busy handler sleeps inside the C library (1, 2, 5 ... 100
    ms steps): under eventlet that freezes every request of the worker, and
    it oversleeps short transactions. Here the wait is ``time.sleep`` (a
    green sleep in the daemon), backing off from 0.5 to 5 ms, for at most
    ``SQLITE_BUSY_TIMEOUT`` seconds.
    """
    raw = conn.connection.dbapi_connection
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
        delay = 0.0005
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except sa_exc.OperationalError as e:
                if ("locked" not in str(e.orig)
                        or time.monotonic() + delay > deadline):
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.005)
    finally:
        raw.execute("PRAGMA busy_timeout = %d" % (SQLITE_BUSY_TIMEOUT * 1000))


@contextlib.contextmanager
def _errors_translated():
    """Values the database refuses become Invalid (400), not a 500."""
    try:
        yield
    except sa_exc.DataError as e:
        raise exception.Invalid(
            _("Value rejected by the database: %s") % e.orig) from e
    except ValueError as e:
        # psycopg2 refuses NUL characters before anything is sent
        if "NUL" not in str(e):
            raise
        raise exception.Invalid(
            _("Value rejected by the database: %s") % e) from e


@contextlib.contextmanager
def connection(write=True):
    """A Core connection in a transaction, committed when the block ends.

    ``write=True`` takes SQLite's write lock at BEGIN. This is the cheap
    way in: no ORM session is built. Values the database refuses raise
    Invalid.
    """
    engine = get_engine()
    with _errors_translated(), engine.connect() as conn:
        if write:
            conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn


@contextlib.contextmanager
def _transaction(write):
    engine = get_engine()
    with _errors_translated(), engine.connect() as conn:
        if write:
            conn.execution_options(**{_WRITE_OPTION: True})
        session = orm.Session(bind=conn, autoflush=False,
                              expire_on_commit=False)
        try:
            with session.begin():
                yield session
        finally:
            session.close()


def writer():
    """A session in a write transaction; commits when the block ends."""
    return _transaction(write=True)


def reader():
    """A session in a read transaction."""
    return _transaction(write=False)
