"""The upload limit of this machine: a minimal receiver.

The least an upload into a file store costs here, measured: a thread
sends a file over a loopback connection (``sendfile``, as the
benchmark's client does); the receiver reads it straight into 16 MiB
windows of a new file's pages (``filewriter.MappedFile.window``: mapped,
the pages allocated up front; glance-api's default way of writing),
while md5 and sha512 each run in a thread of their own over the windows
already received. No HTTP, no checks, no format inspection, no
database: receiving, writing and hashing alone.

On two cores the sender, the receiver and the two hashes share them, so
this limit lies below the two-thread hashing limit (which neither
receives nor writes); ``benchmarks/datapath.py`` compares the daemon's
upload with both.
"""
import concurrent.futures
import hashlib
import os
import socket
import tempfile
import threading
import time

from glance.common import filewriter

WINDOW = 16 * 1024 * 1024
DEPTH = 3   # windows in turn: one being received, two being hashed


def receive(source_path, directory):
    """Receive ``source_path`` over loopback into a new file in
    ``directory`` (removed at the end), hashed on the way:
    ``(seconds, md5 hex, sha512 hex)``."""
    size = os.path.getsize(source_path)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        sender = threading.Thread(
            target=_send, args=(listener.getsockname(), source_path))
        sender.start()
        try:
            conn, _addr = listener.accept()
            with conn:
                start = time.perf_counter()
                conn.sendall(b"g")   # the sender starts now
                digests = _receive_hashing(conn, size, directory)
                elapsed = time.perf_counter() - start
        finally:
            sender.join()
    return (elapsed,) + digests


def _send(address, path):
    with socket.create_connection(address) as sock, open(path, "rb") as f:
        sock.recv(1)
        sock.sendfile(f)


def _receive_hashing(conn, size, directory):
    fd, path = tempfile.mkstemp(dir=directory, prefix="upload-floor-")
    target = filewriter.MappedFile(fd)
    hashes = (hashlib.md5(usedforsecurity=False), hashlib.sha512())
    lanes = [concurrent.futures.ThreadPoolExecutor(1) for _h in hashes]
    slots = [None] * DEPTH   # (mapping, view, futures)
    try:
        received = 0
        for turn in range(-(-size // WINDOW)):
            slot = turn % DEPTH
            _free(slots[slot])
            slots[slot] = None
            length = min(WINDOW, size - received)
            mapping = target.window(received, length)
            if mapping is None:
                raise OSError("%s cannot be mapped" % directory)
            view = memoryview(mapping)
            slots[slot] = (mapping, view, [])   # unmapped if _fill fails
            _fill(conn, view)
            slots[slot][2].extend(lane.submit(h.update, view) for lane, h
                                  in zip(lanes, hashes, strict=True))
            received += length
    finally:
        for slot in slots:
            _free(slot)
        for lane in lanes:
            lane.shutdown()
        target.close()
        os.unlink(path)
    return tuple(h.hexdigest() for h in hashes)


def _fill(conn, view):
    filled = 0
    while filled < len(view):
        got = conn.recv_into(view[filled:])
        if not got:
            raise OSError("the sender stopped after %d bytes" % filled)
        filled += got


def _free(slot):
    """Wait for the hashes of a window, then unmap it."""
    if slot is None:
        return
    mapping, view, futures = slot
    for future in futures:
        future.result()
    view.release()
    mapping.close()
