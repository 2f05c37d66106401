"""The glance-api supervisor's scoreboard: a shared page, a slot per worker.

The supervisor maps an anonymous shared page before it forks anything and
gives each worker a slot of it. The worker writes; every process reads:

* ``beat``: when the worker's hub last ran its heartbeat green thread
  (``time.monotonic_ns()``: CLOCK_MONOTONIC is the same clock in every
  process of the host). A worker whose hub is blocked (a C call that
  never returns, a deadlock, SIGSTOP) stops beating; the supervisor
  kills it after ``worker_timeout`` (see :mod:`glance.common.arbiter`).
* ``state``: booting, serving or draining.
* ``connections``: the client connections the worker has open, so that a
  worker can leave the next connection to a less loaded sibling
  (:meth:`Scoreboard.serving_loads`).
* ``requests``: requests served, for benchmarks and logs.

Each field is one aligned 64-bit word written in one store, so a reader
never sees half a value. The page holds :data:`SLOTS` slots; a worker
that finds none free runs without a slot (no watchdog, no balancing).
"""
import mmap
import time

__all__ = ["BOOTING", "DRAINING", "SERVING", "SLOTS", "Scoreboard", "Slot"]

SLOTS = 256
_WORDS = 8                      # 64 bytes: one cache line per slot
_PID, _BEAT, _STATE, _CONNECTIONS, _REQUESTS = range(5)
BOOTING, SERVING, DRAINING = 0, 1, 2


class Scoreboard:
    """The shared page (made by the supervisor before it forks)."""

    def __init__(self, slots=SLOTS):
        self.slots = slots
        self._map = mmap.mmap(-1, slots * _WORDS * 8)
        self._words = memoryview(self._map).cast("q")

    def allocate(self):
        """A free slot for a worker about to be forked, or None."""
        for index in range(self.slots):
            if self._word(index, _PID) == 0:
                base = index * _WORDS
                self._words[base:base + _WORDS] = memoryview(
                    bytes(_WORDS * 8)).cast("q")
                self._set(index, _PID, -1)   # taken; the pid comes later
                return Slot(self, index)
        return None

    def free(self, slot):
        if slot is not None:
            self._set(slot.index, _PID, 0)

    def workers(self):
        """``(pid, state, connections)`` of every slot in use."""
        rows = []
        for index in range(self.slots):
            pid = self._word(index, _PID)
            if pid > 0:
                rows.append((pid, self._word(index, _STATE),
                             self._word(index, _CONNECTIONS)))
        return rows

    def serving_loads(self):
        """The open connections of each serving worker."""
        return [conns for _pid, state, conns in self.workers()
                if state == SERVING]

    def close(self):
        self._words.release()
        self._map.close()

    def _word(self, index, field):
        return self._words[index * _WORDS + field]

    def _set(self, index, field, value):
        self._words[index * _WORDS + field] = value


class Slot:
    """One worker's slot; the worker writes it, the supervisor reads it."""

    def __init__(self, board, index):
        self.board = board
        self.index = index

    def __repr__(self):
        return "<slot %d>" % self.index

    def _get(self, field):
        return self.board._word(self.index, field)

    def _put(self, field, value):
        self.board._set(self.index, field, value)

    # the worker's side

    def claim(self, pid):
        """Record ``pid`` as this slot's worker (booting, no beat yet)."""
        self._put(_PID, pid)

    def beat(self):
        self._put(_BEAT, time.monotonic_ns())

    def set_state(self, state):
        self._put(_STATE, state)

    def set_connections(self, count):
        self._put(_CONNECTIONS, count)

    def count_request(self):
        self._put(_REQUESTS, self._get(_REQUESTS) + 1)

    # the supervisor's side

    @property
    def state(self):
        return self._get(_STATE)

    @property
    def connections(self):
        return self._get(_CONNECTIONS)

    @property
    def requests(self):
        return self._get(_REQUESTS)

    def silent_for(self):
        """Seconds since the last heartbeat; None before the first."""
        beat = self._get(_BEAT)
        if not beat:
            return None
        return max(time.monotonic_ns() - beat, 0) / 1e9
