"""Fill the free memory with page cache for a data-path benchmark.

On this project's usual home, a virtual machine whose balloon device
reports free pages to the hypervisor (virtio-balloon free page
reporting), memory the guest frees goes back to the host after a few
seconds, and the next write to such a page is also a fault in the host:
here the kernel's zeroing of new page-cache pages then ran at about
0.4 GiB/s, and a fresh page cost some 2 s per GiB of system time more
than a page reclaimed from the page cache. An upload, a download or the
image cache's tee fills new page cache, so on a machine with much free
memory each run paid that price for whatever it reached (the tee of a
1 GiB image: 2.7 to 3.3 s of server system time, against 0.85 s with
the memory full of page cache; and later runs, reaching further, looked
worse than earlier ones), while a node that has served images for a
while has its memory full of page cache and never pays it.

``ballast()`` makes the benchmark machine look like such a node: it
reads a sparse file as large as the free memory (less a margin) into
the page cache, where it stays, clean, for the benchmark's duration,
so the pages the benchmark needs are reclaimed from it. The file takes
no disk space and is removed at the end.
"""
import contextlib
import os
import resource
import tempfile
import time

GiB = 1 << 30
MARGIN = GiB           # left free, for everything else on the machine
LIMIT = 64 * GiB       # never more than this
READ_SIZE = 8 << 20


def free_bytes():
    """``MemFree`` of /proc/meminfo, in bytes (0 if unreadable)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemFree:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _system_seconds():
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def _read_all(fd):
    buffer = bytearray(READ_SIZE)
    total = 0
    while True:
        got = os.readv(fd, [buffer])
        if not got:
            return total
        total += got


@contextlib.contextmanager
def ballast(size=None, directory=None):
    """Hold ``size`` bytes (default: the free memory less ``MARGIN``) of
    clean page cache until the block ends; yields a line saying what
    was done, for the benchmark's report."""
    if size is None:
        size = min(max(0, free_bytes() - MARGIN), LIMIT)
    if size < READ_SIZE:
        yield "page-cache ballast: less than %d MiB free, none" % (
            (MARGIN + READ_SIZE) >> 20)
        return
    fd, path = tempfile.mkstemp(prefix="ballast-", dir=directory)
    try:
        os.ftruncate(fd, size)  # a hole: read as zeros, stored nowhere
        started, system = time.monotonic(), _system_seconds()
        read = _read_all(fd)
        seconds = time.monotonic() - started
        yield ("page-cache ballast: %.1f GiB of free memory filled with "
               "clean page cache in %.1f s (%.2f s of system time per GiB; "
               "benchmarks/memwarm.py)" % (
                   read / GiB, seconds,
                   (_system_seconds() - system) * GiB / max(read, 1)))
    finally:
        os.close(fd)
        os.unlink(path)


def for_benchmark(skip=False):
    """``ballast()``, or (``skip``) a block that only says it was not
    made."""
    if skip:
        return contextlib.nullcontext("page-cache ballast: none (asked)")
    return ballast()
