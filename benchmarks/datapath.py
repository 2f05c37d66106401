"""Data-path benchmark: the limits of this machine, then glance-api.

In one run, on the same bytes (a file of ``--size-mib`` random MiB in a
temporary directory on the same disk as the image store):

limits
    md5 and sha512 each alone; both one after the other in one thread
    (what a store driver's loop does); both at once in two threads
    (hashlib releases the GIL on large buffers); a plain read of the
    file; a plain ``socket.sendfile`` server over loopback to the same
    raw-socket client the daemon is measured with (the download limit);
    a minimal upload receiver (``benchmarks/upload_floor.py``: the file
    sent over loopback into a new file's pages, md5 and sha512 in two
    threads, nothing else: what an upload costs at the least here).
glance-api (2 workers, SQLite, trusted identity headers)
    upload of the file (the client sends it with sendfile), download of
    it, each as MiB/s and as a ratio to its limit (upload: the
    two-thread hashing limit, and the minimal receiver; download: the
    sendfile limit), with the server's CPU seconds per GiB. Each
    uploaded image is downloaded three times: at once (from wherever the
    upload left it: the page cache by default) against sendfile of a
    cached file, with the cold-read limit printed beside it; from disk
    (dropped from the page cache first) against sendfile of a copy of
    the bytes just written with O_DIRECT; from the page cache against
    sendfile of a cached file; then ``--clients`` concurrent downloads
    of a ``--small-mib`` image: all must complete; aggregate MiB/s and
    the slowest and fastest client (fairness). The server's memory (RSS
    and PSS of the parent and its workers) is printed after start-up and
    after each workload.
Glance 33 (``--glance33``)
    then the same workloads on real Glance 33 under uWSGI (2 processes,
    file store, SQLite; ``benchmarks/datapath_glance33.py``): its MiB/s,
    ratios, CPU s/GiB and memory beside ours, in the same run.

Each figure is the median of ``--repeat`` runs (all runs are printed).
Each upload and download is paired with a fresh measure of its limit
taken just before it, and the ratio printed is the median of those
paired ratios: on a shared machine the limits move within minutes.
Run: ``python -m benchmarks datapath [--size-mib 1024] [--repeat 3]``.
"""
import argparse
import hashlib
import json
import os
import socket
import statistics
import tempfile
import threading
import time
import urllib.parse

from benchmarks import datapath_glance33
from benchmarks import loadgen
from benchmarks import memwarm
from benchmarks import upload_floor
from tests.functional.server import GlanceServer

MiB = 1024 * 1024
CHUNK = 8 * MiB
HEADERS = {"X-Identity-Status": "Confirmed", "X-Project-Id": "bench",
           "X-User-Id": "bench-user", "X-Roles": "admin,member,reader"}
TIMEOUT = 300


# --- the bytes ---

def make_file(path, size):
    """``size`` random bytes at ``path`` (then in the page cache)."""
    block = os.urandom(16 * MiB)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            piece = block[:min(left, len(block))]
            f.write(piece)
            left -= len(piece)
            block = block[1:] + block[:1] if left else block
    with open(path, "rb") as f:
        while f.read(CHUNK):
            pass


def load(path):
    with open(path, "rb") as f:
        return f.read()


# --- limits ---

def _hash_all(name, data):
    h = hashlib.new(name)
    view = memoryview(data)
    for start in range(0, len(data), CHUNK):
        h.update(view[start:start + CHUNK])
    return h.hexdigest()


def hash_one(name):
    return lambda data: _hash_all(name, data)


def hash_sequential(data):
    md5, sha = hashlib.md5(), hashlib.sha512()
    view = memoryview(data)
    for start in range(0, len(data), CHUNK):
        chunk = view[start:start + CHUNK]
        md5.update(chunk)
        sha.update(chunk)


def hash_two_threads(data):
    threads = [threading.Thread(target=_hash_all, args=(name, data))
               for name in ("md5", "sha512")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def plain_read(path):
    buf = bytearray(CHUNK)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass


class SendfileServer:
    """A tiny HTTP server answering every GET with the file, by
    ``socket.sendfile``, one thread per connection."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.size = os.path.getsize(path)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _serve(self, conn):
        with conn, open(self.path, "rb") as f:
            data = b""
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    return
                data += more
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n" % self.size)
            conn.sendfile(f)

    def close(self):
        self.sock.close()


# --- a raw HTTP/1.1 client (as little client CPU as possible) ---

def _connect(url):
    parsed = urllib.parse.urlsplit(url)
    sock = socket.create_connection((parsed.hostname, parsed.port),
                                    timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _request_head(method, path, headers):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: bench",
             "Connection: close"]
    lines += ["%s: %s" % kv for kv in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_response(sock, buf):
    """``(status, body_bytes_count)`` reading into ``buf`` (discarded)."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            raise OSError("connection closed before the response head")
        data += more
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = None
    for line in lines[1:]:
        name, _sep, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    got = len(rest)
    view = memoryview(buf)
    while length is None or got < length:
        n = sock.recv_into(view)
        if not n:
            break
        got += n
    if length is not None and got != length:
        raise OSError("short body: %d of %d bytes" % (got, length))
    return status, got


def download(url, path="/", headers=None):
    """Seconds to GET ``path`` to the end; the body's size."""
    buf = bytearray(4 * MiB)
    start = time.perf_counter()
    with _connect(url) as sock:
        sock.sendall(_request_head("GET", path, headers or {}))
        status, got = _read_response(sock, buf)
    elapsed = time.perf_counter() - start
    if status != 200:
        raise OSError("GET %s: %d" % (path, status))
    return elapsed, got


def upload(url, path, file_path, headers):
    """Seconds to PUT the file at ``file_path`` (sent by sendfile)."""
    size = os.path.getsize(file_path)
    headers = dict(headers, **{"Content-Type": "application/octet-stream",
                               "Content-Length": str(size)})
    buf = bytearray(65536)
    start = time.perf_counter()
    with _connect(url) as sock, open(file_path, "rb") as f:
        sock.sendall(_request_head("PUT", path, headers))
        sock.sendfile(f)
        status, _got = _read_response(sock, buf)
    elapsed = time.perf_counter() - start
    if status != 204:
        raise OSError("PUT %s: %d" % (path, status))
    return elapsed


def create_image(url, name):
    import requests
    resp = requests.post(url + "/v2/images", timeout=30,
                         headers=dict(HEADERS,
                                      **{"Content-Type": "application/json"}),
                         data=json.dumps({"name": name, "disk_format": "raw",
                                          "container_format": "bare"}))
    resp.raise_for_status()
    return resp.json()["id"]


def delete_image(url, image_id):
    import requests
    requests.delete(url + "/v2/images/" + image_id, headers=HEADERS,
                    timeout=30)


# --- measuring ---

def timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def measure_limits(path, data, sendfile_url, repeat):
    size = len(data)
    rows = []
    for name, fn, arg in [
            ("md5 (1 thread)", hash_one("md5"), data),
            ("sha512 (1 thread)", hash_one("sha512"), data),
            ("md5+sha512 one after other", hash_sequential, data),
            ("md5+sha512 two threads", hash_two_threads, data),
            ("plain read of the file", plain_read, path)]:
        rates = [size / MiB / timed(fn, arg) for _ in range(repeat)]
        rows.append((name, rates))
    rates = [size / MiB / download(sendfile_url)[0] for _ in range(repeat)]
    rows.append(("sendfile server -> client", rates))
    rows.append(("minimal upload receiver", [
        size / MiB / _floor_seconds(path) for _ in range(repeat)]))
    return rows


def _floor_seconds(path):
    """Seconds of the minimal receiver (``upload_floor``) for the file at
    ``path``, into a file beside it (the same disk as the store)."""
    return upload_floor.receive(path, os.path.dirname(path))[0]


def measure_daemon(server, path, data, sendfile_url, repeat, memory):
    """Per run: an upload of a new image, its first download right
    after (wherever the upload left the bytes: the page cache by
    default), a download with the file dropped from the page cache (from
    disk) and one more (from the page cache). Each is paired with a
    measure of its limit taken just before (the ratios are per pair: on
    a shared machine the limits move from one minute to the next): the
    two-thread hashing limit for the upload, sendfile of a cached file
    for the first and last downloads, sendfile of a copy of the bytes
    just written with O_DIRECT (on disk only) for the cold one; for the
    first download the cold limit is printed too. ``memory`` gets the
    server's memory after each workload."""
    size = os.path.getsize(path)
    figures = {name: _figures() for name in (
        "up", "up_floor", "first", "first_cold_limit", "cold", "warm")}
    gib = size / (1024 * MiB)
    file_path = "/v2/images/%s/file"
    for i in range(repeat):
        image_id = create_image(server.url, "big-%d" % i)
        floor = size / MiB / _floor_seconds(path)
        limit = size / MiB / timed(hash_two_threads, data)
        before = loadgen.process_cpu_seconds(server.pid)
        seconds = upload(server.url, file_path % image_id, path, HEADERS)
        cpu = (loadgen.process_cpu_seconds(server.pid) - before) / gib
        _record(figures["up"], size / MiB / seconds, limit, cpu)
        _record(figures["up_floor"], size / MiB / seconds, floor, cpu)
        memory.append(("after upload %d" % i, server_memory_mib(server)))
        # the cold limit first: measuring it does not touch the image
        cold_limit = size / MiB / cold_sendfile_seconds(data, path)
        figures["first_cold_limit"]["rates"].append(cold_limit)
        for name in ("first", "cold", "warm"):
            if name == "cold":
                evict(os.path.join(server_datadir(server), image_id))
                limit = size / MiB / cold_sendfile_seconds(data, path)
            else:
                limit = size / MiB / download(sendfile_url)[0]
            _record(figures[name], *_download(server, file_path % image_id,
                                              size, limit))
        memory.append(("after downloads %d" % i, server_memory_mib(server)))
        delete_image(server.url, image_id)
    return figures


def _download(server, file_path, size, limit):
    before = loadgen.process_cpu_seconds(server.pid)
    seconds, got = download(server.url, file_path, HEADERS)
    assert got == size, (got, size)
    cpu = loadgen.process_cpu_seconds(server.pid) - before
    return size / MiB / seconds, limit, cpu / (size / (1024 * MiB))


def server_memory_mib(server):
    """(RSS, PSS) in MiB of the server's processes: the parent and its
    workers. The RSS sum counts the pages they share once per process;
    PSS divides each shared page among its sharers (the memory used)."""
    totals = {"Rss": 0, "Pss": 0}
    for pid in [server.pid] + loadgen._children(server.pid):
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    key = line.split(":", 1)[0]
                    if key in totals:
                        totals[key] += int(line.split()[1])
        except OSError:
            continue
    return totals["Rss"] / 1024.0, totals["Pss"] / 1024.0


def format_memory(memory):
    """The memory line of a report: (label, (rss, pss)) pairs."""
    return "  server memory (MiB, RSS sum / PSS sum of its processes): " + \
        ", ".join("%s %.0f/%.0f" % (label, rss, pss)
                  for label, (rss, pss) in memory)


def _figures():
    return {"rates": [], "cpu": [], "ratios": []}


def cold_sendfile_seconds(data, near):
    """Seconds to download, from a plain sendfile server, a copy of
    ``data`` just written with O_DIRECT beside ``near`` (so on disk, not
    in the page cache, like an image glance-api just stored)."""
    from glance.common import filewriter
    copy = near + ".cold"
    buffer = filewriter.aligned_buffer(len(data))
    buffer[:] = data
    with filewriter.DirectFile.create(copy, replace=True) as f:
        f.write(buffer)
    server = SendfileServer(copy)
    try:
        return download("http://127.0.0.1:%d" % server.port)[0]
    finally:
        server.close()
        os.unlink(copy)


def server_datadir(server):
    """The directory of the server's (default) file store."""
    # with several stores (Glance 33's, --glance33) each has its group
    backend = server.conf["glance_store"].get("default_backend")
    return server.conf[backend or "glance_store"]["filesystem_store_datadir"]


def evict(path):
    """Drop ``path`` from the page cache (a cold read comes next)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # only clean pages can be dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _record(figures, rate, limit, cpu_per_gib):
    figures["rates"].append(rate)
    figures["ratios"].append(rate / limit)
    figures["cpu"].append(cpu_per_gib)


def measure_concurrent(server, tmp, clients, small_mib):
    small = os.path.join(tmp, "small.img")
    make_file(small, small_mib * MiB)
    image_id = create_image(server.url, "small")
    upload(server.url, "/v2/images/%s/file" % image_id, small, HEADERS)
    results, errors = [None] * clients, []
    barrier = threading.Barrier(clients)

    def client(i):
        try:
            barrier.wait(60)
            results[i] = download(server.url,
                                  "/v2/images/%s/file" % image_id, HEADERS)
        except Exception as e:  # noqa: BLE001 - counted and shown
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(i,))
               for i in range(clients)]
    before = loadgen.process_cpu_seconds(server.pid)
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    wall = time.perf_counter() - start
    cpu = loadgen.process_cpu_seconds(server.pid) - before
    delete_image(server.url, image_id)
    os.unlink(small)
    done = [r for r in results if r is not None and r[1] == small_mib * MiB]
    per_client = [small_mib / r[0] for r in done]
    return {"clients": clients, "complete": len(done), "errors": errors,
            "aggregate": len(done) * small_mib / wall, "wall": wall,
            "min": min(per_client) if per_client else 0.0,
            "max": max(per_client) if per_client else 0.0,
            "cpu_per_gib": cpu / (len(done) * small_mib / 1024.0)
            if done else 0.0}


# --- report ---

def _median(rates):
    return statistics.median(rates)


def _runs(rates):
    return " ".join("%.0f" % r for r in rates)


def _print_floor_ratio(ratios):
    print("  %-34s %9s %7.2f %10s   (the upload's ratio to the minimal "
          "receiver measured just before each: [%s])" % (
              "  upload / minimal receiver", "", _median(ratios), "",
              " ".join("%.2f" % r for r in ratios)))


def report(args, limits, figures, conc, memory):
    med = {name: _median(rates) for name, rates in limits}
    send_limit = med["sendfile server -> client"]
    print("datapath benchmark: %d MiB%s, median of %d runs (all runs in [])"
          % (args.size_mib, ", data_direct_io" if args.direct_io else "",
             args.repeat))
    print("  %-34s %9s %7s %10s   %s" % ("", "MiB/s", "ratio",
                                        "CPU s/GiB", "runs"))
    for name, rates in limits:
        print("  %-34s %9.0f %7s %10s   [%s]" % (name, _median(rates), "",
                                                "", _runs(rates)))
    for name, key, limit_name in [
            ("glance-api upload", "up", "two-thread hashing"),
            ("first download after the upload", "first",
             "sendfile of a cached file"),
            ("download, file on disk only", "cold",
             "sendfile of a file just written with O_DIRECT"),
            ("download, file in page cache", "warm",
             "sendfile of a cached file")]:
        f = figures[key]
        print("  %-34s %9.0f %7.2f %10.2f   [%s]  (ratio to %s measured "
              "just before each: [%s]; CPU s/GiB [%s])" % (
                  name, _median(f["rates"]), _median(f["ratios"]),
                  _median(f["cpu"]), _runs(f["rates"]), limit_name,
                  " ".join("%.2f" % r for r in f["ratios"]),
                  " ".join("%.2f" % c for c in f["cpu"])))
        if key == "up":
            _print_floor_ratio(figures["up_floor"]["ratios"])
    cold = figures["first_cold_limit"]["rates"]
    print("  %-34s %9.0f %7s %10s   [%s]  (the cold-read limit, measured "
          "before each first download: not its limit)" % (
              "  cold limit at first download", _median(cold), "", "",
              _runs(cold)))
    print("  %d concurrent downloads of %d MiB: %d/%d complete, aggregate "
          "%.0f MiB/s (%.2f of sendfile) in %.1f s, per client min %.1f / "
          "max %.1f MiB/s (min/max %.2f), server CPU %.2f s/GiB" % (
              conc["clients"], args.small_mib, conc["complete"],
              conc["clients"], conc["aggregate"],
              conc["aggregate"] / send_limit, conc["wall"], conc["min"],
              conc["max"], conc["min"] / conc["max"] if conc["max"] else 0,
              conc["cpu_per_gib"]))
    for error in conc["errors"][:5]:
        print("    error: %s" % error)
    print(format_memory(memory))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--small-mib", type=int, default=64)
    parser.add_argument("--direct-io", action="store_true",
                        help="run glance-api with data_direct_io = True")
    parser.add_argument("--no-ballast", action="store_true",
                        help="leave the free memory free (see "
                             "benchmarks/memwarm.py)")
    parser.add_argument("--glance33", action="store_true",
                        help="then the same workloads on Glance 33 under "
                             "uWSGI (benchmarks/datapath_glance33.py)")
    parser.add_argument("--dir", default=None,
                        help="temporary directory (default: the system's)")
    args = parser.parse_args(argv)
    with memwarm.for_benchmark(args.no_ballast) as ballast:
        print(ballast, flush=True)
        return run_benchmark(args)


def run_benchmark(args):
    with tempfile.TemporaryDirectory(prefix="datapath-",
                                     dir=args.dir) as tmp:
        path = os.path.join(tmp, "image.img")
        make_file(path, args.size_mib * MiB)
        data = load(path)
        sendfile_server = SendfileServer(path)
        sendfile_url = "http://127.0.0.1:%d" % sendfile_server.port
        server = GlanceServer(
            os.path.join(tmp, "server"), workers=2, flavor="trusted-auth",
            conf={"DEFAULT": {"data_direct_io": args.direct_io},
                  "glance_store": {"filesystem_store_datadir":
                                   os.path.join(tmp, "images")}})
        try:
            limits = measure_limits(path, data, sendfile_url, args.repeat)
            figures, conc, memory = run_workloads(
                server, tmp, path, data, sendfile_url, args)
            if args.glance33:
                glance33 = run_workloads(
                    datapath_glance33.glance33_server(tmp, _log), tmp, path,
                    data, sendfile_url, args,
                    check=datapath_glance33.check_round_trip)
        finally:
            sendfile_server.close()
    report(args, limits, figures, conc, memory)
    if args.glance33:
        datapath_glance33.report(args, (figures, conc, memory), glance33,
                                 _median)
    return 0


def run_workloads(server, tmp, path, data, sendfile_url, args, check=None):
    """(figures, concurrent, memory) of the workloads on ``server``,
    started and stopped here; ``check(server, HEADERS)`` first, if
    given."""
    memory = []
    with server:
        memory.append(("started", server_memory_mib(server)))
        if check:
            check(server, HEADERS)
        figures = measure_daemon(server, path, data, sendfile_url,
                                 args.repeat, memory)
        conc = measure_concurrent(server, tmp, args.clients, args.small_mib)
        memory.append(("after concurrent downloads",
                       server_memory_mib(server)))
        time.sleep(2)
        memory.append(("idle 2 s later", server_memory_mib(server)))
    return figures, conc, memory


def _log(message):
    print("# " + message, flush=True)


if __name__ == "__main__":
    main()
