"""The scale benchmark over HTTP, side by side with Glance 33.

For one backend and catalog size (``scale.py --glance33``): Glance 33's
own ``glance-manage db sync`` (from the oracle virtualenv of
``tools/differential/oracle.py``) creates a second database, the same
catalog rows go into Glance's tables by SQLAlchemy Core executemany from
here (the tables are reflected: no Glance import in this process), then
Glance 33 under uWSGI and our ``glance-api`` (both from
``tools/differential/servers.py``: the same options, the same paste file
whose ``trustedcache`` flavor trusts the identity headers) serve their
databases, and one keep-alive client times the same
``GET /v2/images?...`` on each, in two blocks each (ours, Glance's,
Glance's, ours: see ``time_alternating``): median of ``repeat``
requests, ours, Glance's and the ratio.

The client is the standard library's ``http.client`` on one kept-alive
connection per server: ``requests`` spent 0.8 ms of CPU of its own per
call (http.client 0.15 ms), on the cores the servers run on, and added
it to both sides of every ratio.
"""
import contextlib
import http.client
import json
import statistics
import tempfile
import time
import urllib.parse

import sqlalchemy as sa
from sqlalchemy import pool as sa_pool

from benchmarks import scale
from tests.unit.db.conftest import server_database
from tools.differential import oracle
from tools.differential import servers

GLANCE_TABLES = ("images", "image_properties", "image_tags",
                 "image_members", "image_locations")
# what keystone's implied roles would give: reader comes with member
IDENTITY = {"admin": ("p1", "admin,member,reader"),
            "user": (scale.VIEWER, "member,reader")}


def http_queries(n, marks):
    """(label, who, query string): the queries of ``scale.queries``."""
    owner = "p%d" % (3 % scale.projects(n))
    out = []
    for who in ("admin", "user"):
        pick = 0 if who == "admin" else 1
        page2, name2 = marks[""][pick], marks["name"][pick]
        deep = marks["deep"][pick]
        for label, params in (
                ("default", {}),
                ("sort=name", {"sort_key": "name"}),
                ("sort=name asc", {"sort_key": "name", "sort_dir": "asc"}),
                ("tag=t7", {"tag": "t7"}),
                ("os_distro=d7", {"os_distro": "d7"}),
                ("visibility=public", {"visibility": "public"}),
                ("visibility=private", {"visibility": "private"}),
                ("visibility=shared", {"visibility": "shared"}),
                ("visibility=community", {"visibility": "community"}),
                ("visibility=all", {"visibility": "all"}),
                ("member_status=all", {"member_status": "all"}),
                ("owner=%s" % owner, {"owner": owner}),
                ("status=queued", {"status": "queued"}),
                ("os_hidden=true", {"os_hidden": "true"}),
                ("marker", {"marker": page2}),
                ("sort=name marker", {"sort_key": "name", "marker": name2}),
                ("deep marker", {"marker": deep}),
                ("sort=name deep marker", {"sort_key": "name",
                                           "marker": deep}),
                ("tag=t7 sort=name", {"tag": "t7", "sort_key": "name"})):
            params = dict({"limit": 25}, **params)
            out.append(("%s %s" % (who, label), who,
                        urllib.parse.urlencode(params)))
    out.append(("admin limit=1000", "admin", "limit=1000"))
    # an empty page: what any list costs each server before its rows
    out.append(("user owner=nobody", "user", "limit=25&owner=nobody"))
    return out


@contextlib.contextmanager
def glance_database(backend):
    """An empty database on the server of ``backend`` (the tests' servers
    and URLs); its URL. Dropped at the end."""
    with server_database(backend) as url:
        yield url


def fill_glance(url, n):
    """The catalog of ``scale.catalog_rows(n)`` into Glance's tables."""
    engine = sa.create_engine(url, poolclass=sa_pool.NullPool)
    try:
        meta = sa.MetaData()
        meta.reflect(engine, only=GLANCE_TABLES)
        tables = [meta.tables[name] for name in GLANCE_TABLES]
        for batch in scale.catalog_rows(n):
            with engine.begin() as conn:
                for table, rows in zip(tables, batch, strict=True):
                    if rows:
                        conn.execute(sa.insert(table),
                                     [_glance_row(table, r) for r in rows])
        scale.analyze(engine, GLANCE_TABLES)
    finally:
        engine.dispose()


def _glance_row(table, row):
    row = {k: v for k, v in row.items() if k in table.c}
    if isinstance(row.get("meta_data"), dict):
        row["meta_data"] = "{}"    # Glance's JSONEncodedDict is TEXT
    return row


class _SyncedOracle(servers.GlanceOracle):
    """Glance 33 whose database is already synced (and filled), on an
    HTTP/1.1 socket so that the client's connection is kept alive."""

    def prepare(self):
        pass

    def command(self):
        command, env = super().command()
        command[command.index("--http-socket")] = "--http11-socket"
        return command, env


def glance_server(tmpdir, url, n, log):
    """Glance 33 (not started) for a new database of ``url``, synced and
    filled with ``n`` images."""
    venv = oracle.ensure_venv(log=log)
    uwsgi = oracle.find_uwsgi(venv, log=log)
    paste = servers.trusted_paste(oracle.paste_file(venv).read_text())
    glance = servers.GlanceOracle(tmpdir + "/glance33", venv, uwsgi, paste,
                                  {"database": {"connection": url}})
    glance.write_conf()
    start = time.perf_counter()
    glance.prepare()                       # glance-manage db sync
    synced = time.perf_counter()
    fill_glance(url, n)
    log("glance33: db sync %.1f s, built %d images in %.1f s" % (
        synced - start, n, time.perf_counter() - synced))
    glance.__class__ = _SyncedOracle
    return glance


def our_server(tmpdir, url):
    paste = servers.trusted_paste(
        oracle.paste_file(oracle.ensure_venv()).read_text())
    ours = servers.OurServer(tmpdir + "/ours", paste,
                             {"database": {"connection": url}})
    return ours


class Client:
    """One kept-alive connection per server (``http.client``)."""

    def __init__(self):
        self._connections = {}

    def get(self, base, path, headers):
        """(status, body) of ``GET base+path``."""
        conn = self._connections.get(base)
        if conn is None:
            parts = urllib.parse.urlsplit(base)
            conn = self._connections[base] = http.client.HTTPConnection(
                parts.hostname, parts.port, timeout=120)
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()

    def close(self):
        for conn in self._connections.values():
            conn.close()


def time_http(client, base, who, query, repeat):
    """Median ms of ``repeat`` GETs (after ``scale.WARMUP`` of them) and
    the ids of the page."""
    return time_alternating(client, [base], who, query, repeat)[0]


def time_alternating(client, bases, who, query, repeat, block=None):
    """``time_http`` on several servers at once, in blocks of ``block``
    requests (default: half of ``repeat``), the servers' order reversed
    from one round of blocks to the next (A B, B A: a drift of the
    machine's speed over the run, such as the database server's
    background work after a bulk insert, weighs on both alike). Each
    block starts with an untimed request: a request right after the
    other server's finds the CPU's caches cold (timed in strict turn,
    ours took 2.6-4.7 ms where it took 1.2-3.7 ms in blocks; Glance 33
    the same either way). [(ms, page ids)] in the order of ``bases``."""
    project, roles = IDENTITY[who]
    headers = {"X-Identity-Status": "Confirmed", "X-Project-Id": project,
               "X-User-Id": "u-" + project, "X-Roles": roles}
    path = "/v2/images?" + query
    block = block or -(-repeat // 2)
    for _ in range(scale.WARMUP):
        for base in bases:
            _get_ok(client, base, path, headers)
    samples = [[] for _base in bases]
    bodies = [None] * len(bases)
    order = list(range(len(bases)))
    while len(samples[0]) < repeat:
        count = min(block, repeat - len(samples[0]))
        for i in order:
            if len(bases) > 1:   # this server's turn: the caches
                _get_ok(client, bases[i], path, headers)
            for _ in range(count):
                start = time.perf_counter()
                bodies[i] = _get_ok(client, bases[i], path, headers)
                samples[i].append(time.perf_counter() - start)
        order.reverse()
    return [(statistics.median(times) * 1000,
             [image["id"] for image in json.loads(body)["images"]])
            for times, body in zip(samples, bodies, strict=True)]


def _get_ok(client, base, path, headers):
    status, body = client.get(base, path, headers)
    if status != 200:
        raise RuntimeError("GET %s%s: %d %s" % (base, path, status,
                                               body[:300]))
    return body


def compare(backend, n, our_url, marks, repeat, only=()):
    """Time every HTTP query on ours and on Glance 33 and check that
    they answer the same page; {label: (ours, glance)} in ms. Servers and
    Glance's database are gone at the end."""
    results = {}

    def log(message):
        print("# " + message, flush=True)

    with tempfile.TemporaryDirectory() as tmpdir, \
            glance_database(backend) as glance_url, \
            contextlib.ExitStack() as stack:
        glance = stack.enter_context(glance_server(tmpdir, glance_url, n,
                                                   log))
        ours = stack.enter_context(our_server(tmpdir, our_url))
        client = Client()
        stack.callback(client.close)
        for label, who, query in http_queries(n, marks):
            if only and not any(o in label for o in only):
                continue
            (mine, page), (theirs, gpage) = time_alternating(
                client, [ours.url, glance.url], who, query, repeat)
            results[label] = (mine, theirs)
            # both list the same catalog: a different page is a finding
            # (but for Glance's NULL markers on PostgreSQL: see
            # doc/differences.rst, "Beyond the scenarios")
            print("%-10s %8d  http %-26s ours %8.2f ms  glance33 %8.2f ms"
                  "  x%.1f  %d rows, %s" % (
                      backend, n, label, mine, theirs, theirs / mine,
                      len(page), "same page" if page == gpage
                      else "PAGES DIFFER (glance: %d rows)" % len(gpage)),
                  flush=True)
    return results


def report(backend, n, results):
    print("\n%s N=%d: median ms of GET /v2/images (limit 25 unless said), "
          "one keep-alive http.client connection" % (backend, n))
    print("%-28s%10s%10s%8s" % ("query", "ours", "glance33", "ratio"))
    for label, (mine, theirs) in results.items():
        print("%-28s%10.2f%10.2f%8.1f" % (label, mine, theirs,
                                          theirs / mine))
