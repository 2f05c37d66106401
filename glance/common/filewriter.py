"""Writing image data to local files: hashed on the way, past the page
cache.

``DirectFile`` writes whole blocks with ``O_DIRECT``. A buffered write
copies every byte into freshly allocated page cache; on virtual machines
(this project's usual home) first-touch page faults make that copy cost
more CPU than md5 and sha512 of the same bytes together (measured: 0.8
to 3 s of system time per GiB, against 0.1 s with O_DIRECT). The tail
that is not a whole block, and every write on a filesystem that refuses
``O_DIRECT``, goes through the page cache as usual, and so does
everything when ``data_direct_io`` is off.

``copy_hashing`` is the one loop that moves an upload into a file: it
reads into two page-aligned buffers in turn while the previous one is
hashed (one native thread per hash) and written (one more).
"""
import contextlib
import ctypes
import errno
import fcntl
import mmap
import os

from oslo_config import cfg

from glance.common import utils
from glance.i18n import _

CONF = cfg.CONF

direct_io_opts = [
    cfg.BoolOpt("data_direct_io", default=True,
                help=_("Write image data past the page cache (O_DIRECT) "
                       "where it is written or read once: uploads and "
                       "staging into file stores, the image cache's copy "
                       "of an image and the store read that fills it. "
                       "Saves much CPU on virtual machines; turn it off "
                       "where direct I/O is slow (some network file "
                       "systems). A file system that refuses O_DIRECT is "
                       "written through the page cache either way.")),
]
CONF.register_opts(direct_io_opts)

BLOCK = 4096  # O_DIRECT alignment of buffers, offsets and lengths
_O_DIRECT = getattr(os, "O_DIRECT", 0)


def list_opts():
    return [(None, direct_io_opts)]


def _direct_io():
    return bool(_O_DIRECT) and CONF.data_direct_io


def aligned_buffer(size):
    """A writable, page-aligned (so O_DIRECT-aligned) buffer."""
    return mmap.mmap(-1, size)


class DirectFile:
    """A file open for writing, whole blocks with O_DIRECT when the
    filesystem takes it (see the module's docstring)."""

    def __init__(self, fd, direct):
        self.fd = fd
        self.direct = direct
        self._bounce = None

    @classmethod
    def adopt(cls, fd):
        """A DirectFile over ``fd``, open for writing, with O_DIRECT
        turned on when the filesystem takes it."""
        return cls(fd, set_direct(fd))

    @classmethod
    def create(cls, path, mode=0o666, replace=False):
        """Create ``path``, which must not exist (FileExistsError)
        unless ``replace`` (then it is emptied)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (
            os.O_TRUNC if replace else os.O_EXCL)
        if _direct_io():
            try:
                return cls(os.open(path, flags | _O_DIRECT, mode), True)
            except OSError as e:
                if e.errno != errno.EINVAL:
                    raise
        return cls(os.open(path, flags, mode), False)

    def write(self, data):
        """Write all of ``data`` (a buffer); its length."""
        view = memoryview(data).cast("B")
        whole = len(view) - len(view) % BLOCK if self.direct else 0
        if whole and not _aligned(view):
            view = self._copy_aligned(view)
        if whole:
            self._write_all(view[:whole])
        if whole < len(view):
            self._buffered()  # the tail: only the last write has one
            self._write_all(view[whole:])
        return len(view)

    def _copy_aligned(self, view):
        """``view``'s bytes in a page-aligned buffer (O_DIRECT needs
        one; a bytes object's data never is)."""
        if self._bounce is None or len(self._bounce) < len(view):
            self._bounce = aligned_buffer(len(view))
        aligned = memoryview(self._bounce)[:len(view)]
        aligned[:] = view
        return aligned

    def _write_all(self, view):
        while view:
            try:
                written = os.write(self.fd, view)
            except OSError as e:
                if e.errno != errno.EINVAL or not self.direct:
                    raise
                self._buffered()  # the file system refused O_DIRECT
                continue
            view = view[written:]

    def _buffered(self):
        if self.direct:
            flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
            fcntl.fcntl(self.fd, fcntl.F_SETFL, flags & ~_O_DIRECT)
            self.direct = False

    def close(self):
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def set_direct(fd):
    """Turn O_DIRECT on for ``fd``; False if its file system refuses
    (or ``data_direct_io`` is off)."""
    if not _direct_io():
        return False
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | _O_DIRECT)
    except OSError as e:
        if e.errno != errno.EINVAL:
            raise
        return False
    return True


def _aligned(view):
    try:
        address = ctypes.addressof(ctypes.c_char.from_buffer(view))
    except TypeError:  # read-only (bytes): no address to be had
        return False
    return address % BLOCK == 0


def copy_hashing(read_into, out, hashes, chunk_size, depth=3):
    """Copy to ``out`` (``write``) what ``read_into(buffer)`` delivers
    (bytes put in ``buffer``, a full buffer but at the end; 0 at EOF),
    updating ``hashes``; the bytes written.

    ``depth`` buffers take turns. Each hash and the writing are a lane
    of their own that takes the buffers in order at its own pace (md5
    and sha512 differ in speed; waiting for both after every chunk
    would leave a core idle); a buffer is filled again once every lane
    is done with it. Nothing runs any more when this returns or raises.
    """
    lanes = [h.update for h in hashes] + [out.write]
    last = [None] * len(lanes)
    using = [[] for _ in range(depth)]
    buffers = []   # allocated as needed: a small upload takes one
    written = 0
    try:
        for turn in _alternate(depth):
            utils.wait_all(using[turn])
            if turn == len(buffers):
                buffers.append(aligned_buffer(chunk_size))
            view = memoryview(buffers[turn])
            count = read_into(view)
            if not count:
                utils.wait_all(call for call in last if call)
                return written
            chunk = view[:count]
            for i, lane in enumerate(lanes):
                last[i] = utils.in_native_thread(lane, chunk, after=last[i])
            using[turn] = list(last)
            written += count
    except BaseException:
        with contextlib.suppress(BaseException):
            utils.wait_all(call for call in last if call)
        raise


def _alternate(count):
    turn = 0
    while True:
        yield turn
        turn = (turn + 1) % count
