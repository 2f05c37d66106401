"""Metadata benchmark: GET one image, list pages, create+delete.

Starts ``glance-api`` (2 workers, SQLite, trusted identity headers) on a
free port, seeds 2,000 images with 3 custom properties and 2 tags each,
then drives it with keep-alive clients and prints requests/s, p50/p99 and
the server's CPU per request; then the latency of a 1,000-image page
with a single client; with ``wrk``, also the GET of the first image by
a project it is shared with (a membership check per GET); last, the
application's own CPU per GET and per list page, in-process with no HTTP
(``benchmarks/appcost.py``), beside which the server's CPU per request
shows what the HTTP layer costs. Run: ``python -m benchmarks metadata``;
``--backend mysql`` (or ``postgresql``) runs the same on a new database
of the local test server (the unit tests' servers and URLs), migrated
first and dropped at the end.
"""
import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile

from benchmarks import loadgen
from benchmarks import wrk
from tests.functional.server import GlanceServer

HEADERS = {"X-Identity-Status": "Confirmed", "X-Project-Id": "bench",
           "X-User-Id": "bench-user", "X-Roles": "admin,member,reader",
           "Content-Type": "application/json"}


def seed(url, count):
    def create(i):
        body = json.dumps({"name": "bench-%05d" % i, "disk_format": "raw",
                           "container_format": "bare",
                           "tags": ["t-%d" % (i % 7), "bench"],
                           "color": "c%d" % (i % 5), "size_class": "s",
                           "seq": str(i)})
        return ("POST", "/v2/images", body, HEADERS, (201,))
    result = loadgen.run("seed", url, create, concurrency=8, total=count,
                         seconds=600)
    assert result.errors == 0, "seeding failed"


def analyze(url):
    """The server database's statistics after seeding, as its upkeep
    would have them (see ``scale.analyze``)."""
    if url is None:
        return
    import sqlalchemy as sa
    from sqlalchemy import pool

    from benchmarks import scale
    engine = sa.create_engine(url, poolclass=pool.NullPool)
    try:
        scale.analyze(engine, scale.IMAGE_TABLES)
    finally:
        engine.dispose()


# a project the first image is shared with: its GETs check the membership
MEMBER_HEADERS = dict(HEADERS, **{"X-Project-Id": "bench-member",
                                  "X-User-Id": "bench-member-user",
                                  "X-Roles": "member,reader"})


def share(url, image_id):
    """Share the (``shared``, as created) image with MEMBER_HEADERS'
    project."""
    import requests
    resp = requests.post(url + "/v2/images/%s/members" % image_id,
                         json={"member": MEMBER_HEADERS["X-Project-Id"]},
                         headers=HEADERS, timeout=30)
    assert resp.status_code == 200, resp.text


def first_image_id(url):
    import requests
    resp = requests.get(url + "/v2/images?limit=1", headers=HEADERS,
                        timeout=30)
    return resp.json()["images"][0]["id"]


def scenarios(image_id, quick):
    scale = 0.2 if quick else 1.0
    n = lambda count: max(10, int(count * scale))  # noqa: E731
    get = ("GET", "/v2/images/" + image_id, None, HEADERS, (200,))
    page25 = ("GET", "/v2/images?limit=25", None, HEADERS, (200,))
    page1000 = ("GET", "/v2/images?limit=1000", None, HEADERS, (200,))

    def create_delete(i):
        iid = "00000000-0000-4000-8000-%012d" % i
        body = json.dumps({"id": iid, "name": "cd"})
        return [("POST", "/v2/images", body, HEADERS, (201,)),
                ("DELETE", "/v2/images/" + iid, None, HEADERS, (204,))]

    return [
        ("GET one image", lambda i: get, 16, n(4000)),
        ("list limit=25", lambda i: page25, 16, n(1500)),
        ("list limit=1000", lambda i: page1000, 16, n(100)),
        ("create+delete (8 clients)", create_delete, 8, n(800)),
    ]


def run_once(server, image_id, quick, offset):
    lines = []
    for name, make, concurrency, total in scenarios(image_id, quick):
        if name.startswith("create"):
            base = make
            make = lambda i, base=base: base(i + offset)  # noqa: E731
        before = loadgen.process_cpu_seconds(server.pid)
        result = loadgen.run(name, server.url, make,
                             concurrency=concurrency, total=total,
                             seconds=120)
        cpu = loadgen.process_cpu_seconds(server.pid) - before
        lines.append((name, result, cpu))
    # the target: one 1,000-image page, alone on the server
    page1000 = ("GET", "/v2/images?limit=1000", None, HEADERS, (200,))
    before = loadgen.process_cpu_seconds(server.pid)
    result = loadgen.run("list limit=1000, 1 client", server.url,
                         lambda i: page1000, concurrency=1,
                         total=10 if quick else 30, seconds=120)
    lines.append((result.name, result,
                  loadgen.process_cpu_seconds(server.pid) - before))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help="fewer requests per scenario")
    parser.add_argument("--backend", default="sqlite",
                        choices=("sqlite", "postgresql", "mysql"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, \
            database(args.backend, tmp) as url:
        conf = {"DEFAULT": {"api_limit_max": 1000}}
        if url is not None:
            conf["database"] = {"connection": url}
        server = GlanceServer(tmp, workers=2, flavor="trusted-auth",
                              conf=conf)
        print("metadata benchmark on %s" % args.backend)
        with server:
            seed(server.url, args.images)
            analyze(url)
            image_id = first_image_id(server.url)
            share(server.url, image_id)
            runs = [run_once(server, image_id, args.quick, r * 10 ** 6)
                    for r in range(args.runs)]
            wrk_lines = run_wrk(server, image_id, args.runs)
            wrk_lines += app_costs(server, image_id)
    report(runs)
    for line in wrk_lines:
        print("  " + line)


@contextlib.contextmanager
def database(backend, tmp):
    """None for SQLite (the server's own file), else the URL of a new
    migrated database on the local ``backend`` server, dropped at the
    end."""
    if backend == "sqlite":
        yield None
        return
    from benchmarks import scale
    from glance.db import session as db_session
    with scale.database(backend, tmp) as url:
        db_session.configure(None)   # the server holds the connections
        yield url


def run_wrk(server, image_id, runs):
    """The GET scenarios again with wrk, when it is installed."""
    if not wrk.available():
        return ["(wrk not installed: apt-get install wrk for C-client "
                "figures)"]
    lines = []
    get = "/v2/images/" + image_id
    # the two loads: 16 keep-alive clients, and 64 for GET
    for name, path, clients, headers in (
            ("GET one image", get, 16, HEADERS),
            ("GET one image, 64 clients", get, 64, HEADERS),
            ("GET it as a member", get, 16, MEMBER_HEADERS),
            ("list limit=25", "/v2/images?limit=25", 16, HEADERS)):
        rates = []
        for _r in range(runs):
            line, rate = wrk.run(name, server.url, path, headers,
                                 connections=clients, pid=server.pid)
            lines.append(line)
            rates.append(rate)
        lines.append("=> %-26s median %.1f req/s (wrk)"
                     % (name, statistics.median(rates)))
    return lines


def app_costs(server, image_id):
    """``benchmarks.appcost`` lines for the wrk scenarios' requests, each
    in a process of its own on the server's configuration."""
    lines = []
    for path, headers in (("/v2/images/" + image_id, HEADERS),
                          ("/v2/images/" + image_id, MEMBER_HEADERS),
                          ("/v2/images?limit=25", HEADERS)):
        command = [sys.executable, "-m", "benchmarks.appcost",
                   str(server.etc_dir), path, "--count", "1000"]
        for name, value in headers.items():
            command += ["--header", "%s:%s" % (name, value)]
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=600)
        line = (done.stdout.strip() or done.stderr.strip()[-300:])
        who = "member" if headers is MEMBER_HEADERS else "owner"
        lines.append("%s (%s)" % (line, who))
    return lines


def report(runs):
    print("metadata benchmark: %d runs, glance-api with 2 workers" %
          len(runs))
    for index, (name, _r, _c) in enumerate(runs[0]):
        results = [run[index] for run in runs]
        for _name, result, cpu in results:
            print("  " + result.line(cpu))
        rate = statistics.median(r.rate for _n, r, _c in results)
        p50 = statistics.median(loadgen.percentile(r.latencies, 0.5)
                                for _n, r, _c in results)
        print("  => %-26s median %.1f req/s, p50 %.1f ms" % (name, rate,
                                                             p50 * 1000))


if __name__ == "__main__":
    main()
