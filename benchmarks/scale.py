"""Scale benchmark: image list queries as the catalog grows, per database.

For each backend (sqlite, postgresql, mysql) and each catalog size N it
creates a uniquely named database, migrates it (``db_sync``), bulk-inserts
N images through the project's tables (batched executemany: one property
``os_distro`` and one tag per image, members for the shared ones, some
hidden, queued and soft-deleted images), runs ``ANALYZE`` on the server
databases (their statistics keep themselves up to date; the daemon never
analyzes an SQLite file, so neither does this), then times each
list query through ``glance.db.api.image_get_all`` -- the call the API
makes -- as an admin and as a plain project, and prints the median of
``--repeat`` calls. On MariaDB it also prints what one call read: the
storage engine's row reads (the same on any machine: a query that stays
flat as N grows reads as many rows at 1M as at 1k) and the InnoDB buffer
pool misses (pages read from outside the server's buffer pool, whose
size is the server's setting). The plans (EXPLAIN ANALYZE on
PostgreSQL, ANALYZE on MariaDB, EXPLAIN QUERY PLAN on SQLite) of the
statements of each query are printed for the largest N. Every database
is dropped at the end.

``--glance33`` also serves each server database with our ``glance-api``
and builds the same catalog for Glance 33 (its own ``glance-manage db
sync``, served under uWSGI), then times the same queries over HTTP on both
(``benchmarks/scale_http.py``).

Run: ``python -m benchmarks scale --backends postgresql,mysql
--sizes 1000,10000,100000 [--glance33]``.
"""
import argparse
import contextlib
import datetime
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa
from sqlalchemy import event

from glance.db import api
from glance.db import migration
from glance.db import models
from glance.db import pg_prepared
from glance.db import session as db_session
# the database servers, as the tests reach them
from tests.unit.db.conftest import migrated_server_database

T0 = datetime.datetime(2020, 1, 1)
BATCH = 5000
VIEWER = "p7"
# calls of a query before it is timed: PostgreSQL plans each of the first
# five executions of a prepared statement on its own (custom plans) and
# at the sixth decides whether to keep one generic plan; at the next call
# a first page it keeps planning is prepared with its values in it
# (glance.db.pg_prepared). A worker's pooled connection runs each list's
# statement far more often than that, so the figures are of that steady
# state (Glance, which prepares nothing, gets the same warm-up)
WARMUP = pg_prepared.DECIDED_AFTER + 1


# -- the catalog -------------------------------------------------------------

def projects(n):
    """Projects grow with the catalog: about 200 images each."""
    return max(20, n // 200)


def catalog_rows(n, seed=42):
    """Batches of (images, properties, tags, members, locations) rows.

    Per 100 images: 2 public, 1 community, 10 shared (each with one
    accepted and one pending member), 87 private; 1 in 50 hidden, 1 in 20
    queued, 1 in 13 soft-deleted, 1 in 100 without a name; the active ones
    have one file location. Two images
    share each creation time (the id breaks the tie).
    """
    rng = random.Random(seed)
    nproj = projects(n)
    for start in range(0, n, BATCH):
        images, props, tags, members, locations = [], [], [], [], []
        for i in range(start, min(n, start + BATCH)):
            image_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            owner = rng.randrange(nproj)
            bucket = rng.randrange(100)
            visibility = ("public" if bucket < 2 else "community"
                          if bucket == 2 else "shared" if bucket < 13
                          else "private")
            created = T0 + datetime.timedelta(seconds=i // 2)
            deleted = rng.randrange(13) == 0
            queued = rng.randrange(20) == 0
            images.append({
                "id": image_id,
                "name": None if rng.randrange(100) == 0 else "img-%08x"
                % rng.getrandbits(32),
                "size": rng.randrange(1 << 30), "virtual_size": None,
                "status": "deleted" if deleted else "queued"
                if queued else "active",
                "visibility": visibility, "checksum": None,
                "os_hash_algo": None, "os_hash_value": None,
                "min_disk": 0, "min_ram": 0, "owner": "p%d" % owner,
                "protected": False, "os_hidden": rng.randrange(50) == 0,
                "disk_format": "qcow2", "container_format": "bare",
                "created_at": created, "updated_at": created,
                "deleted_at": created if deleted else None,
                "deleted": deleted})
            child = {"image_id": image_id, "created_at": created,
                     "updated_at": created, "deleted_at": None,
                     "deleted": False}
            props.append(dict(child, name="os_distro",
                              value="d%d" % rng.randrange(10)))
            tags.append(dict(child, value="t%d" % rng.randrange(10)))
            if not (deleted or queued):
                locations.append(dict(
                    child, value="file:///var/lib/glance/images/" + image_id,
                    meta_data={}, status="active"))
            if visibility == "shared":
                for step, status in ((1, "accepted"), (2, "pending")):
                    members.append(dict(
                        child, member="p%d" % ((owner + step) % nproj),
                        can_share=False, status=status))
        yield images, props, tags, members, locations


def build(n):
    """Fill the database of ``glance.db.session`` with ``n`` images."""
    tables = [models.Image.__table__, models.ImageProperty.__table__,
              models.ImageTag.__table__, models.ImageMember.__table__,
              models.ImageLocation.__table__]
    for batch in catalog_rows(n):
        with db_session.connection(write=True) as conn:
            for table, rows in zip(tables, batch, strict=True):
                if rows:
                    conn.execute(sa.insert(table), rows)
    analyze(db_session.get_engine(), IMAGE_TABLES)


IMAGE_TABLES = ("images", "image_properties", "image_tags", "image_members",
                "image_locations")


def analyze(engine, tables):
    """Statistics of ``tables`` on a server database, as its own upkeep
    keeps them (PostgreSQL's autovacuum is off on the test machine's
    server: without them a freshly filled table is planned as empty)."""
    if engine.dialect.name == "sqlite":
        return
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if engine.dialect.name == "mysql":
            conn.exec_driver_sql("ANALYZE TABLE " + ", ".join(tables))
        else:
            conn.exec_driver_sql("ANALYZE")


@contextlib.contextmanager
def database(backend, tmpdir):
    """A new empty migrated database of ``backend``, in use by glance.db;
    dropped (or deleted) at the end."""
    if backend != "sqlite":
        with migrated_server_database(backend) as url:
            yield url
        return
    url = "sqlite:///%s" % os.path.join(
        tmpdir, "glance_scale_%s.sqlite" % uuid.uuid4().hex[:8])
    try:
        db_session.configure(url)
        migration.db_sync()
        yield url
    finally:
        db_session.configure(None)
        with contextlib.suppress(FileNotFoundError):
            for suffix in ("", "-wal", "-shm"):
                os.unlink(url[len("sqlite:///"):] + suffix)


# -- the queries -------------------------------------------------------------

def markers():
    """Marker ids: the last of page 1 (admin, user) per order, and a
    deep one (an image of the middle of the catalog, admin; the middle
    one of the viewer's own, user)."""
    admin = dict(is_admin=True, project_id="p1")
    out = {}
    for label, sort in (("", {}), ("name", {"sort_key": ["name"]})):
        first = api.image_get_all(limit=25, **admin, **sort)
        mine = api.image_get_all(limit=25, project_id=VIEWER, **sort)
        out[label] = (first[-1]["id"] if first else None,
                      mine[-1]["id"] if mine else None)
    image = models.Image.__table__.c
    live = sa.and_(image.deleted == sa.false(), image.os_hidden == sa.false())
    with db_session.connection(write=False) as conn:
        deep = []
        for cond in (image.visibility == "private", image.owner == VIEWER):
            count = conn.execute(sa.select(sa.func.count()).where(
                live, cond)).scalar()
            deep.append(conn.execute(
                sa.select(image.id).where(live, cond)
                .order_by(image.created_at, image.id)
                .offset(count // 2).limit(1)).scalar())
    out["deep"] = tuple(deep)
    return out


def queries(n, marks):
    """(label, image_get_all kwargs); admin or the project ``VIEWER``."""
    admin = dict(is_admin=True, project_id="p1")
    user = dict(project_id=VIEWER)
    owner = "p%d" % (3 % projects(n))
    out = []
    for who, ctx in (("admin", admin), ("user", user)):
        page2 = marks[""][0 if who == "admin" else 1]
        name2 = marks["name"][0 if who == "admin" else 1]
        deep = marks["deep"][0 if who == "admin" else 1]
        out += [
            ("%s default" % who, dict(ctx)),
            ("%s sort=name" % who, dict(ctx, sort_key=["name"])),
            ("%s sort=name asc" % who, dict(ctx, sort_key=["name"],
                                            sort_dir=["asc"])),
            ("%s tag=t7" % who, dict(ctx, filters={"tags": ["t7"]})),
            ("%s os_distro=d7" % who, dict(ctx, filters={"os_distro":
                                                         "d7"})),
            ("%s visibility=public" % who,
             dict(ctx, filters={"visibility": "public"})),
            ("%s visibility=private" % who,
             dict(ctx, filters={"visibility": "private"})),
            ("%s visibility=shared" % who,
             dict(ctx, filters={"visibility": "shared"})),
            ("%s visibility=community" % who,
             dict(ctx, filters={"visibility": "community"})),
            ("%s visibility=all" % who,
             dict(ctx, filters={"visibility": "all"})),
            ("%s member_status=all" % who, dict(ctx, member_status="all")),
            ("%s owner=%s" % (who, owner), dict(ctx, filters={"owner":
                                                              owner})),
            ("%s status=queued" % who, dict(ctx, filters={"status":
                                                          "queued"})),
            ("%s os_hidden=true" % who, dict(ctx, filters={"os_hidden":
                                                           True})),
            ("%s marker" % who, dict(ctx, marker=page2)),
            ("%s sort=name marker" % who, dict(ctx, sort_key=["name"],
                                               marker=name2)),
            ("%s deep marker" % who, dict(ctx, marker=deep)),
            ("%s sort=name deep marker" % who,
             dict(ctx, sort_key=["name"], marker=deep)),
            ("%s tag=t7 sort=name" % who, dict(ctx, sort_key=["name"],
                                               filters={"tags": ["t7"]})),
        ]
    out.append(("admin limit=1000", dict(admin, limit=1000)))
    out.append(("user owner=nobody", dict(user, filters={"owner":
                                                         "nobody"})))
    return out


class Capture:
    """The statements an engine runs while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements = []

    def _record(self, conn, cursor, statement, parameters, context, many):
        self.statements.append((statement, parameters))

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)


def _paged(kwargs):
    """The call's ``image_get_all`` arguments: a page of 25 unless the
    query says otherwise."""
    return dict({"limit": 25}, **kwargs)


def time_query(kwargs, repeat):
    kwargs = _paged(kwargs)
    for _ in range(WARMUP):      # warm caches and the statement caches
        api.image_get_all(**kwargs)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        page = api.image_get_all(**kwargs)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000, len(page)


# the storage engine's row reads of every kind, and the pages InnoDB
# had to read in because its buffer pool did not hold them
MYSQL_READS = ("Handler_read_first", "Handler_read_key",
               "Handler_read_last", "Handler_read_next",
               "Handler_read_prev", "Handler_read_rnd",
               "Handler_read_rnd_next")
MYSQL_POOL_MISSES = "Innodb_buffer_pool_reads"


def mysql_reads(kwargs):
    """(row reads, buffer pool misses) of one call on MariaDB: how much
    a query reads whatever the machine, and how much of it came from
    outside the buffer pool. Server-wide counters, less what reading
    them costs (measured by reading them twice)."""
    kwargs = _paged(kwargs)
    statement = "SHOW GLOBAL STATUS WHERE Variable_name IN (%s)" % ", ".join(
        "'%s'" % name for name in MYSQL_READS + (MYSQL_POOL_MISSES,))
    engine = db_session.get_engine()
    with engine.connect() as conn:
        def counters():
            found = dict(conn.exec_driver_sql(statement).all())
            return (sum(int(found.get(n, 0)) for n in MYSQL_READS),
                    int(found.get(MYSQL_POOL_MISSES, 0)))
        first = counters()
        second = counters()
        api.image_get_all(**kwargs)
        third = counters()
    reads = (third[0] - second[0]) - (second[0] - first[0])
    return reads, third[1] - second[1]


EXPLAIN = {"postgresql": "EXPLAIN (ANALYZE, COSTS OFF) ",
           "mysql": "ANALYZE ", "sqlite": "EXPLAIN QUERY PLAN "}


def plans(kwargs):
    """The plan of each statement one call runs, as text lines."""
    kwargs = _paged(kwargs)
    engine = db_session.get_engine()
    with Capture(engine) as capture:
        api.image_get_all(**kwargs)
    lines = []
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in capture.statements:
            if statement.strip().upper() == "BEGIN":
                continue
            if " AS kind" in statement:
                lines.append("(children of the page: one UNION ALL by "
                             "image id)")
                continue
            cursor.execute(EXPLAIN[engine.dialect.name] + statement,
                           parameters)
            lines += _plan_lines(engine.dialect.name, cursor)
            lines.append("--")
    finally:
        raw.close()
    return lines


def _plan_lines(dialect, cursor):
    rows = cursor.fetchall()
    if dialect == "postgresql":
        return [row[0] for row in rows]
    names = [d[0] for d in cursor.description]
    if dialect == "sqlite":
        return ["  " * 0 + str(row[-1]) for row in rows]
    keep = ("id", "select_type", "table", "type", "key", "rows", "r_rows",
            "filtered", "r_filtered", "Extra")
    return ["  ".join("%s=%s" % (k, v) for k, v in zip(names, row,
                                                       strict=True)
                      if k in keep and v is not None) for row in rows]


# -- driver ------------------------------------------------------------------

def run_backend(backend, sizes, repeat, show_plans, tmpdir, only,
                http=None):
    """Time every query per N; with ``http`` (a repeat count) also over
    HTTP against Glance 33 (``scale_http``): {N: {label: (ours, glance)}}
    into ``http_results``."""
    results, http_results = {}, {}
    for n in sizes:
        with database(backend, tmpdir) as url:
            start = time.perf_counter()
            build(n)
            print("# %s: built %d images in %.1f s" % (
                backend, n, time.perf_counter() - start), flush=True)
            marks = markers()
            qs = queries(n, marks)
            if only:
                qs = [q for q in qs if any(o in q[0] for o in only)]
            for label, kwargs in qs:
                ms, rows = time_query(kwargs, repeat)
                results[(label, n)] = ms
                reads = ""
                if backend == "mysql":
                    reads = "; %d row reads, %d buffer pool misses" % (
                        mysql_reads(kwargs))
                print("%-10s %8d  %-28s %8.2f ms  (%d rows%s)" % (
                    backend, n, label, ms, rows, reads), flush=True)
            if show_plans == "all" or (show_plans == "last"
                                       and n == sizes[-1]):
                for label, kwargs in qs:
                    print("## plan %s N=%d %s" % (backend, n, label))
                    for line in plans(kwargs):
                        print("    " + line)
            if http and backend != "sqlite":
                from benchmarks import scale_http
                http_results[n] = scale_http.compare(backend, n, url,
                                                     marks, http, only)
    return results, http_results


def report(backend, sizes, results):
    labels = list(dict.fromkeys(label for label, _n in results))
    print("\n%s: median ms of image_get_all (limit 25 unless said)" %
          backend)
    print("%-28s" % "query" + "".join("%10d" % n for n in sizes))
    for label in labels:
        print("%-28s" % label + "".join(
            "%10.2f" % results[(label, n)] if (label, n) in results
            else "%10s" % "-" for n in sizes))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgresql,mysql")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--plans", choices=("last", "all", "none"),
                        default="last")
    parser.add_argument("--only", default="",
                        help="comma-separated substrings of query labels")
    parser.add_argument("--glance33", action="store_true",
                        help="also time the queries over HTTP on our "
                        "glance-api and on Glance 33 (uWSGI) with the "
                        "same catalog (PostgreSQL and MySQL only)")
    parser.add_argument("--http-repeat", type=int, default=30)
    args = parser.parse_args(argv)
    # a kill still drops the databases (the finally blocks run)
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(1))
    sizes = [int(s) for s in args.sizes.split(",")]
    only = [o for o in args.only.split(",") if o]
    tables = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for backend in args.backends.split(","):
            results, http = run_backend(
                backend, sizes, args.repeat, args.plans, tmpdir, only,
                args.http_repeat if args.glance33 else None)
            tables.append((backend, results, http))
    for backend, results, http in tables:
        report(backend, sizes, results)
        for n, figures in http.items():
            from benchmarks import scale_http
            scale_http.report(backend, n, figures)


if __name__ == "__main__":
    main()
