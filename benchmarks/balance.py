"""Worker balance benchmark: do keep-alive clients spread over the workers?

Starts ``glance-api`` (2 workers, SQLite, no authentication) on a free
port of 127.0.0.1, then C keep-alive clients (default 16), each one
``http.client`` connection opened at the same moment, send ``GET
/v2/images/{id}`` for S seconds (default 10). Prints, per worker, the
connections it holds (found in /proc) and the requests it answered, and
p50/p99 latency overall. Bounded: one server, C connections, S seconds.

Run: ``python -m benchmarks.balance [--clients 16] [--seconds 10]``.
"""
import argparse
import collections
import http.client
import json
import tempfile
import threading
import time

from benchmarks import loadgen
from tests.functional.server import GlanceServer, holder_of


def client(srv, path, start, stop, out):
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
    conn.connect()
    start.wait()
    latencies, errors = [], 0
    while not stop.is_set():
        began = time.monotonic()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors += 1
                continue
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection(srv.host, srv.port,
                                              timeout=30)
            continue
        latencies.append(time.monotonic() - began)
    out.append((conn, latencies, errors))


def run(srv, clients, seconds):
    resp = srv.request("POST", "/v2/images",
                       data=json.dumps({"name": "balance"}),
                       headers={"Content-Type": "application/json"})
    path = "/v2/images/" + resp.json()["id"]
    workers = srv.worker_pids()
    log_start = len(srv.log_text())
    start, stop, out = threading.Event(), threading.Event(), []
    threads = [threading.Thread(target=client,
                                args=(srv, path, start, stop, out))
               for _i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)       # every connection open (not yet accepted)
    start.set()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(60)
    holders = collections.Counter(holder_of(workers, conn.sock)
                                  for conn, _l, _e in out)
    served = collections.Counter()
    for line in srv.log_text()[log_start:].splitlines():
        fields = line.split()
        if "eventlet.wsgi.server" in line and len(fields) > 2:
            served[int(fields[2])] += 1
    latencies = [x for _c, lat, _e in out for x in lat]
    errors = sum(e for _c, _l, e in out)
    for pid in workers:
        print("worker %d: %2d connections, %6d requests"
              % (pid, holders.get(pid, 0), served.get(pid, 0)))
    print("%d clients, %.0f s: %d requests, %.0f req/s, p50 %.1f ms, "
          "p99 %.1f ms, errors %d"
          % (clients, seconds, len(latencies), len(latencies) / seconds,
             1000 * loadgen.percentile(latencies, 0.5),
             1000 * loadgen.percentile(latencies, 0.99), errors))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.balance")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as base:
        srv = GlanceServer(base, workers=2)
        srv.start()
        try:
            run(srv, args.clients, args.seconds)
        finally:
            srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
