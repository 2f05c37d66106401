"""A database made and filled by real OpenStack Glance 33, taken over.

Glance 33 (in its own virtualenv, see ``glance_oracle``) creates the
database with its ``glance-manage db sync`` and writes images, properties,
tags, locations, members, a task and a deleted image through its own
database API, with the image data in a file store directory. Then our
``glance-manage db sync`` adopts it, on SQLite, PostgreSQL and MariaDB:
no row is lost, the tables become exactly those of a database we made
ourselves, and our real ``glance-api`` serves every row over HTTP, with the
data, from the same store, and goes on writing.
"""
import contextlib
import hashlib
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlalchemy import pool as sa_pool

from glance.db.migrations import schema_0001
from tests.functional import glance_oracle
from tests.functional.server import REPO_ROOT
from tests.unit.db.conftest import in_ci
from tests.unit.db.conftest import server_database

GLANCE_HEAD = "2024_1_contract01"
# (backend, the Glance revision the database is left at)
CASES = [("sqlite", GLANCE_HEAD), ("postgresql", GLANCE_HEAD),
         ("mysql", GLANCE_HEAD),
         # the release before 2024.1's migrations (Glance 26 to 28)
         ("sqlite", "2023_1_contract01")]


@pytest.fixture(scope="session")
def glance33():
    """The Glance 33 virtualenv (built once, shared by xdist workers)."""
    try:
        return glance_oracle.ensure_venv()
    except glance_oracle.OracleUnavailable as e:
        if in_ci():
            raise
        pytest.skip("cannot build the Glance %s oracle: %s"
                    % (glance_oracle.GLANCE_VERSION, e))


def _database(backend, tmp_path):
    """A context manager yielding a new, empty database's URL."""
    if backend == "sqlite":
        return contextlib.nullcontext(
            "sqlite:///%s" % (tmp_path / ("%s.sqlite" % os.urandom(4).hex())))
    return server_database(backend)


@pytest.fixture(params=CASES, ids=["-".join(c) for c in CASES])
def glance_db(request, tmp_path, glance33):
    """(URL, what Glance wrote, store directory) of a database Glance 33
    made (left at the case's revision) and filled."""
    backend, revision = request.param
    store = tmp_path / "images"
    store.mkdir()
    with _database(backend, tmp_path) as url:
        glance = glance_oracle.Glance(glance33, url, tmp_path)
        if revision == GLANCE_HEAD:
            glance.manage("db", "sync")
        else:
            glance.manage("db", "upgrade", "--version", revision)
        assert glance.manage("db", "version").stdout.split() == [revision]
        yield url, glance.write_rows(store), store


def manage(url, tmp_path, *args):
    """Our glance-manage against ``url``: the CompletedProcess."""
    conf = tmp_path / "ours.conf"
    conf.write_text("[database]\nconnection = %s\n" % url)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "glance.cmd.manage", "--config-file",
         str(conf), *args], capture_output=True, text=True, env=env,
        cwd=str(REPO_ROOT), timeout=300)


def _engine(url):
    return sa.create_engine(url, poolclass=sa_pool.NullPool)


def row_counts(url):
    """{table: rows} of every table but alembic_version."""
    engine = _engine(url)
    with engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        counts = {name: conn.execute(sa.select(sa.func.count()).select_from(
            sa.table(name))).scalar() for name in names
            if name != "alembic_version"}
    engine.dispose()
    return counts


def table_shapes(url):
    """What the inspector sees of our revision-0001 tables, comparable
    across two databases of one backend."""
    engine = _engine(url)
    shapes = {}
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        for name in schema_0001.TABLE_NAMES:
            shapes[name] = _table_shape(inspector, engine.dialect, name)
    engine.dispose()
    return shapes


def _table_shape(inspector, dialect, name):
    columns = {c["name"]: (c["type"].compile(dialect=dialect), c["nullable"],
                           None if c.get("autoincrement") is True
                           or c["name"] == "id" else c["default"])
               for c in inspector.get_columns(name)}
    try:
        checks = inspector.get_check_constraints(name)
    except NotImplementedError:
        checks = []
    options = inspector.get_table_options(name)
    return {
        "columns": columns,
        "indexes": sorted((i["name"], tuple(i["column_names"]),
                           bool(i["unique"]))
                          for i in inspector.get_indexes(name)),
        "unique": sorted((u["name"], tuple(u["column_names"]))
                         for u in inspector.get_unique_constraints(name)),
        "foreign_keys": sorted(
            (tuple(f["constrained_columns"]), f["referred_table"],
             tuple(f["referred_columns"]))
            for f in inspector.get_foreign_keys(name)),
        "primary_key": inspector.get_pk_constraint(name)[
            "constrained_columns"],
        "checks": checks,
        "options": {k: v for k, v in options.items()
                    if "charset" in k or "collat" in k or "engine" in k},
    }


def fresh_shapes(url, tmp_path):
    """The shapes of a database our own db sync made from nothing."""
    backend = sa.engine.make_url(url).get_backend_name()
    with _database(backend, tmp_path) as fresh:
        assert manage(fresh, tmp_path, "db", "sync").returncode == 0
        return table_shapes(fresh)


def test_glance_database_is_adopted_and_served(glance_db, tmp_path,
                                               glance_server):
    url, wrote, store = glance_db
    before = row_counts(url)
    assert manage(url, tmp_path, "db", "check").returncode == 3
    done = manage(url, tmp_path, "db", "sync")
    assert done.returncode == 0, done.stderr
    assert "Adopted the OpenStack Glance database" in done.stdout
    assert manage(url, tmp_path, "db", "check").returncode == 0
    # (the cache tables of Glance 2024.1 are made if Glance had not)
    assert row_counts(url) == dict(
        dict.fromkeys(("node_reference", "cached_images"), 0), **before)
    assert table_shapes(url) == fresh_shapes(url, tmp_path)

    srv = glance_server(conf={
        "database": {"connection": url},
        "glance_store": {"filesystem_store_datadir": str(store)},
        "DEFAULT": {"show_multiple_locations": True}})
    check_images(srv, wrote, store)
    check_members_and_task(srv, wrote)
    check_writes(srv, wrote)
    check_purge(url, tmp_path, wrote)


def check_images(srv, wrote, store):
    image = srv.get("/v2/images/" + wrote["active"]).json()
    assert (image["name"], image["status"], image["visibility"]) == (
        "cirros \u00fcber \u2603", "active", "public")
    assert (image["owner"], image["min_disk"], image["min_ram"]) == (
        "project-a", 1, 64)
    assert (image["disk_format"], image["container_format"]) == ("raw",
                                                                 "bare")
    assert sorted(image["tags"]) == ["Gamma", "alpha", "beta"]
    assert (image["os_distro"], image["hw_disk_bus"]) == ("cirros", "virtio")
    assert image["Description"] == "caf\u00e9"
    assert image["created_at"] == wrote["created_at"]
    assert image["os_hash_algo"] == "sha512"
    assert [loc["url"] for loc in image["locations"]] == [
        "file://%s/%s" % (store, wrote["active"])]
    data = srv.get("/v2/images/%s/file" % wrote["active"]).content
    assert len(data) == image["size"]
    assert hashlib.sha256(data).hexdigest() == wrote["data_sha256"]
    assert hashlib.md5(data).hexdigest() == image["checksum"]
    assert hashlib.sha512(data).hexdigest() == image["os_hash_value"]
    shared = srv.get("/v2/images/" + wrote["shared"]).json()
    assert (shared["status"], shared["purpose"]) == ("queued", "test")
    assert srv.get("/v2/images/" + wrote["deleted"]).status_code == 404
    listed = {i["id"] for i in srv.get("/v2/images").json()["images"]}
    assert {wrote["active"], wrote["shared"]} <= listed
    assert wrote["deleted"] not in listed


def check_members_and_task(srv, wrote):
    members = srv.get("/v2/images/%s/members" % wrote["shared"]).json()
    assert {m["member_id"]: m["status"] for m in members["members"]} == {
        "project-b": "accepted", "project-c": "pending"}
    task = srv.get("/v2/tasks/" + wrote["task"]).json()
    assert (task["type"], task["status"], task["owner"]) == (
        "import", "success", "project-a")
    assert task["input"]["import_from"] == "http://example.com/cirros.img"
    assert task["result"] == {"image_id": wrote["active"]}


def check_writes(srv, wrote):
    """New rows after Glance's: the id sequences go on from its rows."""
    made = srv.request("POST", "/v2/images", json={
        "name": "ours", "disk_format": "raw", "container_format": "bare",
        "tags": ["new"], "os_distro": "debian"})
    assert made.status_code == 201, made.text
    added = srv.request("POST", "/v2/images/%s/members" % wrote["shared"],
                        json={"member": "project-d"})
    assert added.status_code == 200, added.text
    tagged = srv.request("PUT", "/v2/images/%s/tags/delta" % wrote["active"])
    assert tagged.status_code == 204, tagged.text
    image = srv.get("/v2/images/" + wrote["active"]).json()
    assert sorted(image["tags"]) == ["Gamma", "alpha", "beta", "delta"]
    assert srv.get("/v2/images/" + made.json()["id"]).json()[
        "os_distro"] == "debian"


def check_purge(url, tmp_path, wrote):
    """Glance's deleted image: its property and tag go, its row stays."""
    before = row_counts(url)
    done = manage(url, tmp_path, "db", "purge", "--age_in_days", "0",
                  "--max_rows", "-1")
    assert done.returncode == 0, done.stderr
    after = row_counts(url)
    assert after["images"] == before["images"]
    assert after["image_properties"] == before["image_properties"] - 1
    assert after["image_tags"] == before["image_tags"] - 1
