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
import functools
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
from glance.common import process
from glance.db import mariadb_session
from glance.db import mysql_decoders
from glance.db import mysql_results
from glance.db import pools
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
                      "max_pool_size under load. They stay open while "
                      "the load lasts (more than max_pool_size "
                      "connections in use at once within the last "
                      "minute) and close as they come back after.")),
    cfg.IntOpt("pool_timeout", default=30, min=1,
               help=_("Seconds to wait for a pooled connection.")),
    cfg.IntOpt("connection_recycle_time", default=3600, min=-1,
               help=_("Seconds after which a pooled connection is "
                      "replaced; -1 never.")),
    cfg.IntOpt("max_retries", default=10, min=-1,
               help=_("Maximum number of database connection retries "
                      "during startup (glance-api, glance-manage) while "
                      "the database server cannot be reached. Set to -1 "
                      "to specify an infinite retry count.")),
    cfg.IntOpt("retry_interval", default=10, min=0,
               help=_("Interval (seconds) between retries of opening a "
                      "SQL connection during startup.")),
    cfg.BoolOpt("use_prepared_statements", default=True,
                help=_("PostgreSQL only: prepare the frequent reads "
                       "(showing an image, pages of image lists) once per "
                       "connection and run them by name, which saves "
                       "PostgreSQL planning them on every request. Turn "
                       "it off behind a pooler that shares server "
                       "connections between transactions (PgBouncer in "
                       "transaction or statement mode); a process that "
                       "finds its statements gone turns it off by "
                       "itself.")),
]

CONF.register_opts(database_opts, group="database")

# Seconds a SQLite connection waits for another process's write lock.
SQLITE_BUSY_TIMEOUT = 30

# The setup.cfg extra that installs the driver of each server backend.
DRIVER_EXTRAS = {"postgresql": "postgresql", "mysql": "mysql",
                 "mariadb": "mysql"}

# A pooled connection used this recently (seconds) is handed out without
# a ping: the ping was a round trip per request (0.15 ms of a 2.3 ms list
# on PostgreSQL). A server restart or an idle timeout leaves connections
# idle for longer than this, so they are pinged and replaced.
PING_AFTER_IDLE = 1.0
_LAST_USED = "glance_last_used"

_WRITE_OPTION = "glance_write"
_ONE_STATEMENT_OPTION = "glance_one_statement"
_LOCK = threading.Lock()
_ENGINE = None
_CONNECTION_OVERRIDE = None


class DriverMissing(RuntimeError):
    """The Python driver (DB-API module) a connection URL needs is not
    installed; the message says which extra installs it."""


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


@process.after_fork
def _after_fork_in_child():
    """Drop the parent's engine without closing its connections."""
    global _ENGINE, _LOCK
    # another thread of the parent may have held the lock at fork time
    _LOCK = threading.Lock()
    engine = _ENGINE
    _ENGINE = None
    if engine is not None:
        engine.dispose(close=False)


def _create_engine(url):
    url = sa.engine.make_url(url)
    if url.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url)
    pymysql = url.get_backend_name() == "mysql" and \
        url.get_driver_name() == "pymysql"
    if pymysql:
        mysql_results.install()
    opts = CONF.database
    try:
        engine = sa.create_engine(
            url,
            connect_args=mysql_decoders.connect_args(url),
            poolclass=pools.KeepingQueuePool,
            pool_size=opts.max_pool_size,
            max_overflow=opts.max_overflow,
            pool_timeout=opts.pool_timeout,
            pool_recycle=opts.connection_recycle_time,
            # pinged when idle a while only (_ping_when_idle)
            # the connection used last is warm (its server process or
            # thread, its caches): a list of 25 on PostgreSQL took 8%
            # less than taking them in turn; the idle ones age out
            pool_use_lifo=True)
    except (ImportError, sa_exc.NoSuchModuleError) as e:
        raise DriverMissing(_driver_missing_message(url, e)) from None
    if pymysql:
        from glance.db import mysql_tls     # PyMySQL is an extra
        event.listen(engine, "do_connect", mysql_tls.connect)
    if url.get_backend_name() in ("mysql", "mariadb"):
        event.listen(engine, "connect", mariadb_session.on_connect)
    event.listen(engine, "connect", _note_use)
    event.listen(engine, "checkin", _note_use)
    event.listen(engine, "checkout", functools.partial(_ping_when_idle,
                                                       engine.dialect))
    try:
        _wait_for_server(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _note_use(dbapi_conn, record):
    record.info[_LAST_USED] = time.monotonic()


def _ping_when_idle(dialect, dbapi_conn, record, _proxy):
    """Ping a pooled connection idle for PING_AFTER_IDLE or more before
    it is handed out, as SQLAlchemy's pre-ping does every time: a dead
    one (a restarted server, a proxy's idle timeout) is replaced and the
    pool's older connections with it."""
    last = record.info.get(_LAST_USED)
    if last is not None and time.monotonic() - last < PING_AFTER_IDLE:
        return
    try:
        dialect.do_ping(dbapi_conn)
    except dialect.loaded_dbapi.Error as e:
        if not dialect.is_disconnect(e, dbapi_conn, None):
            raise
        raise sa_exc.InvalidatePoolError(str(e)) from e


def _driver_missing_message(url, error):
    """One line: which driver is missing and how to install ours."""
    scheme = url.drivername
    extra = DRIVER_EXTRAS.get(url.get_backend_name())
    module = getattr(error, "name", None) or url.get_driver_name()
    if extra is None:
        return (_("no database driver for %(scheme)s:// URLs (%(err)s); "
                  "supported: sqlite, postgresql, mysql")
                % {"scheme": scheme, "err": error})
    hint = {"postgresql": "postgresql+psycopg2",
            "mysql": "mysql+pymysql"}[extra]
    advice = _("install it with: pip install 'glance[%s]'") % extra
    if scheme != hint:
        advice = (_("use a %(hint)s:// URL and install its driver with: "
                    "pip install 'glance[%(extra)s]'")
                  % {"hint": hint, "extra": extra})
    return (_("database driver missing: %(scheme)s:// needs the Python "
              "module %(module)s; %(advice)s")
            % {"scheme": scheme, "module": module, "advice": advice})


# MySQL client errors meaning "no server there (yet)"
_MYSQL_UNREACHABLE = {2002, 2003, 2005, 2006, 2013}
_PG_UNREACHABLE = ("connection refused", "could not connect",
                   "could not translate host name", "timeout expired",
                   "the database system is starting up",
                   "the database system is shutting down",
                   "server closed the connection unexpectedly",
                   "no such file or directory")


def is_unreachable(error):
    """Whether a DBAPIError says the server cannot be reached (as
    opposed to e.g. a refused password or a missing database)."""
    orig = getattr(error, "orig", error)
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in _MYSQL_UNREACHABLE
    text = str(orig).lower()
    return any(marker in text for marker in _PG_UNREACHABLE)


def _wait_for_server(engine):
    """Open a first connection, retrying while the server cannot be
    reached: ``[database] max_retries`` times (-1: forever), every
    ``retry_interval`` seconds, as oslo.db does at start-up."""
    opts = CONF.database
    retries = 0
    while True:
        e = _connect_error(engine)
        if e is None:
            return
        if not is_unreachable(e) or retries == opts.max_retries:
            raise e
        retries += 1
        # out of the except block, where oslo.log appends the traceback
        LOG.warning(
            "Database %(url)s cannot be reached (%(err)s); retry "
            "%(n)d of %(max)s in %(s)d s",
            {"url": engine.url.render_as_string(hide_password=True),
             "err": _first_line(e.orig),
             "n": retries, "s": opts.retry_interval,
             "max": "unlimited" if opts.max_retries == -1
             else opts.max_retries})
        time.sleep(opts.retry_interval)


def _connect_error(engine):
    """None if a connection opens, else the DBAPIError saying why."""
    try:
        with engine.connect():
            return None
    except sa_exc.DBAPIError as e:
        return e


def _create_sqlite_engine(url):
    kwargs = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT,
                               "check_same_thread": False}}
    in_memory = url.database in (None, "", ":memory:")
    if in_memory:
        kwargs["poolclass"] = sa_pool.StaticPool
    else:
        kwargs["pool_use_lifo"] = True   # see _create_engine
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
    options = conn.get_execution_options()
    if options.get(_WRITE_OPTION):
        _begin_immediate(conn)
    elif not options.get(_ONE_STATEMENT_OPTION):
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
def translated_errors():
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
def connection(write=True, one_statement=False):
    """A Core connection in a transaction, committed when the block ends.

    ``write=True`` takes SQLite's write lock at BEGIN. This is the cheap
    way in: no ORM session is built. Values the database refuses raise
    Invalid.

    ``one_statement=True`` (a read of one statement) sends no BEGIN on
    SQLite: one statement is a transaction of its own there (the
    connections run in the sqlite3 module's autocommit mode), and the
    BEGIN cost as much as a small SELECT. The other databases are
    unchanged: autocommit mode measured no faster on PostgreSQL, and
    slower on MariaDB (PyMySQL switches it with a statement each way).
    """
    engine = get_engine()
    with translated_errors(), engine.connect() as conn:
        if write:
            conn.execution_options(**{_WRITE_OPTION: True})
        elif one_statement:
            conn.execution_options(**{_ONE_STATEMENT_OPTION: True})
        with conn.begin():
            yield conn


def _first_line(error):
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


@contextlib.contextmanager
def schema_connection():
    """A write connection for schema migrations.

    On SQLite, foreign keys are off for its duration (rebuilding a table
    drops and renames it, which must not touch the rows that point to it)
    and ``PRAGMA foreign_key_check`` must find nothing before the commit.
    """
    engine = get_engine()
    if not is_sqlite(engine):
        with connection(write=True) as conn:
            yield conn
        return
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        raw.execute("PRAGMA foreign_keys = OFF")
        try:
            conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn
                bad = conn.exec_driver_sql(
                    "PRAGMA foreign_key_check").fetchall()
                if bad:
                    raise sa_exc.IntegrityError(
                        "PRAGMA foreign_key_check", None,
                        Exception("foreign keys broken: %s" % bad[:5]))
        finally:
            raw.execute("PRAGMA foreign_keys = ON")


@contextlib.contextmanager
def _transaction(write):
    engine = get_engine()
    with translated_errors(), engine.connect() as conn:
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
