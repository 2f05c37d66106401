"""Writing image data to local files, hashed on the way.

By default (``data_direct_io`` off) a file is written through its own
pages in the page cache: ``MappedFile`` maps the file a window at a
time, has the kernel allocate the window's pages up front
(``MADV_POPULATE_WRITE``, in one call rather than one page fault per
4 KiB) and the upload is received straight into them (``recv_into``);
the hashes read the same pages. The bytes are copied once, no write
system call is made, and the image is in the page cache when its first
download comes, which is usually at once ("snapshot, then boot"). On
this project's usual home, a virtual machine, that costs about a third
of the CPU of a buffered ``write`` of the same bytes (measured: 0.6 s
against 2.1 s of system time per GiB of fresh memory; see
doc/architecture.rst). A file system that cannot map files shared and
writable is written with plain buffered writes.

``DirectFile`` writes whole blocks with ``O_DIRECT`` (``data_direct_io``
on): the cheapest in CPU, and big uploads do not evict the images the
page cache holds, but the first read of the data goes to the disk. The
tail that is not a whole block, and every write on a filesystem that
refuses ``O_DIRECT``, goes through the page cache as usual.

``copy_hashing`` is the one loop that moves an upload into a file: it
reads into buffers (or windows of the file) in turn while the previous
ones are hashed (one native thread per hash) and, for a ``DirectFile``,
written (one more): the lanes of ``glance.common.utils.Lanes``, which
the image cache's tee runs on too.
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
    cfg.BoolOpt("data_direct_io", default=False,
                help=_("Write image data past the page cache (O_DIRECT): "
                       "uploads and staging into file stores, the image "
                       "cache's copy of an image and the store read that "
                       "fills it. Off (the default), the data is received "
                       "straight into the file's pages in the page cache, "
                       "so the first download of a new image (or the "
                       "first hit of a newly cached one) is served from "
                       "memory. On, an upload costs a little less CPU "
                       "and does not evict the images the page cache "
                       "holds, but the first download reads the disk: "
                       "for nodes where uploads are rarely read back "
                       "soon. A file system that refuses O_DIRECT is "
                       "written through the page cache either way.")),
]
CONF.register_opts(direct_io_opts)

BLOCK = 4096  # O_DIRECT alignment of buffers, offsets and lengths
_O_DIRECT = getattr(os, "O_DIRECT", 0)
# madvise(2): allocate (and map writable) the pages of a range at once;
# Linux 5.14+, not named by Python's mmap module before 3.13
MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)
# Called through ctypes, which lets go of the GIL for the call: mmap's
# own madvise() and slice assignment keep it, and populating a 16 MiB
# window takes some 9 ms here, during which no other thread of the
# process ran (the socket reads of the upload, the tee's sends).
_libc = ctypes.CDLL(None, use_errno=True)
_madvise = _libc.madvise
_madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
_madvise.restype = ctypes.c_int


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

    def finish(self):
        """Nothing to do: every write is in the file."""

    def close(self):
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def create(path, mode=0o666, replace=False):
    """A new file for image data at ``path`` (FileExistsError if it
    exists, unless ``replace``): a ``DirectFile`` when
    ``data_direct_io`` is on, else a ``MappedFile``."""
    if _direct_io():
        return DirectFile.create(path, mode, replace)
    return MappedFile.create(path, mode, replace)


def adopt(fd):
    """A writer over ``fd``, an empty file open for reading and writing
    (a ``MappedFile`` needs both), as ``create`` chooses."""
    if _direct_io():
        return DirectFile.adopt(fd)
    return MappedFile(fd)


class MappedFile:
    """A file written through windows of its pages (see the module's
    docstring): ``window(offset, length)`` maps a part of the file,
    its pages allocated, for the caller to fill (``copy_hashing``
    receives into them), or ``write(data)`` copies into such windows.
    The file is extended as windows are mapped and cut to ``size`` on
    ``close``. A file that cannot be mapped (its file system, or an fd
    open for writing only) is written with ``os.write`` instead.
    """

    WINDOW = 16 * 1024 * 1024   # the windows ``write`` maps

    def __init__(self, fd):
        self.fd = fd
        self.size = 0        # bytes written: the file's final length
        self.mapped = True   # False: the file cannot be mapped
        self._extent = 0     # the file's length now (windows included)
        self._window = None  # (offset, mmap) that ``write`` fills

    @classmethod
    def create(cls, path, mode=0o666, replace=False):
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | (
            os.O_TRUNC if replace else os.O_EXCL)
        return cls(os.open(path, flags, mode))

    def window(self, offset, length):
        """An ``mmap`` of the file from ``offset`` rounded down to a
        multiple of ``mmap.ALLOCATIONGRANULARITY`` to ``offset +
        length``, its pages in the
        page cache and writable, so filling it takes no page fault (and
        cannot take the SIGBUS of a full disk: that is an OSError here,
        ENOSPC when the file system is full). None, and the file is
        written by ``os.write`` from then on, if the very first window
        cannot be mapped."""
        if not self.mapped:
            return None
        first = self._extent == 0
        start = offset - offset % mmap.ALLOCATIONGRANULARITY
        end = offset + length
        if end > self._extent:
            os.ftruncate(self.fd, end)
            self._extent = end
        try:
            window = mmap.mmap(self.fd, end - start, offset=start)
        except (OSError, ValueError):
            if not first:
                raise
            return self._not_mappable()
        try:
            _populate(window)
        except OSError as e:
            window.close()
            if first and getattr(e, "errno", errno.EINVAL) == errno.EINVAL:
                return self._not_mappable()  # kernel before 5.14
            raise self._allocation_error(e, length) from e
        return window

    def _not_mappable(self):
        self.mapped = False
        os.ftruncate(self.fd, self.size)
        self._extent = self.size
        return None

    def _allocation_error(self, error, length):
        if error.errno != errno.EFAULT:
            return error
        # The kernel would have raised SIGBUS: no block for a page.
        st = os.fstatvfs(self.fd)
        if st.f_bavail * st.f_frsize < length:
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return OSError(errno.EIO, "cannot allocate the file's pages")

    def set_size(self, size):
        """The file holds ``size`` bytes (its windows were filled by the
        caller); the rest is cut on ``close``."""
        self.size = size

    def write(self, data):
        """Append ``data`` (a buffer); its length."""
        with memoryview(data) as whole, whole.cast("B") as source:
            done = 0
            while done < len(source):
                if not (self.mapped and self._fill_window()):
                    done += self._write_unmapped(source[done:])
                    continue
                start, window = self._window
                position = self.size - start
                take = min(len(window) - position, len(source) - done)
                _copy_into(window, position, source, done, take)
                self.size += take
                done += take
            return len(source)

    def _write_unmapped(self, view):
        written = os.write(self.fd, view)
        self.size += written
        return written

    def _fill_window(self):
        """A window to write at ``size`` in ``_window``; False if the
        file cannot be mapped."""
        if self._window is not None:
            start, window = self._window
            if self.size < start + len(window):
                return True
            self._window = None
            window.close()
        start = self.size - self.size % self.WINDOW
        window = self.window(start, self.WINDOW)
        if window is None:
            return False
        self._window = (start, window)
        return True

    def finish(self):
        """Unmap, and cut the file to what was written (before it is
        renamed where readers see it)."""
        if self._window is not None:
            window, self._window = self._window[1], None
            window.close()
        if self._extent > self.size:
            os.ftruncate(self.fd, self.size)
            self._extent = self.size

    def close(self):
        if self.fd is None:
            return
        try:
            self.finish()
        finally:
            fd, self.fd = self.fd, None
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _populate(window):
    """``MADV_POPULATE_WRITE`` over all of ``window`` (an mmap), the GIL
    released; OSError with the call's errno."""
    anchor = ctypes.c_char.from_buffer(window)  # the mapping's address
    try:
        if _madvise(ctypes.addressof(anchor), len(window),
                    MADV_POPULATE_WRITE) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
    finally:
        del anchor  # the export would keep the window from closing


def _copy_into(window, position, source, offset, count):
    """``window[position:position + count] = source[offset:offset +
    count]``, the GIL released for the copy when ``source`` (a byte
    memoryview) is over ``bytes`` (the chunks of a tee) or is writable;
    else by slice assignment."""
    target = (ctypes.c_char * count).from_buffer(window, position)
    try:
        if isinstance(source.obj, bytes) and source.c_contiguous and \
                source.nbytes == len(source.obj):
            address = ctypes.cast(source.obj, ctypes.c_void_p).value
            ctypes.memmove(target, address + offset, count)
        elif not source.readonly and source.c_contiguous:
            chunk = (ctypes.c_char * count).from_buffer(source, offset)
            ctypes.memmove(target, chunk, count)
            del chunk
        else:
            window[position:position + count] = \
                source[offset:offset + count]
    finally:
        del target  # the export would keep the window from closing


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
    """Copy to ``out`` what ``read_into(buffer)`` delivers (bytes put in
    ``buffer``, a full buffer but at the end; 0 at EOF), updating
    ``hashes``; the bytes written.

    ``out`` is a ``MappedFile`` (the bytes are read straight into
    windows of the file, which the hashes then read) or anything with
    ``write`` (the bytes are read into ``depth`` reused buffers and
    written from there). ``depth`` buffers or windows take turns. Each
    hash and the writing are a lane of their own that takes the chunks
    in order at its own pace (md5 and sha512 differ in speed; waiting
    for both after every chunk would leave a core idle); a buffer is
    filled again once every lane is done with it. Nothing runs any more
    when this returns or raises, and no window stays mapped.
    """
    mapped = isinstance(out, MappedFile) and out.mapped
    lanes = utils.Lanes([h.update for h in hashes], depth)
    if not mapped:
        lanes.add(out.write)
    slots = [None] * depth  # (buffer or window, view, chunk) per turn
    written = 0
    try:
        for turn in _alternate(depth):
            lanes.make_room()  # every lane is done with this turn's slot
            slots[turn] = _refill(slots[turn], out if mapped else None,
                                  written, chunk_size)
            if mapped and slots[turn] is None:  # first turn: no mapping
                mapped = False
                lanes.add(out.write)
                slots[turn] = _refill(None, None, written, chunk_size)
            view = slots[turn][1]
            count = read_into(view)
            if not count:
                lanes.finish()
                if mapped:
                    out.set_size(written)
                return written
            chunk = view[:count]
            slots[turn][2] = chunk
            lanes.feed(chunk)
            written += count
    except BaseException:
        lanes.stop()
        raise
    finally:
        for slot in slots:
            _release(slot)


def _refill(slot, mapped_file, offset, size):
    """The slot of the next turn: ``[buffer, view, chunk, views]``: a
    reused aligned buffer, or a new window of ``mapped_file`` at
    ``offset`` (mapped in a native thread: allocating the pages takes a
    while); None if that file turns out not to be mappable."""
    if mapped_file is None and slot is not None:
        if slot[2] is not None:
            slot[2].release()
            slot[2] = None
        return slot
    _release(slot)
    if mapped_file is None:
        buffer = aligned_buffer(size)
        view = memoryview(buffer)
        return [buffer, view, None, [view]]
    buffer = utils.in_native_thread(mapped_file.window, offset, size).wait()
    if buffer is None:
        return None
    whole = memoryview(buffer)
    view = whole[offset % mmap.ALLOCATIONGRANULARITY:]
    return [buffer, view, None, [view, whole]]


def _release(slot):
    """Let go of a slot's views, and unmap it if it is a window."""
    if slot is None:
        return
    buffer, _view, chunk, views = slot
    for view in [chunk] + views:
        if view is not None:
            view.release()
    with contextlib.suppress(BufferError):  # a view escaped: GC unmaps
        buffer.close()


def _alternate(count):
    turn = 0
    while True:
        yield turn
        turn = (turn + 1) % count
