"""Giving the memory of large transfers back to the operating system.

Image data moves in multi-MiB chunks. glibc keeps freed memory for later
use: in each native thread's arena (which is why the data path never
allocates a chunk in a native thread: a worker that did kept about
200 MiB more than when idle, for good) and, below its trim threshold,
in the main heap. ``transfer()`` marks a transfer; when the last one of
the process ends, ``trim()`` hands the free memory back
(``malloc_trim``), which takes a millisecond or so. Elsewhere than
glibc, ``trim`` does nothing.
"""
import contextlib
import ctypes
import ctypes.util
import threading

_lock = threading.Lock()
_active = 0
_malloc_trim = None


def _libc_trim():
    global _malloc_trim
    if _malloc_trim is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _malloc_trim = libc.malloc_trim
            _malloc_trim.argtypes = [ctypes.c_size_t]
            _malloc_trim.restype = ctypes.c_int
        except (OSError, AttributeError):
            _malloc_trim = False
    return _malloc_trim


def trim():
    """Return free heap memory to the OS; whether any was released."""
    malloc_trim = _libc_trim()
    return bool(malloc_trim and malloc_trim(0))


@contextlib.contextmanager
def transfer():
    """Mark a large transfer for its duration; memory is trimmed when
    the last transfer of the process ends."""
    global _active
    with _lock:
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            idle = _active == 0
        if idle:
            trim()


def active():
    """The transfers running now."""
    return _active
