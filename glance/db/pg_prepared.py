"""PostgreSQL: the hot reads prepared once per connection, run by name.

PostgreSQL plans a statement each time it is sent. The list statements
join and union several parts, and planning them took 1-2.5 ms of a 2-4 ms
read at 100k images; a prepared statement is planned once per connection
(PostgreSQL then keeps a generic plan when it is no worse than the custom
ones), so the same reads took 0.9-2.3 ms.

A statement is named by a hash of its SQL, so one name means one SQL
everywhere. Each connection remembers which names it prepared (in the
pool's per-connection ``info``, which goes with the DB-API connection)
and keeps at most :data:`KEPT_PER_CONNECTION`, deallocating the oldest.

The reads run in autocommit mode (``direct_read.reading``), so a failed
PREPARE or EXECUTE aborts no transaction and is mended in place:

* the statement is gone from the server session (a pooler such as
  PgBouncer in transaction mode hands out server sessions per
  transaction, or someone ran DISCARD ALL), or another client prepared
  the same name on our session (only a pooler sharing sessions does
  that): this process stops preparing (a warning says why) and the read
  runs plainly;
* a schema change altered a result column ("cached plan must not change
  result type"): the statement is prepared again;
* PostgreSQL cannot prepare the statement (a parameter whose type it
  cannot infer): that statement is run plainly from then on.
"""
import collections
import hashlib
import logging
import re

from oslo_config import cfg

LOG = logging.getLogger(__name__)
CONF = cfg.CONF   # [database] use_prepared_statements: glance.db.session

# per connection: a prepared list statement holds about 160 KiB of the
# server session's memory (pg_backend_memory_contexts, 33 statements of
# the scale benchmark: 5.4 MB), the children read of 1,024 images 1 MiB;
# 32 keep what a worker reads most within a few MiB per session
KEPT_PER_CONNECTION = 32
# executions of a statement on a connection after which PostgreSQL has
# made its choice between planning each one and one generic plan (it
# plans the first five for their values, and chooses at the sixth)
DECIDED_AFTER = 6

_INFO_KEY = "glance_prepared"
_PARAMETER = re.compile(r"%\(([^)]+)\)s|%%")
# SQLSTATEs
_GONE = "26000"            # invalid_sql_statement_name
_DUPLICATE = "42P05"       # duplicate_prepared_statement
_RESULT_CHANGED = "0A000"  # cached plan must not change result type

_turned_off = False


def wanted(dialect):
    """Whether reads on ``dialect`` are prepared in this process (with
    psycopg2, whose simple query protocol sends our SQL as written)."""
    return (dialect.name == "postgresql" and dialect.driver == "psycopg2"
            and not _turned_off and CONF.database.use_prepared_statements)


def turn_back_on():
    """For tests: forget that this process turned preparing off."""
    global _turned_off
    _turned_off = False


def _turn_off(why):
    global _turned_off
    if not _turned_off:
        LOG.warning("PostgreSQL prepared statements turned off in this "
                    "process: %s. Set [database] use_prepared_statements "
                    "= false behind a pooler that shares server sessions.",
                    why)
    _turned_off = True


class Statement:
    """PREPARE and EXECUTE of one plan's SQL (psycopg2 ``pyformat``);
    with ``constant``, SQL whose values are written in it already."""

    def __init__(self, sql, constant=False):
        # what runs plainly when the statement is not prepared: the SQL
        # itself, with no parameters when they are written in it
        self.sql = sql
        if constant:
            self._named(sql)
            self.prepare = "PREPARE %s AS %s" % (self.name, sql)
            self.execute = "EXECUTE " + self.name
            return
        numbers = {}

        def positional(match):
            if match.group(0) == "%%":
                return "%"
            return "$%d" % numbers.setdefault(match.group(1),
                                              len(numbers) + 1)

        body = _PARAMETER.sub(positional, sql)
        self._named(body)
        self.prepare = "PREPARE %s AS %s" % (self.name, body)
        arguments = ", ".join("%%(%s)s" % name for name in numbers)
        self.execute = "EXECUTE " + self.name + (
            " (%s)" % arguments if numbers else "")

    def _named(self, body):
        self.name = "glance_" + hashlib.blake2b(
            body.encode(), digest_size=12).hexdigest()
        self.usable = True


def execute(fairy, cursor, plan, parameters, error, constant=False):
    """Run ``plan`` on ``cursor`` (of a connection in autocommit mode) as
    a prepared statement, prepared on this connection first if need be;
    plainly when it cannot be. ``error``: the driver's base exception.

    ``constant``: ``parameters`` are the values the plan's statement
    holds itself (a first page's filters and viewer), the same at every
    call. PostgreSQL plans a statement with parameters for their values
    at each of its first five executions, then keeps one generic plan if
    that looks no dearer than those. Where it does not, as for tag,
    property and owner filters at 100k images, it plans again at every
    execution (0.1-0.5 ms a time): once a connection has run such a
    statement :data:`DECIDED_AFTER` times and PostgreSQL has kept no
    generic plan of it, the process prepares it with its values written
    in it instead, planned once for them. Where it keeps a generic plan,
    that plan stays: for some filters it beat the plan for the values
    (a plain project's status=queued: 0.7 ms against 2.2).
    """
    if constant and parameters and plan.constant is None:
        plan.constant = _decided(fairy, cursor, plan, error)
    if constant and parameters and plan.constant:
        statement = plan.prepared_constant
        if statement is None:
            statement = plan.prepared_constant = Statement(
                cursor.mogrify(plan.sql, parameters).decode(), True)
        parameters = None
    else:
        statement = plan.prepared
        if statement is None:
            statement = plan.prepared = Statement(plan.sql)
    kept = _kept(fairy)
    for attempt in (1, 2):
        if statement.name in kept:
            kept.move_to_end(statement.name)
        elif not (statement.usable and _turned_off is False and
                  _prepare(cursor, statement, kept, error)):
            break
        try:
            cursor.execute(statement.execute, parameters)
            kept[statement.name] += 1
            return
        except error as e:
            code = getattr(e, "pgcode", None)
            if code == _GONE:
                kept.clear()
                _turn_off("a prepared statement vanished from its session")
                break
            if code != _RESULT_CHANGED or attempt == 2:
                raise
            del kept[statement.name]
            _deallocate(cursor, statement.name, error)
    if parameters is None:
        cursor.execute(statement.sql)
    else:
        cursor.execute(statement.sql, parameters)


def _kept(fairy):
    """{name: executions} of the statements prepared on a connection,
    the one used last at the end."""
    kept = fairy.info.get(_INFO_KEY)
    if kept is None:
        kept = fairy.info[_INFO_KEY] = collections.OrderedDict()
    return kept


def _decided(fairy, cursor, plan, error):
    """Whether ``plan``'s statement is to be prepared with its values in
    it (True), with parameters (False), or not known yet (None): not
    until this connection has run it :data:`DECIDED_AFTER` times."""
    statement = plan.prepared
    if statement is None or _kept(fairy).get(statement.name, 0) < \
            DECIDED_AFTER:
        return None
    try:
        cursor.execute("SELECT generic_plans FROM pg_prepared_statements "
                       "WHERE name = %s", (statement.name,))
        row = cursor.fetchone()
    except error as e:
        if getattr(e, "pgcode", None) is None:
            raise     # no answer from the server: the connection is gone
        return False  # before PostgreSQL 14: no such column
    return row is not None and row[0] == 0


def _prepare(cursor, statement, kept, error):
    """Prepare ``statement`` on this connection; False if it could not
    be (then the caller runs it plainly)."""
    if len(kept) >= KEPT_PER_CONNECTION:
        oldest, _ = kept.popitem(last=False)
        if not _deallocate(cursor, oldest, error):
            return False
    try:
        cursor.execute(statement.prepare)
    except error as e:
        if getattr(e, "pgcode", None) is None:
            raise     # no answer from the server: the connection is gone
        if e.pgcode == _DUPLICATE:
            _turn_off("another client prepared %s on this session"
                      % statement.name)
        else:
            statement.usable = False
            LOG.debug("not prepared (%s): %s", e.pgcode, statement.prepare)
        return False
    kept[statement.name] = 0
    return True


def _deallocate(cursor, name, error):
    """Drop a prepared statement of this session; False (and preparing
    turned off) when the session does not have it."""
    try:
        cursor.execute("DEALLOCATE " + name)
    except error as e:
        if getattr(e, "pgcode", None) != _GONE:
            raise
        _turn_off("a prepared statement vanished from its session")
        return False
    return True
