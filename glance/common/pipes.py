"""Self-pipes of the glance-api supervisor (:mod:`glance.common.arbiter`).

* :class:`SignalQueue`: signal handlers only record the signal and write
  a byte; the loop (or a green thread) wakes up and acts on it.
* :class:`BootErrors`: a worker that cannot boot writes why, so that the
  supervisor can log it and glance-api can print it when it stops.

Both use the real ``os`` and ``select`` (not eventlet's): the supervisor
never runs the eventlet hub.
"""
import collections
import os

import eventlet
import eventlet.hubs
import eventlet.patcher

__all__ = ["BootErrors", "SignalQueue"]

_select = eventlet.patcher.original("select")
_os = eventlet.patcher.original("os")


class SignalQueue:
    """Signals recorded by handlers, and a self-pipe waking the reader.

    ``record`` is the signal handler: it only appends and writes one byte.
    """

    def __init__(self):
        self.pending = collections.deque()
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)

    def record(self, signum, frame=None):
        self.pending.append(signum)
        try:
            _os.write(self.write_fd, b"\0")
        except OSError:
            pass  # the pipe is full: the reader has plenty to wake up for

    def wait(self, timeout):
        """Block (the real select) until a signal or ``timeout``."""
        if not self.pending:
            try:
                _select.select([self.read_fd], [], [], timeout)
            except InterruptedError:
                pass
        self._drain_pipe()

    def green_wait(self):
        """Block the current green thread until a signal arrives."""
        while not self.pending:
            eventlet.hubs.trampoline(self.read_fd, read=True)
            self._drain_pipe()

    def pop_all(self):
        while self.pending:
            yield self.pending.popleft()

    def _drain_pipe(self):
        try:
            while _os.read(self.read_fd, 512):
                pass
        except OSError:
            pass

    def close(self):
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass


class BootErrors:
    """A pipe on which a worker that cannot boot tells the supervisor why.

    The worker writes one line, ``"<pid> <reason>"``, before it exits
    (short enough to be written at once); the supervisor reads the lines
    when it reaps a worker that exited with ``WORKER_BOOT_ERROR``.
    """

    MAX_REASON = 1000   # bytes: well under PIPE_BUF, so written at once

    def __init__(self):
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)  # a full pipe loses a line
        self.reasons = {}

    def report(self, reason):
        """In the worker: say why it could not boot."""
        line = ("%d %s" % (os.getpid(), reason)).encode("utf-8", "replace")
        try:
            _os.write(self.write_fd, line[:self.MAX_REASON] + b"\n")
        except OSError:
            pass  # the supervisor still sees the exit status

    def reason(self, pid):
        """In the supervisor: why worker ``pid`` could not boot, if said."""
        self._read()
        return self.reasons.pop(pid, None)

    def _read(self):
        data = b""
        try:
            while chunk := _os.read(self.read_fd, 65536):
                data += chunk
        except OSError:
            pass  # nothing more to read
        for line in data.decode("utf-8", "replace").splitlines():
            pid, _sep, reason = line.partition(" ")
            if pid.isdigit():
                self.reasons[int(pid)] = reason

    def close(self):
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass
