"""The connection pool of the server databases (MySQL, PostgreSQL).

SQLAlchemy's ``QueuePool`` keeps ``max_pool_size`` connections and, when
all of them are out, opens an overflow connection and closes it as soon
as it comes back. A worker serves many requests at a time (green
threads), and a request holds its connection while the others run, so
under load more than ``max_pool_size`` are nearly always out and nearly
every request opened and closed a connection of its own. 2 workers, GET
of one image, 10 s of ``wrk`` (two runs each, old code then this):

* MariaDB, 16 clients: 155-318 connections opened, 2.3-2.6 ms of worker
  CPU a GET, 494-543 requests/s; kept: 10-14, 1.1-1.6 ms, 569-1,002.
  64 clients: 606-649 connections, 10.8-13.6 ms, 127-164 requests/s;
  kept: 49, 1.3-1.4 ms, 653-771.
* PostgreSQL (whose server forks a process per connection), 16
  clients: 805-893 connections, 1,005-1,133 requests/s; kept: 9-16,
  2,048-2,204. 64 clients: 1,758-1,828 connections, 383-404
  requests/s; kept: 49, 2,028-2,072.

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
