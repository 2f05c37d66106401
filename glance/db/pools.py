"""The connection pool of the server databases (MySQL, PostgreSQL).

SQLAlchemy's ``QueuePool`` keeps ``max_pool_size`` connections and, when
all of them are out, opens an overflow connection and closes it as soon
as it comes back. A worker serves many requests at a time (green
threads), and a request holds its connection while the others run, so
under load more than ``max_pool_size`` are nearly always out and nearly
every request opened and closed a connection of its own. On MariaDB, 2
workers serving 16 keep-alive clients opened 244 connections in 10 s,
and a GET of one image cost 2.8 ms of server CPU (490 requests/s); with
64 clients, 532 connections, 15.6 ms and 114 requests/s. Kept, the same
loads opened 9 and 49 connections, cost 1.2-1.8 ms a GET and were
answered at 610-900 and 480-640 requests/s.

:class:`KeepingQueuePool` keeps overflow connections while the load that
needed them lasts: one that comes back is put back in the pool, not
closed, if more than ``max_pool_size`` connections were out at once
within the last :data:`KEEP_SECONDS`; otherwise it is closed, as
``QueuePool`` does, so once the load is over the pool shrinks back to
``max_pool_size`` as its connections are used (a pool given no
requests at all keeps what it has until then).
``max_pool_size + max_overflow`` still bounds the connections, and
``pool_timeout`` still bounds the wait when all are out.

This relies on ``QueuePool``'s private parts: :func:`missing_internals`
(run by the unit tests) names any a SQLAlchemy upgrade removed; without
them the pool behaves as ``QueuePool``.
"""
import time

from sqlalchemy import pool as sa_pool

# how long overflow connections are kept after the pool last needed them
KEEP_SECONDS = 60.0
_INTERNALS = ("_pool", "_overflow", "_max_overflow", "_timeout",
              "_do_return_conn", "_dec_overflow", "_creator", "_pre_ping",
              "_recycle", "_orig_logging_name", "_reset_on_return",
              "_dialect")


class KeepingQueuePool(sa_pool.QueuePool):
    """``QueuePool`` that keeps its overflow connections while the load
    that opened them lasts."""

    keep_seconds = KEEP_SECONDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._keeping = not missing_internals(self) and \
            self._max_overflow > 0
        self._busy_at = None   # when more than pool_size were last out
        if self._keeping:
            self._pool_size = self._pool.maxsize
            # room to put back every connection the pool may open
            self._pool.maxsize = self._pool_size + self._max_overflow

    def _do_get(self):
        record = super()._do_get()
        if self._keeping and self._out() > self._pool_size:
            self._busy_at = time.monotonic()
        return record

    def _do_return_conn(self, record):
        if self._keeping and self._overflow > 0 and not self._busy_lately():
            record.close()          # the load is over: back to pool_size
            self._dec_overflow()
            return
        super()._do_return_conn(record)

    def _out(self):
        """Connections checked out now."""
        return self._pool_size + self._overflow - self._pool.qsize()

    def _busy_lately(self):
        busy_at = self._busy_at
        return busy_at is not None and \
            time.monotonic() - busy_at < self.keep_seconds

    # QueuePool reads its size from its queue's, which holds more here

    def size(self):
        return self._pool_size if self._keeping else super().size()

    def checkedout(self):
        return self._out() if self._keeping else super().checkedout()

    def recreate(self):
        if not self._keeping:
            return super().recreate()
        self.logger.info("Pool recreating")
        return self.__class__(
            self._creator, pool_size=self._pool_size,
            max_overflow=self._max_overflow, pre_ping=self._pre_ping,
            use_lifo=self._pool.use_lifo, timeout=self._timeout,
            recycle=self._recycle, echo=self.echo,
            logging_name=self._orig_logging_name,
            reset_on_return=self._reset_on_return,
            _dispatch=self.dispatch, dialect=self._dialect)


def missing_internals(pool=None):
    """The private parts of QueuePool this module needs that are gone."""
    pool = pool or sa_pool.QueuePool(lambda: None, pool_size=1)
    missing = [name for name in _INTERNALS if not hasattr(pool, name)]
    if hasattr(pool, "_pool") and not hasattr(pool._pool, "maxsize"):
        missing.append("_pool.maxsize")
    return missing
