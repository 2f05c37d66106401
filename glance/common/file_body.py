"""Response bodies read from open files, sent by ``sendfile`` when the
server can.

``FileRegion`` is ``length`` bytes of an open file from where it stands:
an iterator of chunks that can also hand the bytes to ``sendfile``, and
that raises instead of ending short. The store (file backend) and the
image cache answer downloads with one.

``FileWrapper`` is glance-api's ``wsgi.file_wrapper`` (PEP 3333): an
application returns ``environ["wsgi.file_wrapper"](body)``; if that very
object comes back to the server (no middleware wrapped or consumed it),
``serve`` sends the first chunk through eventlet.wsgi (which writes the
status line and headers with it) and the rest with ``sendfile`` on the
connection's plain socket. Under TLS, for a body without
Content-Length, or under another WSGI server, the body is iterated as
usual.
"""
import contextlib
import os

from glance.common import filewriter
from glance.common import memory
from glance.common import utils


class FileRegion:
    """``length`` bytes of ``fp`` from its current position.

    Subclasses say what a short file means (``short``, which must raise)
    and may act once every byte went (``done``, called before the last
    bytes are handed over, so a client holding the whole body already
    sees its effect) and check the file before the first byte
    (``start``).
    """

    def __init__(self, fp, length, chunk_size):
        self.fp = fp
        self.length = length
        self.chunk_size = chunk_size
        self.position = fp.tell()
        self.sent = 0
        self._started = self._finished = False
        self._direct = None   # the aligned buffer of O_DIRECT reads
        self._ahead = None    # (offset, call) of the next direct read

    def read_direct(self, chunk_size):
        """Iterate from now on in ``chunk_size`` chunks read past the page
        cache (O_DIRECT), when the file system and the position allow it:
        for a whole file read once, since filling the page cache costs
        more CPU than the read itself on a VM. False if not."""
        chunk_size -= chunk_size % filewriter.BLOCK
        if self.position % filewriter.BLOCK or chunk_size <= 0 or \
                not filewriter.set_direct(self.fp.fileno()):
            return False
        self.chunk_size = chunk_size
        # two: one is read ahead while the other is copied out
        self._direct = [filewriter.aligned_buffer(chunk_size)
                        for _ in range(2)]
        return True

    def start(self):
        """Called before the first byte goes."""

    def short(self):
        """The file ended before ``length`` bytes: raise."""
        raise OSError("file ended after %d of %d bytes"
                      % (self.sent, self.length))

    def done(self):
        """Every byte is (about to be) delivered."""

    def __iter__(self):
        return self

    def __next__(self):
        self._start()
        remaining = self.length - self.sent
        if remaining <= 0:
            self._finish()
            self.close()
            raise StopIteration
        try:
            chunk = self._read(min(self.chunk_size, remaining))
            if not chunk:
                self.short()
        except BaseException:
            self.close()
            raise
        self._advance(len(chunk))
        return chunk

    def _read(self, count):
        if self._direct is None:
            return self.fp.read(count)
        # The next chunk is read in a native thread while the caller
        # sends this one: a direct read waits for the disk. The bytes
        # are copied out here, not in that thread: glibc would keep a
        # chunk-sized block in each native thread's arena for good.
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == self.position:
            buffer, got = ahead[1], ahead[2].wait()
        else:
            buffer = self._direct[0]
            got = self._read_blocks(self.position, count, buffer)
        with memoryview(buffer) as view:
            chunk = bytes(view[:min(got, count)])
        rest = self.length - self.sent - len(chunk)
        if rest > 0 and len(chunk) == count:
            following = self.position + len(chunk)
            other = self._direct[1] if buffer is self._direct[0] \
                else self._direct[0]
            self._ahead = (following, other, utils.in_native_thread(
                self._read_blocks, following, min(self.chunk_size, rest),
                other))
        return chunk

    def _read_blocks(self, offset, count, buffer):
        # whole blocks from an aligned offset into ``buffer``; the end
        # of the file cuts the last one short
        blocks = -(-count // filewriter.BLOCK) * filewriter.BLOCK
        with memoryview(buffer) as view:
            return os.preadv(self.fp.fileno(), [view[:blocks]], offset)

    def fileno(self):
        return self.fp.fileno()

    def sendfile(self, send):
        """Deliver the rest with ``send(fd, offset, count)``, which
        answers the bytes sent (0 at the end of the file)."""
        try:
            self._start()
            fd = self.fp.fileno()
            while self.sent < self.length:
                count = min(self.length - self.sent, utils.SENDFILE_MAX)
                if count == self.length - self.sent and \
                        os.fstat(fd).st_size >= self.position + count:
                    self._finish()  # before the last bytes go
                count = send(fd, self.position, count)
                if not count:
                    self.short()
                self._advance(count)
            self._finish()
        finally:
            self.close()

    def _start(self):
        if not self._started:
            self._started = True
            try:
                self.start()
            except BaseException:
                self.close()
                raise

    def _advance(self, count):
        self.sent += count
        self.position += count
        if self.sent >= self.length:
            self._finish()

    def _finish(self):
        if not self._finished:
            self._finished = True
            self.done()

    def close(self):
        ahead, self._ahead = self._ahead, None
        if ahead is not None:  # its thread must be done with the file
            with contextlib.suppress(Exception):
                ahead[2].wait()
        self.release()

    def release(self):
        """Close the file."""
        self.fp.close()


class FileWrapper:
    """glance-api's ``wsgi.file_wrapper``: ``body`` is a ``FileRegion``
    (or any iterable of chunks, or a file-like object with ``read``)."""

    def __init__(self, body, block_size=65536):
        self.body = body
        self.block_size = block_size

    def __iter__(self):
        if hasattr(self.body, "read") and \
                not hasattr(self.body, "__next__"):
            return utils.chunkiter(self.body, self.block_size)
        return iter(self.body)

    def close(self):
        close = getattr(self.body, "close", None)
        if close is not None:
            close()


def wrap(body, environ):
    """``body`` handed to glance-api's file wrapper when that server runs
    the request and ``body`` can go by sendfile; else ``body``."""
    if environ.get("wsgi.file_wrapper") is FileWrapper and \
            hasattr(body, "sendfile"):
        return FileWrapper(body)
    return body


def serve(result, environ, headers):
    """What the server hands eventlet.wsgi for the application's
    ``result``: a sendfile body for a ``FileWrapper`` it may send that
    way, else ``result`` itself. ``headers`` are the response's."""
    if type(result) is not FileWrapper or \
            not hasattr(result.body, "sendfile"):
        return result
    sock = _plain_socket(environ)
    if sock is None or not _has_length(headers):
        return result
    # eventlet.wsgi then writes each chunk as it comes: once the first
    # one is asked for again, the head and the first chunk are sent.
    environ["eventlet.minimum_write_chunk_size"] = 0
    return _sendfile_body(result, sock)


def _plain_socket(environ):
    server_input = environ.get("eventlet.input")
    get_socket = getattr(server_input, "get_socket", None)
    sock = get_socket() if get_socket is not None else None
    if sock is None or hasattr(sock, "getpeercert"):
        return None  # no socket, or TLS: the bytes must be encrypted
    return sock


def _has_length(headers):
    return any(name.lower() == "content-length" for name, _ in headers or ())


FIRST_CHUNK = 65536  # goes with the head; sendfile sends the rest


def _sendfile_body(wrapper, sock):
    # A small first chunk: a hundred downloads starting at once would
    # otherwise hold a hundred image_data_chunk_size buffers.
    with memory.transfer(), contextlib.closing(wrapper):
        body = wrapper.body
        # the FileRegion itself, when a counter wraps it (notifications)
        region = getattr(body, "region", body)
        if getattr(region, "_direct", None) is None:
            region.chunk_size = min(region.chunk_size, FIRST_CHUNK)
        first = next(iter(body), b"")
        if not first:
            return
        yield first
        body.sendfile(lambda fd, offset, count:
                      utils.sendfile(sock, fd, offset, count))
