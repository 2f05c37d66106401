"""Hot reads, run on the pooled DB-API connection.

Showing an image and a first page of a list are the most frequent
queries, and SQLAlchemy Core's execution machinery cost as much as their
SQL: a ``Connection``, a transaction, an execution context and a
``Result`` per statement (a GET of one image spent a quarter of a
worker's time in the read, half of it there).

A :class:`DirectRead` compiles its statement once per dialect with
SQLAlchemy, then runs it on a connection checked out of the engine's pool
(so pre-ping, recycling and the reset on return still apply), binds the
values as Core would (bind processors, the dialect's parameter style)
and converts each column with the result processor Core would use.
Errors come out as Core's do (``DBAPIError`` subclasses, the connection
invalidated when the server went away), and values the database refuses
as ``Invalid``. A statement Core must finish compiling per execution
(expanding ``IN`` lists, escaped or literal-rendered parameters) runs
through Core.

While anything listens to the engine's cursor events (SQL tracing, the
statement counters of the tests), reads take the Core path so the
listeners see them (:func:`usable`). So does every read on a SQLAlchemy
without the private parts a plan uses (:func:`missing_internals`).

Inside :func:`shared_reads` the direct reads of a green thread share the
connection the first of them checked out (one snapshot on MySQL, one
return to the pool and its ROLLBACK): what a GET of a shared image by a
member reads, the image and the membership.

On SQLite the reads of one thread keep their connection
(:func:`_kept_reader`): the pool's checkout and return cost a GET of one
image a tenth of a worker's CPU (2 workers, 64 ``wrk`` clients, served
in turn: 0.50-0.56 ms a GET through the pool, 0.45-0.48 kept), and a
SQLite connection has nothing a return to the pool would refresh (no
server, no idle timeout).
"""
import contextlib
import contextvars
import os
import threading
import weakref

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.sql import compiler
from sqlalchemy import types as sa_types

from glance.db import pg_prepared
from glance.db import session as db_session

# the private parts of SQLAlchemy a plan relies on: compiled statements'
# bind processors and result columns, and a type's result processor
_INTERNALS = ((compiler.SQLCompiler, "_bind_processors"),
              (compiler.SQLCompiler, "_result_columns"),
              (sa_types.TypeEngine, "_cached_result_processor"))


def missing_internals():
    """The private parts of SQLAlchemy this module needs that are gone
    (then every read takes the Core path); run by the unit tests."""
    return ["%s.%s" % (owner.__name__, name) for owner, name in _INTERNALS
            if not hasattr(owner, name)]


_USABLE_SQLALCHEMY = not missing_internals()


def usable(engine):
    """Whether reads may bypass Core on ``engine`` (nothing listens to
    its cursor events)."""
    dispatch = engine.dispatch
    return not (dispatch.before_cursor_execute or
                dispatch.after_cursor_execute)


class _Plan:
    """A statement compiled for one dialect, and how to bind and convert."""

    def __init__(self, compiled, dialect):
        self.compiled = compiled
        self.dialect = dialect
        self.sql = compiled.string
        self.names = compiled.positiontup if compiled.positional else None
        self.bind_processors = dict(compiled._bind_processors)
        # values passed at execution only, none embedded or converted
        self.plain = not self.bind_processors and all(
            bind.required for bind in compiled.binds.values())
        # the parameters of a call without values: those bound in the
        # statement itself
        self.embedded = None
        self.types = [entry[3] for entry in compiled._result_columns]
        # (column index, result processor) of the columns Core converts,
        # from the first cursor's description
        self.steps = None
        self.prepared = None    # its pg_prepared.Statement, once used
        # the same, its values written in it, for calls without values,
        # and whether these use it (None: not known yet; pg_prepared)
        self.prepared_constant = None
        self.constant = None

    @classmethod
    def of(cls, statement, dialect):
        """The plan, or None when Core must compile per execution (or
        this SQLAlchemy lacks what a plan needs)."""
        if not _USABLE_SQLALCHEMY:
            return None
        compiled = statement.compile(dialect=dialect)
        if compiled.post_compile_params or compiled.escaped_bind_names or \
                compiled.literal_execute_params:
            return None
        return cls(compiled, dialect)

    def parameters(self, values):
        """The statement's parameters in the dialect's style."""
        if self.plain:
            return self._ordered(values)
        if values:
            return self._bound(self.compiled.construct_params(values))
        if self.embedded is None:
            self.embedded = self._bound(self.compiled.construct_params())
        return self.embedded

    def _bound(self, params):
        for name, processor in self.bind_processors.items():
            if name in params:
                params[name] = processor(params[name])
        return self._ordered(params)

    def _ordered(self, params):
        if self.names is None:
            return params
        return [params[name] for name in self.names]

    def learn(self, description):
        processors = [
            type_._cached_result_processor(self.dialect, column[1])
            for type_, column in zip(self.types, description, strict=True)]
        self.steps = [(i, p) for i, p in enumerate(processors) if p]

    def convert(self, rows):
        steps = self.steps
        if not steps:
            return rows
        converted = []
        for row in rows:
            row = list(row)
            for index, processor in steps:
                row[index] = processor(row[index])
            converted.append(row)
        return converted


_CORE_ONLY = object()
_IDLE = 0     # psycopg2.extensions.TRANSACTION_STATUS_IDLE


class DirectRead:
    """A SELECT run straight on a pooled DB-API connection."""

    def __init__(self, statement):
        self.statement = statement
        self._plans = weakref.WeakKeyDictionary()

    def plan(self, dialect):
        """The plan for ``dialect``, None if the statement needs Core."""
        plan = self._plans.get(dialect)
        if plan is None:
            plan = _Plan.of(self.statement, dialect) or _CORE_ONLY
            self._plans[dialect] = plan
        return None if plan is _CORE_ONLY else plan

    def all(self, values):
        """Every row, as sequences in the statement's column order."""
        engine = db_session.get_engine()
        if not usable(engine) or self.plan(engine.dialect) is None:
            with db_session.connection(write=False,
                                       one_statement=True) as conn:
                return conn.execute(self.statement, values).all()
        shared = _SHARED.get()
        if shared is not None:
            with db_session.translated_errors():
                return shared.reader(engine).all(self, values)
        with reading(engine) as reader:
            return reader.all(self, values)


_SHARED = contextvars.ContextVar("glance_shared_reads", default=None)


class _SharedReads:
    """The connection the direct reads of a :func:`shared_reads` block
    share, checked out by the first of them."""

    def __init__(self):
        self.stack = contextlib.ExitStack()
        self.engine = None
        self._reader = None

    def reader(self, engine):
        if self._reader is None or self.engine is not engine:
            self.stack.close()    # (the engine was configured anew)
            self._reader = self.stack.enter_context(reading(engine))
            self.engine = engine
        return self._reader


@contextlib.contextmanager
def shared_reads():
    """The direct reads in the block (in this green thread) run on one
    pooled connection, returned when the block ends; nested blocks use
    the outer one's. Keep writes and other Core work out of the block: a
    green thread waiting for a second connection while it holds one could
    leave the pool with none to hand out under load."""
    if _SHARED.get() is not None:
        yield
        return
    shared = _SharedReads()
    token = _SHARED.set(shared)
    try:
        yield
    finally:
        _SHARED.reset(token)
        shared.stack.close()


class _Reader:
    """DirectReads on one checked-out connection."""

    def __init__(self, fairy, dialect, prepare):
        self.fairy = fairy
        self.dialect = dialect
        self.prepare = prepare

    def all(self, read, values):
        plan = read.plan(self.dialect)
        parameters = plan.parameters(values)
        cursor = self.fairy.cursor()
        error = self.dialect.loaded_dbapi.Error
        try:
            if self.prepare:
                pg_prepared.execute(self.fairy, cursor, plan, parameters,
                                    error, constant=not values)
            else:
                cursor.execute(plan.sql, parameters)
            if plan.steps is None:
                plan.learn(cursor.description)
            rows = cursor.fetchall()
        except error as e:
            raise _wrapped(e, plan.sql, parameters, self.fairy, cursor,
                           self.dialect) from e
        finally:
            cursor.close()
        return plan.convert(rows)


@contextlib.contextmanager
def reading(engine, snapshot=False):
    """A :class:`_Reader` on a pooled connection, returned at the end
    (on SQLite without ``snapshot``: the thread's kept one).

    With ``snapshot`` its reads see one state of the database: on SQLite
    (autocommit mode) between a BEGIN and a COMMIT; on MySQL in the
    transaction the first one opens (the pool's reset rolls it back), as
    Core does. PostgreSQL (psycopg2) runs each read in autocommit mode,
    prepared where this process may (``pg_prepared``): in its READ
    COMMITTED transactions each statement sees a snapshot of its own all
    the same, so this only saves the BEGIN and ROLLBACK round trips.
    """
    dialect = engine.dialect
    autocommit = _autocommits(dialect)
    with db_session.translated_errors():
        if not snapshot and dialect.name == "sqlite":
            kept = _kept_reader(engine)
            if kept is not None:
                yield kept
                return
        fairy = _checkout(engine)
        try:
            if snapshot and dialect.name == "sqlite":
                _send(fairy, dialect, "BEGIN")
                yield _Reader(fairy, dialect, False)
                _send(fairy, dialect, "COMMIT")
            elif autocommit and _set_autocommit(fairy, True):
                try:
                    yield _Reader(fairy, dialect,
                                  pg_prepared.wanted(dialect))
                finally:
                    _set_autocommit(fairy, False)
            else:
                yield _Reader(fairy, dialect, False)
        finally:
            # back to the pool, which rolls back what is still open
            fairy.close()


def _checkout(engine):
    """A connection from the engine's pool (pinged if idle, recycled),
    errors raised as Core raises them."""
    try:
        return engine.raw_connection()
    except engine.dialect.loaded_dbapi.Error as e:
        raise _wrapped(e, None, None, None, None, engine.dialect) from e


class _Kept:
    """The reader a process keeps on a SQLite engine for one thread."""

    def __init__(self, reader):
        self.reader = reader
        self.pid = os.getpid()
        self.thread = threading.get_native_id()


# engine -> its _Kept (an engine's pool keeps no reference to it)
_KEPT = weakref.WeakKeyDictionary()


def _kept_reader(engine):
    """The reader the calling OS thread keeps on the SQLite ``engine``;
    None when another thread of this process keeps it (only the first
    thread to read keeps one, so a server of native threads leaves its
    pool to the others; in a green worker every request runs in that
    thread). Its reads are safe to share between green threads: each
    runs to its end without yielding, outside any transaction (the
    connection is in autocommit mode and a snapshot takes a pooled one).
    A child forgets its parent's reader; the engine's disposal gives it
    back to the pool."""
    kept = _KEPT.get(engine)
    if kept is not None and kept.pid == os.getpid():
        if kept.thread != threading.get_native_id():
            return None
        if kept.reader.fairy.is_valid:
            return kept.reader
    if not event.contains(engine, "engine_disposed", _give_back):
        event.listen(engine, "engine_disposed", _give_back)
    reader = _Reader(_checkout(engine), engine.dialect, False)
    _KEPT[engine] = _Kept(reader)
    return reader


def _give_back(engine):
    """The engine is disposed: its kept reader goes back to the pool
    (in the process that checked it out)."""
    kept = _KEPT.pop(engine, None)
    if kept is not None and kept.pid == os.getpid():
        kept.reader.fairy.close()


def _autocommits(dialect):
    return dialect.name == "postgresql" and dialect.driver == "psycopg2"


def _set_autocommit(fairy, on):
    """psycopg2's autocommit switch (no round trip); False when the
    connection is closed or inside a transaction (then it is left as
    it is)."""
    raw = fairy.dbapi_connection
    if raw is None or raw.closed or \
            raw.get_transaction_status() != _IDLE:
        return False
    raw.autocommit = on
    return True


def _send(fairy, dialect, sql):
    try:
        fairy.dbapi_connection.execute(sql)
    except dialect.loaded_dbapi.Error as e:
        raise _wrapped(e, sql, None, fairy, None, dialect) from e


def _wrapped(error, sql, parameters, fairy, cursor, dialect):
    """The DBAPIError Core would raise (``fairy`` None: no connection could
    be opened); a dead connection is invalidated so the pool opens a new
    one rather than handing it out again."""
    raw = fairy.dbapi_connection if fairy is not None else None
    gone = dialect.is_disconnect(error, raw, cursor)
    if gone and fairy is not None:
        fairy.invalidate(error)
    return sa_exc.DBAPIError.instance(
        sql, parameters, error, dialect.loaded_dbapi.Error,
        connection_invalidated=gone, dialect=dialect)
