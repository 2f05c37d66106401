"""Hot one-statement reads, run on the pooled DB-API connection.

Reading one image is the most frequent query, and SQLAlchemy Core's
execution machinery cost as much as the SQL itself: a ``Connection``, a
transaction, an execution context and a ``Result`` per call (a GET of one
image spent a quarter of a worker's time in the read, half of it there).

A :class:`DirectRead` compiles its statement once per dialect with
SQLAlchemy, then runs it on a connection checked out of the engine's pool
(so pre-ping, recycling and the reset on return still apply) and converts
each column with the result processor Core would use. Errors come out as
Core's do (``DBAPIError`` subclasses, the connection invalidated when the
server went away), and values the database refuses as ``Invalid``.

While anything listens to the engine's cursor events (SQL tracing, the
statement counters of the tests), reads take the Core path so the
listeners see them.
"""
import weakref

from sqlalchemy import exc as sa_exc

from glance.db import session as db_session


class _Plan:
    """A statement compiled for one dialect, and how to convert its rows."""

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        if compiled.post_compile_params or compiled._bind_processors:
            raise ValueError("DirectRead takes plain bound parameters only")
        self.sql = compiled.string
        self.names = compiled.positiontup if compiled.positional else None
        self.types = [entry[3] for entry in compiled._result_columns]
        self.processors = None   # from the first cursor's description
        self.dialect = dialect

    def parameters(self, values):
        if self.names is None:
            return values
        return [values[name] for name in self.names]

    def learn(self, description):
        self.processors = [
            type_._cached_result_processor(self.dialect, column[1])
            for type_, column in zip(self.types, description, strict=True)]

    def convert(self, rows):
        steps = [(i, p) for i, p in enumerate(self.processors) if p]
        if not steps:
            return rows
        converted = []
        for row in rows:
            row = list(row)
            for index, processor in steps:
                row[index] = processor(row[index])
            converted.append(row)
        return converted


class DirectRead:
    """A SELECT run straight on a pooled DB-API connection."""

    def __init__(self, statement):
        self.statement = statement
        self._plans = weakref.WeakKeyDictionary()

    def all(self, values):
        """Every row, as sequences in the statement's column order."""
        engine = db_session.get_engine()
        if engine.dispatch.before_cursor_execute or \
                engine.dispatch.after_cursor_execute:
            return self._through_core(values)
        with db_session.translated_errors():
            return self._run(engine, values)

    def _through_core(self, values):
        with db_session.connection(write=False,
                                   one_statement=True) as conn:
            return conn.execute(self.statement, values).all()

    def _run(self, engine, values):
        dialect = engine.dialect
        try:
            fairy = engine.raw_connection()   # pre-ping and recycle here
        except dialect.loaded_dbapi.Error as e:
            raise _wrapped(e, None, None, None, None, dialect) from e
        try:
            plan = self._plans.get(dialect)
            if plan is None:
                plan = self._plans[dialect] = _Plan(self.statement, dialect)
            parameters = plan.parameters(values)
            cursor = fairy.cursor()
            try:
                cursor.execute(plan.sql, parameters)
                if plan.processors is None:
                    plan.learn(cursor.description)
                rows = cursor.fetchall()
            except dialect.loaded_dbapi.Error as e:
                raise _wrapped(e, plan.sql, parameters, fairy, cursor,
                               dialect) from e
            finally:
                cursor.close()
        finally:
            # back to the pool, which rolls back the server's implicit
            # transaction (SQLite runs in autocommit mode: nothing to end)
            fairy.close()
        return plan.convert(rows)


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
