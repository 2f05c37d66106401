"""Small stream utilities for image data.

Reading in chunks (``chunkiter``, ``chunkreadable``), reading that lets
other threads run between chunks (``cooperative_iter``,
``cooperative_read``, ``CooperativeReader``), a reader that refuses to
go past a byte limit (``LimitingReader``), work handed to native OS
threads (``in_native_thread``) and the hashing lanes built on it
(``Lanes``), ``sendfile`` to a socket that may be
green and ``is_uuid_like``.

``yield_now()`` calls ``time.sleep(0)``,
looked up at call time, when ``time`` is monkey-patched (the
eventlet-served daemon): that switches green threads. Under native
threads it does nothing: the GIL is released anyway around the socket
reads, file writes and hashing of every chunk, and a native
``time.sleep(0)`` costs a system call and a trip through the scheduler
(some 80 microseconds, as long as hashing a 64 KiB chunk). A process
that runs green threads without patching ``time`` installs its own
switch with ``set_yield_hook`` at bootstrap.

``in_native_thread(fn, *args)`` starts ``fn(*args)`` in a real OS thread
and returns a handle whose ``wait()`` gives its result (or raises its
error). It is for work that releases the GIL and is worth running in
parallel with the caller: hashing and writing multi-MiB chunks of image
data. In a green (monkey-patched) process the threads are eventlet's
``tpool`` (imported only there, on first use) and ``wait()`` lets the
other green threads run (from another OS thread of a green process the
call simply runs in the caller); elsewhere they are a small
process-wide ``concurrent.futures`` pool. This is the one place below
``glance/cmd`` and ``glance/common/server.py`` that knows about green
threads.
"""
import collections
import concurrent.futures
import contextlib
import importlib
import os
import select
import socket
import threading
import time
import uuid

from oslo_log import log as logging

from glance.common import exception

LOG = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 65536
SENDFILE_MAX = 4 * 1024 * 1024

_yield_hook = None


def set_yield_hook(hook):
    """Make ``yield_now`` call ``hook()``; None restores the default."""
    global _yield_hook
    _yield_hook = hook


def yield_now():
    """Let other green threads run (see the module's docstring)."""
    if _yield_hook is not None:
        _yield_hook()
        return
    sleep = time.sleep
    if getattr(sleep, "__module__", "time") != "time":
        sleep(0)  # monkey-patched: a green thread switch


def _patched():
    return getattr(time.sleep, "__module__", "time") != "time"


def _in_hub_thread():
    """Whether we run in the OS thread of the main eventlet hub (tpool
    wakes the green threads of that hub only)."""
    original = importlib.import_module("eventlet.patcher").original
    native = original("threading")
    return native.current_thread() is native.main_thread()


def _run_after(after, fn, args):
    if after is not None:
        after.wait()
    return fn(*args)


class _DoneCall:
    """``fn(*args)`` run at once, in the caller's thread."""

    def __init__(self, fn, args, after=None):
        self._error = self._result = None
        try:
            self._result = _run_after(after, fn, args)
        except Exception as e:  # noqa: BLE001 - raised by wait()
            self._error = e

    def wait(self):
        if self._error is not None:
            raise self._error
        return self._result


class _GreenCall:
    """``wait()`` on a green thread running ``tpool.execute``."""

    def __init__(self, fn, args, after=None):
        eventlet = importlib.import_module("eventlet")
        self._thread = eventlet.spawn(self._run, after, fn, args)

    @staticmethod
    def _run(after, fn, args):
        if after is not None:
            after.wait()  # green: the OS thread starts once it is done
        tpool = importlib.import_module("eventlet.tpool")
        return tpool.execute(fn, *args)

    def wait(self):
        return self._thread.wait()


class _NativeCall:
    """``wait()`` on a future of the process-wide native pool."""

    _pool = None
    _lock = threading.Lock()

    def __init__(self, fn, args, after=None):
        self._future = self._executor().submit(_run_after, after, fn, args)

    @classmethod
    def _executor(cls):
        with cls._lock:
            if cls._pool is None:
                cls._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=16, thread_name_prefix="glance-native")
            return cls._pool

    def wait(self):
        return self._future.result()


def in_native_thread(fn, *args, after=None):
    """``fn(*args)`` started in an OS thread; a handle with ``wait()``
    (see the module's docstring). With ``after`` (such a handle), it
    starts once that call has finished, and not at all if it failed:
    calls chained this way run in order."""
    if not _patched():
        return _NativeCall(fn, args, after)
    if _in_hub_thread():
        return _GreenCall(fn, args, after)
    return _DoneCall(fn, args, after)  # a native thread of a green process


def wait_all(calls):
    """Wait for every handle of ``in_native_thread``; then raise the
    first error, if any (no call is left running)."""
    error = None
    for call in calls:
        try:
            call.wait()
        except BaseException as e:  # noqa: BLE001 - re-raised below
            if error is None:
                error = e
    if error is not None:
        raise error


class Lanes:
    """The one hashing pipeline of the data path: each chunk fed goes to
    every lane (a function of one chunk: a hash's ``update``, a file's
    ``write``), each lane in a native thread, taking the chunks in order
    at its own pace (md5 and sha512 differ in speed; waiting for both
    after every chunk would leave a core idle); at most ``depth`` chunks
    are in flight. An upload into a file store
    (``glance.common.filewriter.copy_hashing``) and the image cache's
    tee (``glance.image_cache``) both run on it.
    """

    def __init__(self, lanes, depth):
        self.lanes = list(lanes)
        self.depth = depth
        self._last = [None] * len(self.lanes)
        self._behind = collections.deque()  # per chunk: its lanes' calls

    def add(self, lane):
        """One more lane, before the first chunk."""
        self.lanes.append(lane)
        self._last.append(None)

    def make_room(self):
        """Wait until fewer than ``depth`` chunks are in flight: every
        lane is done with the oldest one (its buffer may be reused)."""
        while len(self._behind) >= self.depth:
            wait_all(self._behind.popleft())

    def feed(self, chunk):
        """Hand ``chunk`` to every lane (once there is room)."""
        self.make_room()
        self._last = [in_native_thread(lane, chunk, after=call)
                      for lane, call in zip(self.lanes, self._last,
                                            strict=True)]
        self._behind.append(self._last)

    def finish(self):
        """Wait until every lane is done; raise the first error."""
        self._behind.clear()
        wait_all(call for call in self._last if call)

    def stop(self):
        """After a failure: wait for the lanes, their errors ignored, so
        nothing runs any more when this returns."""
        self._behind.clear()
        with contextlib.suppress(BaseException):
            wait_all(call for call in self._last if call)


def sendfile(sock, fd, offset, count):
    """Send up to ``count`` bytes of file ``fd`` from ``offset`` to
    ``sock`` with ``os.sendfile``; the bytes sent (0: end of file).

    A non-blocking (green) socket whose buffer is full is waited on with
    ``select`` (green when monkey-patched), up to the socket's timeout
    (``socket.timeout`` then). At most ``SENDFILE_MAX`` bytes go per
    call and other green threads run after each, so concurrent
    downloads share the process fairly.
    """
    out = sock.fileno()
    while True:
        try:
            sent = os.sendfile(out, fd, offset, min(count, SENDFILE_MAX))
        except BlockingIOError:
            _, writable, _ = select.select([], [out], [], sock.gettimeout())
            if not writable:
                raise socket.timeout("timed out") from None
            continue
        yield_now()
        return sent


def chunkiter(fp, chunk_size=DEFAULT_CHUNK_SIZE):
    """Chunks of up to ``chunk_size`` bytes read from ``fp`` until EOF."""
    while True:
        chunk = fp.read(chunk_size)
        if not chunk:
            return
        yield chunk


def chunkreadable(iter, chunk_size=DEFAULT_CHUNK_SIZE):
    """An iterator of chunks from a file-like object or an iterable.

    A file-like object (it has ``read``) is read ``chunk_size`` bytes at a
    time; anything else is returned as it is, its chunks unchanged.
    """
    if hasattr(iter, "read"):
        return chunkiter(iter, chunk_size)
    return iter


def cooperative_iter(iter):
    """The chunks of ``iter``, yielding to other threads before each."""
    try:
        for chunk in iter:
            yield_now()
            yield chunk
    except Exception as e:
        LOG.error("Error while iterating over image data: %s", e)
        raise


def cooperative_read(fd):
    """``fd.read`` that lets other threads run after each call."""
    def readfn(*args):
        result = fd.read(*args)
        yield_now()
        return result
    return readfn


class CooperativeReader:
    """A file-like view of a file or an iterator of chunks that yields
    to other threads between reads.

    ``read(length)`` returns at most ``length`` bytes (all that is left
    when ``length`` is None or negative) and ``b''`` at the end. An
    iterator source is consumed lazily, one chunk at a time.
    """

    def __init__(self, fd):
        self.fd = fd
        if hasattr(fd, "read"):
            self._read_file = cooperative_read(fd)
            self._chunks = None
        else:
            self._read_file = None
            self._chunks = None
        self._chunk = b""
        self._pos = 0

    def read(self, length=None):
        if self._read_file is not None:
            if length is None or length < 0:
                return self._read_file()
            return self._read_file(length)
        if length is None or length < 0:
            return self._read_all()
        return self._read_some(length)

    def readinto(self, buffer):
        if self._read_file is None or not hasattr(self.fd, "readinto"):
            return _copy_into(self.read, buffer)
        count = self.fd.readinto(buffer)
        yield_now()
        return count

    def _next_chunk(self):
        if self._chunks is None:
            self._chunks = iter(self.fd)
        while True:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                return False
            yield_now()
            if chunk:
                self._chunk, self._pos = bytes(chunk), 0
                return True

    def _read_some(self, length):
        if length == 0:
            return b""
        if self._pos >= len(self._chunk) and not self._next_chunk():
            return b""
        start = self._pos
        self._pos = min(start + length, len(self._chunk))
        if start == 0 and self._pos == len(self._chunk):
            return self._chunk
        return self._chunk[start:self._pos]

    def _read_all(self):
        parts = [self._chunk[self._pos:]]
        self._chunk, self._pos = b"", 0
        while self._next_chunk():
            parts.append(self._chunk)
            self._chunk, self._pos = b"", 0
        return b"".join(parts)

    def __iter__(self):
        if self._read_file is not None:
            return cooperative_iter(chunkiter(self.fd))
        return cooperative_iter(self._rest())

    def _rest(self):
        if self._pos < len(self._chunk):
            yield self._chunk[self._pos:]
        self._chunk, self._pos = b"", 0
        while self._next_chunk():
            yield self._chunk
            self._chunk, self._pos = b"", 0


class LimitingReader:
    """Reads through ``data`` and raises once more than ``limit`` bytes
    have gone by.

    The chunk that crosses the limit is never handed on: the caller gets
    ``exception_class()`` instead, so nothing past the limit is written
    anywhere. ``exception_class`` may be any callable returning an
    exception (a class, or a ``functools.partial`` with message
    arguments).
    """

    def __init__(self, data, limit,
                 exception_class=exception.ImageSizeLimitExceeded):
        self.data = data
        self.limit = limit
        self.bytes_read = 0
        self.exception_class = exception_class

    def _count(self, chunk):
        self.bytes_read += len(chunk)
        if self.bytes_read > self.limit:
            raise self.exception_class()
        return chunk

    def __iter__(self):
        for chunk in self.data:
            yield self._count(chunk)

    def read(self, length=None):
        if length is None:
            return self._count(self.data.read())
        return self._count(self.data.read(length))

    def readinto(self, buffer):
        count = read_into(self.data, buffer)
        self.bytes_read += count
        if self.bytes_read > self.limit:
            raise self.exception_class()
        return count


def read_into(source, buffer):
    """``source.readinto(buffer)``, or a read copied into ``buffer`` when
    ``source`` has no ``readinto``; the bytes put."""
    readinto = getattr(source, "readinto", None)
    if readinto is not None:
        return readinto(buffer)
    return _copy_into(source.read, buffer)


def _copy_into(read, buffer):
    view = memoryview(buffer).cast("B")
    data = read(len(view))
    view[:len(data)] = data
    return len(data)


def is_uuid_like(val):
    """Whether ``val`` is a string that names a UUID.

    Hyphens, braces, a ``urn:uuid:`` prefix and upper case are allowed,
    as ``uuid.UUID`` allows them.
    """
    if not isinstance(val, str):
        return False
    try:
        canonical = uuid.UUID(val).hex
    except (TypeError, ValueError, AttributeError):
        return False
    stripped = val.lower()
    for prefix in ("urn:", "uuid:"):
        if stripped.startswith(prefix):
            stripped = stripped[len(prefix):]
    stripped = stripped.strip("{}").replace("-", "")
    return stripped == canonical


def list_opts():
    """This module registers no options."""
    return []


def database_unreachable(error):
    """Whether ``error`` says the database cannot be reached (down,
    restarting, connections cut) rather than that a statement failed."""
    from sqlalchemy import exc as sa_exc
    return isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError,
                              sa_exc.DisconnectionError)) or \
        bool(getattr(error, "connection_invalidated", False))
