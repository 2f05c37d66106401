"""Node-count benchmark: 1, 2 and 3 glance-api nodes behind HAProxy.

Creates a PostgreSQL database (dropped at the end) on the local test
server, then runs ``glance-api`` nodes on 127.0.0.1 (``--workers`` each,
default 1: the node count is the only thing that grows), all on that
database and on one file store directory, with
``worker_self_reference_url`` set as a multi-node deployment has it.
HAProxy (``tests/functional/haproxy.py``: round robin per request, no
stickiness) is started in front of the first N nodes for N = 1, 2, 3;
node N is started just before its round, so N nodes run in round N.

In each round, through the load balancer, for ``--seconds`` each:

* GET one image and list ``limit=25`` (of ``--images`` seeded images),
  ``--clients`` keep-alive clients (``benchmarks.loadgen``): requests/s
  and p50;
* upload: ``--upload-clients`` clients each create an image and PUT
  ``--upload-mib`` MiB to it: MiB/s (the images are deleted after, not
  timed).

For each scenario it prints where the CPU went, per request, from
/proc: the nodes (every node's processes), the database (the PostgreSQL
backends serving this database, found by their command line and sampled
every 50 ms, so that the backends of pooled connections closed meanwhile
count too), HAProxy and the load generator itself (this process); the
database connections opened (``pg_stat_database.sessions``; the nodes
run with ``max_pool_size = 20``, ``--pool-size``: at the default 5 a
node under 16 clients opens and closes overflow connections all the
time, whose short-lived backends the sampling misses); and how busy
the machine was (/proc/stat), with the part none of these used (other
work on a shared machine). ``one full at`` is the rate at which this
database's backends would fill one core at the measured cost per
request: where the shared database becomes the limit. Only 127.0.0.1;
everything started is stopped (on SIGTERM too).

Run: ``python -m benchmarks nodes [--seconds 8] [--nodes 1,2,3]``.
"""
import argparse
import contextlib
import json
import os
import signal
import sys
import tempfile
import threading
import time
import uuid

import sqlalchemy as sa
from sqlalchemy import pool as sa_pool

from benchmarks import loadgen
from benchmarks import metadata
from tests.functional.haproxy import HAProxy, haproxy_binary
from tests.functional.server import GlanceServer, child_pids
from tests.functional.test_multinode import db_sync
from tests.unit.db.conftest import CREATE, DROP, SERVERS

HEADERS = metadata.HEADERS
MiB = 1024 * 1024


@contextlib.contextmanager
def postgresql_database():
    """(server engine, database name, URL) of a new database; dropped."""
    server = sa.create_engine(SERVERS["postgresql"],
                              poolclass=sa_pool.NullPool,
                              isolation_level="AUTOCOMMIT")
    name = "glance_nodes_%s" % uuid.uuid4().hex[:8]
    with server.connect() as conn:
        conn.exec_driver_sql(CREATE["postgresql"] % name)
    try:
        yield server, name, SERVERS["postgresql"] + name
    finally:
        with server.connect() as conn:
            conn.exec_driver_sql(DROP["postgresql"] % name)
        server.dispose()


def make_node(base, index, db_url, store, args):
    srv = GlanceServer(os.path.join(base, "node%d" % index),
                       workers=args.workers, flavor="trusted-auth", conf={
                           "DEFAULT": {"api_limit_max": 1000},
                           "database": {"connection": db_url,
                                        "max_pool_size":
                                            args.pool_size or None},
                           "glance_store": {
                               "filesystem_store_datadir": store}})
    srv.update_config({"DEFAULT": {"worker_self_reference_url": srv.url}})
    return srv


# --- where the CPU goes ------------------------------------------------------

def proc_stat(pid):
    """The fields of /proc/PID/stat after the command (state first)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def pid_cpu_seconds(pid, children_waited=False):
    """utime + stime (+ cutime + cstime: the exited children it reaped)."""
    fields = proc_stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children_waited:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def postmaster_pid(server):
    """The PostgreSQL server's main process: the parent of a backend."""
    with server.connect() as conn:
        backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        fields = proc_stat(backend)     # while the backend is alive
    if fields is None:
        raise RuntimeError("PostgreSQL's processes are not visible in "
                           "/proc (not on this machine?)")
    return int(fields[1])


def postgresql_cpu_seconds(postmaster):
    """Every PostgreSQL process: the postmaster, its live children and
    the children it reaped (backends of connections closed meanwhile)."""
    total = pid_cpu_seconds(postmaster, children_waited=True)
    for child in child_pids(postmaster):
        total += pid_cpu_seconds(child)
    return total


def sessions(server, name):
    """Connections opened to database ``name`` so far."""
    with server.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT sessions FROM pg_stat_database WHERE datname = "
            "%(name)s", {"name": name}).scalar() or 0


def machine_busy():
    """(busy, total) jiffies of every CPU since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]           # idle + iowait
    return sum(values) - idle, sum(values)


class BackendSampler(threading.Thread):
    """Polls the PostgreSQL backends serving database ``name`` (their
    command line names it) every ``interval`` and keeps each one's last
    CPU seconds: a backend of a connection closed meanwhile keeps what it
    had at its last sample (one shorter than ``interval`` is missed)."""

    def __init__(self, postmaster, name, interval=0.05):
        super().__init__(daemon=True)
        self.postmaster, self.name = postmaster, name
        self.interval = interval
        self.seen = {}           # pid -> whether it serves our database
        self.cpu = {}            # pid -> last CPU seconds
        self.done = threading.Event()

    def ours(self, pid):
        if pid not in self.seen:
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    cmdline = f.read().decode(errors="replace")
            except OSError:
                return False
            self.seen[pid] = (" %s " % self.name) in cmdline
        return self.seen[pid]

    def poll(self):
        for pid in child_pids(self.postmaster):
            if self.ours(pid):
                cpu = pid_cpu_seconds(pid)
                if cpu or pid not in self.cpu:
                    self.cpu[pid] = cpu

    def run(self):
        while not self.done.wait(self.interval):
            self.poll()

    def total(self):
        self.poll()
        return sum(self.cpu.values())


class CpuMeter:
    """CPU seconds of the nodes, PostgreSQL (the backends of this
    database, and all its processes), haproxy and this process, and the
    database connections opened, between ``start()`` and ``stop()``."""

    def __init__(self, nodes, proxy, server, db_name):
        self.nodes, self.proxy = nodes, proxy
        self.server, self.db_name = server, db_name
        self.postmaster = postmaster_pid(server)
        self.backends = None

    def sample(self):
        times = os.times()
        busy, total = machine_busy()
        return {"nodes": sum(loadgen.process_cpu_seconds(n.pid)
                             for n in self.nodes),
                "db": self.backends.total(),
                "postgresql": postgresql_cpu_seconds(self.postmaster),
                "haproxy": pid_cpu_seconds(self.proxy.pid),
                "client": times.user + times.system,
                "sessions": sessions(self.server, self.db_name),
                "busy": busy, "total": total}

    def start(self):
        self.backends = BackendSampler(self.postmaster, self.db_name)
        self.before = self.sample()
        self.backends.start()

    def stop(self):
        after = self.sample()
        self.backends.done.set()
        self.backends.join(5)
        delta = {key: after[key] - self.before[key] for key in after}
        delta["busy"] = (delta["busy"] / delta["total"]
                         if delta["total"] else 0.0)
        return delta


# --- the scenarios -----------------------------------------------------------

def metadata_scenarios(image_id):
    get = ("GET", "/v2/images/" + image_id, None, HEADERS, (200,))
    page = ("GET", "/v2/images?limit=25", None, HEADERS, (200,))
    return [("GET one image", lambda i: get),
            ("list limit=25", lambda i: page)]


def upload_unit(body, round_no):
    """(create, upload) of a new image, its id from the request number."""
    def make(i):
        image_id = str(uuid.UUID(int=(round_no << 64) | i, version=4))
        create = json.dumps({"id": image_id, "name": "up",
                             "disk_format": "raw",
                             "container_format": "bare"})
        put = dict(HEADERS, **{"Content-Type": "application/octet-stream"})
        return [("POST", "/v2/images", create, HEADERS, (201,)),
                ("PUT", "/v2/images/%s/file" % image_id, body, put, (204,))]
    return make


def delete_uploads(url, count, round_no):
    def delete(i):
        image_id = str(uuid.UUID(int=(round_no << 64) | i, version=4))
        return ("DELETE", "/v2/images/" + image_id, None, HEADERS,
                (204, 404))
    loadgen.run("delete", url, delete, concurrency=4, total=count,
                seconds=120)


def measure(meter, name, url, make, concurrency, seconds):
    meter.start()
    result = loadgen.run(name, url, make, concurrency=concurrency,
                         total=10 ** 9, seconds=seconds)
    return result, meter.stop()


def run_round(n, nodes, proxy, db, args, image_id):
    server, db_name = db
    meter = CpuMeter(nodes, proxy, server, db_name)
    rows = []
    for name, make in metadata_scenarios(image_id):
        result, cpu = measure(meter, name, proxy.url, make, args.clients,
                              args.seconds)
        rows.append((n, name, result, cpu, None))
    body = os.urandom(args.upload_mib * MiB)
    name = "upload %d MiB" % args.upload_mib
    result, cpu = measure(meter, name, proxy.url, upload_unit(body, n),
                          args.upload_clients, args.seconds)
    rows.append((n, name, result, cpu, args.upload_mib))
    count = len(result.latencies) + result.errors + args.upload_clients
    delete_uploads(proxy.url, count, n)
    return rows


# --- report ----------------------------------------------------------------

def rate_text(result, mib):
    if mib:
        return "%.1f MiB/s" % (len(result.latencies) * mib / result.wall)
    return "%.1f req/s" % result.rate


def line(n, name, result, cpu, mib):
    """Two lines: the rate, then where the CPU went."""
    count = max(len(result.latencies), 1)
    ms = {key: 1000.0 * cpu[key] / count
          for key in ("nodes", "db", "haproxy", "client")}
    ours = sum(cpu[key] for key in ms) / result.wall     # cores
    busy = cpu["busy"] * os.cpu_count()
    db_full = 1000.0 / ms["db"] if ms["db"] else float("inf")
    unit = "upload" if mib else "req"
    return ("N=%d %-15s %13s  p50 %6.1f ms  errors %d  db connections "
            "opened %.1f/s; all of PostgreSQL %.2f cores\n"
            "    CPU ms/%s: nodes %.2f, db %.2f, haproxy %.2f, client %.2f;"
            " cores busy %.2f of %d (%.2f not ours); db %.2f cores, one "
            "full at %.0f %ss/s" % (
                n, name, rate_text(result, mib),
                1000 * loadgen.percentile(result.latencies, 0.5),
                result.errors, cpu["sessions"] / result.wall,
                cpu["postgresql"] / result.wall, unit,
                ms["nodes"], ms["db"], ms["haproxy"], ms["client"], busy,
                os.cpu_count(), max(busy - ours, 0.0),
                cpu["db"] / result.wall, db_full, unit))


def report(rows, args):
    counts = list(dict.fromkeys(row[0] for row in rows))
    names = list(dict.fromkeys(row[1] for row in rows))
    print("\nnodes benchmark: glance-api nodes with %d worker(s) each "
          "(max_pool_size %s), PostgreSQL, one file store, HAProxy round "
          "robin; %d metadata clients, %d upload clients, %.0f s per "
          "scenario; %d CPUs"
          % (args.workers, args.pool_size or "5, the default", args.clients,
             args.upload_clients, args.seconds, os.cpu_count()))
    print("%-16s" % "nodes" + "".join("%14d" % n for n in counts))
    for name in names:
        print("%-16s" % name + "".join(
            "%14s" % rate_text(row[2], row[4])
            for row in rows if row[1] == name))
    for row in rows:
        print(line(*row))
    print("(CPU per request from /proc: every node's processes; 'db': "
          "the PostgreSQL backends of this database, sampled every 50 ms "
          "(backends of connections closed meanwhile included); haproxy; "
          "this load generator. 'all of PostgreSQL': every process of the "
          "server, other users included. 'not ours': the rest of the "
          "machine. 'one full at': the rate at which this database's "
          "backends would fill one core at the measured cost)")


def run(args, base):
    store = os.path.join(base, "store")
    counts = [int(c) for c in args.nodes.split(",")]
    rows, nodes = [], []
    with postgresql_database() as (server, db_name, url):
        try:
            for n in counts:
                while len(nodes) < n:
                    srv = make_node(base, len(nodes), url, store, args)
                    if not nodes:
                        db_sync(srv)
                    srv.start()
                    nodes.append(srv)
                    if len(nodes) == 1:
                        metadata.seed(srv.url, args.images)
                image_id = metadata.first_image_id(nodes[0].url)
                with HAProxy(os.path.join(base, "haproxy%d" % n),
                             [s.url for s in nodes[:n]]) as proxy:
                    rows += run_round(n, nodes[:n], proxy, (server, db_name),
                                      args, image_id)
                for row in rows[-3:]:
                    print(line(*row), flush=True)
        finally:
            for srv in nodes:
                srv.stop()
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks nodes",
                                     description=__doc__)
    parser.add_argument("--nodes", default="1,2,3")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--upload-clients", type=int, default=4)
    parser.add_argument("--upload-mib", type=int, default=8)
    parser.add_argument("--images", type=int, default=200)
    # the option's default (5) is below the clients a node serves: the
    # overflow connections are opened and closed all the time, and the
    # short-lived backends escape the 50 ms sampling (0 = the default)
    parser.add_argument("--pool-size", type=int, default=20,
                        help="[database] max_pool_size of each node "
                             "(default 20; 0: the option's default, 5)")
    args = parser.parse_args(argv)
    if haproxy_binary() is None:
        print("haproxy is not installed (tools/install-system-packages.sh)")
        return 2
    # a kill still stops the nodes and drops the database (finally blocks)
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(1))
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as base:
        rows = run(args, base)
    report(rows, args)
    print("(%.0f s in all)" % (time.monotonic() - start))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
