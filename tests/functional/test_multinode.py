"""Two glance-api nodes on one database and one file store.

Each node has its own ``state_path`` (so its own staging area and
cache) and ``worker_self_reference_url``; they share the database
(PostgreSQL when the local test server answers, else one SQLite file)
and the store directory, as nodes behind a load balancer share a
distributed store.

* staged on A, imported through B: B sends the import to A, which
  imports; the image goes active with A's data;
* a staged image deleted through B: A deletes it and its staged file;
* A gone: an import through B answers 504 with the reason and leaves
  the image ``uploading`` and unlocked; a delete through B still
  deletes it, and A removes the staged file when it starts again;
* a node dies holding an upload or an import lock: the other node takes
  it over after the timeout (judged on the database's clock);
* each node caches images in its own cache, indexed in the shared
  database (``image_cache_driver = centralized_db``): any node tells
  which nodes cache an image (``GET /v2/cache/nodes/{id}``), and each
  node's ``/v2/cache`` acts on its own cache.
"""
import contextlib
import hashlib
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import pool as sa_pool

from tests.functional.apiclient import ADMIN, Api, MEMBER, OCTET, \
    new_project
from tests.functional.server import GlanceServer, REPO_ROOT, wait_for
from tests.unit.db.conftest import SERVERS, server_database

KiB = 1024
LOCK_TIMEOUT = 3     # [task] import_lock_timeout
STALL_TIMEOUT = 2    # saving_stall_timeout


def md5(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def postgresql_answers():
    engine = sa.create_engine(SERVERS["postgresql"],
                              poolclass=sa_pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


@contextlib.contextmanager
def shared_database(base):
    """(url, needs db sync) of a database for every node."""
    if postgresql_answers():
        with server_database("postgresql") as url:
            yield url, True
    else:
        yield "sqlite:///%s" % (base / "shared.sqlite"), False


def db_sync(srv):
    subprocess.run([sys.executable, "-m", "glance.cmd.manage",
                    "--config-file", str(srv.conf_file), "db", "sync"],
                   check=True, cwd=str(REPO_ROOT), capture_output=True,
                   timeout=120)


def make_node(base, name, db_url, store_dir, conf=None):
    srv = GlanceServer(base / name, flavor="trusted-auth+cachemanagement",
                       workers=1, conf={
        "DEFAULT": {"enabled_import_methods": ["glance-direct"],
                    "saving_stall_timeout": STALL_TIMEOUT,
                    "image_cache_driver": "centralized_db",
                    "cache_prefetcher_interval": 1},
        "database": {"connection": db_url},
        "glance_store": {"filesystem_store_datadir": store_dir},
        "task": {"import_lock_timeout": LOCK_TIMEOUT},
    })
    srv.update_config({"DEFAULT": {"worker_self_reference_url": srv.url}})
    srv.update_config(conf or {})
    return srv


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("multinode")
    store_dir = base / "store"
    with shared_database(base) as (url, sync):
        nodes = [make_node(base, name, url, store_dir)
                 for name in ("a", "b")]
        if sync:
            db_sync(nodes[0])
        try:
            for srv in nodes:
                srv.start()
            yield nodes[0], nodes[1], store_dir
        finally:
            for srv in nodes:
                srv.stop()


@pytest.fixture
def nodes(cluster):
    """A and B, both running (a test that stops A starts it again)."""
    a, b, _store = cluster
    for srv in (a, b):
        if srv.process is None or srv.process.poll() is not None:
            srv.start()
    return a, b


def apis(a, b):
    project = new_project("mn")
    on_a, on_b = Api(a.url, project, MEMBER), Api(b.url, project, MEMBER)
    for api in (on_a, on_b):
        api.session.headers["Connection"] = "close"
    return on_a, on_b


def staged_on(srv):
    path = srv.state_path / "staging"
    return sorted(os.listdir(path)) if path.is_dir() else []


def stage(api, image_id, data):
    resp = api.put("/v2/images/%s/stage" % image_id, data=data,
                   headers={"Content-Type": OCTET})
    assert resp.status_code == 204, resp.text


def new_staged_image(on_a, data):
    image_id = on_a.create(disk_format="raw", container_format="bare")["id"]
    stage(on_a, image_id, data)
    return image_id


def glance_direct(api, image_id):
    return api.post("/v2/images/%s/import" % image_id,
                    json={"method": {"name": "glance-direct"}})


def wait_status(api, image_id, status, timeout=30):
    wait_for(lambda: api.image(image_id)["status"] == status,
             timeout=timeout, message="image %s" % status)
    return api.image(image_id)


# --- forwarding -------------------------------------------------------------

def test_import_through_another_node_runs_on_the_stage_host(nodes, cluster):
    a, b = nodes
    store_dir = cluster[2]
    on_a, on_b = apis(a, b)
    data = os.urandom(300 * KiB)
    image_id = new_staged_image(on_a, data)
    assert image_id in staged_on(a) and image_id not in staged_on(b)
    assert "os_glance_stage_host" not in on_b.image(image_id)  # hidden

    resp = glance_direct(on_b, image_id)
    assert resp.status_code == 202, resp.text
    got = wait_status(on_b, image_id, "active")
    assert got["checksum"] == md5(data) and got["size"] == len(data)
    assert on_b.get("/v2/images/%s/file" % image_id).content == data
    assert (store_dir / image_id).read_bytes() == data
    assert image_id not in staged_on(a)
    tasks = on_b.get("/v2/images/%s/tasks" % image_id).json()["tasks"]
    assert [t["status"] for t in tasks] == ["success"]
    assert "Forwarding POST /v2/images/%s/import" % image_id in b.log_text()
    # the same request id on both nodes
    rid = resp.headers["x-openstack-request-id"]
    assert rid in a.log_text()


def test_import_through_another_node_checks_the_caller(nodes):
    a, b = nodes
    on_a, _on_b = apis(a, b)
    image_id = new_staged_image(on_a, b"x" * KiB)
    # another project's caller: not found, by B (nothing is sent to A)
    other = Api(b.url, new_project("mn-other"), MEMBER)
    resp = glance_direct(other, image_id)
    assert resp.status_code == 404, resp.text
    assert on_a.image(image_id)["status"] == "uploading"
    assert "Forwarding POST /v2/images/%s/" % image_id not in b.log_text()


def test_delete_through_another_node_removes_the_staged_file(nodes):
    a, b = nodes
    on_a, on_b = apis(a, b)
    image_id = new_staged_image(on_a, os.urandom(64 * KiB))
    assert image_id in staged_on(a)
    resp = on_b.delete("/v2/images/%s" % image_id)
    assert resp.status_code == 204, resp.text
    assert on_b.get("/v2/images/%s" % image_id).status_code == 404
    assert image_id not in staged_on(a)
    assert "Forwarding DELETE /v2/images/%s" % image_id in b.log_text()


def test_stage_host_gone(nodes):
    a, b = nodes
    on_a, on_b = apis(a, b)
    image_id = new_staged_image(on_a, os.urandom(64 * KiB))
    a.stop()
    resp = glance_direct(on_b, image_id)
    assert resp.status_code == 504, resp.text
    assert "Stage host is unavailable" in resp.text
    got = on_b.image(image_id)   # as it was: retry later, or delete
    assert got["status"] == "uploading"
    assert "os_glance_import_task" not in got
    assert on_b.get("/v2/images/%s/tasks" % image_id).json()["tasks"] == []

    resp = on_b.delete("/v2/images/%s" % image_id)
    assert resp.status_code == 204, resp.text
    assert on_b.get("/v2/images/%s" % image_id).status_code == 404
    assert image_id in staged_on(a)     # A keeps it while it is away...
    a.start()
    assert image_id not in staged_on(a)  # ...and removes it at start


# --- holds of a dead node taken over by another ----------------------------

def raw_request(srv, api, method, path, body, length):
    """A socket that sent a request's head and the first ``body`` bytes
    of ``length``: a client in the middle of its upload."""
    sock = socket.create_connection((srv.host, srv.port))
    head = ["%s %s HTTP/1.1" % (method, path),
            "Host: %s:%d" % (srv.host, srv.port),
            "Content-Type: %s" % OCTET, "Content-Length: %d" % length,
            "X-Identity-Status: Confirmed",
            "X-Project-Id: %s" % api.project, "X-User-Id: u",
            "X-Roles: %s" % api.roles]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return sock


def retry_until(call, seconds):
    deadline = time.monotonic() + seconds
    while True:
        resp = call()
        if resp.status_code < 300:
            return resp
        assert resp.status_code == 409, (resp.status_code, resp.text)
        assert time.monotonic() < deadline, "still 409: %s" % resp.text
        time.sleep(0.3)


def test_upload_of_a_dead_node_taken_over(nodes, cluster):
    a, b = nodes
    store_dir = cluster[2]
    on_a, on_b = apis(a, b)
    image_id = on_a.create(disk_format="raw", container_format="bare")["id"]
    sock = raw_request(a, on_a, "PUT", "/v2/images/%s/file" % image_id,
                       b"k" * 200 * KiB, 1024 * KiB)
    try:
        wait_status(on_b, image_id, "saving", timeout=10)
        a.kill()              # the whole node: no one releases its hold
    finally:
        sock.close()
    data = os.urandom(100 * KiB)
    # refused while the dead upload may still be alive, then taken over
    resp = retry_until(lambda: on_b.put(
        "/v2/images/%s/file" % image_id, data=data,
        headers={"Content-Type": OCTET}), STALL_TIMEOUT + 10)
    assert resp.status_code == 204, resp.text
    got = on_b.image(image_id)
    assert got["status"] == "active" and got["checksum"] == md5(data)
    assert (store_dir / image_id).read_bytes() == data
    assert "taking over its upload" in b.log_text()


def test_import_lock_of_a_dead_node_taken_over(nodes):
    a, b = nodes
    on_a, on_b = apis(a, b)
    data = os.urandom(200 * KiB)
    image_id = new_staged_image(on_a, data)
    staged = a.state_path / "staging" / image_id
    saved = a.base_dir / ("saved-" + image_id)
    # the import on A blocks for good opening its staged file (a FIFO)
    os.rename(staged, saved)
    os.mkfifo(staged)
    resp = glance_direct(on_a, image_id)
    assert resp.status_code == 202, resp.text
    wait_for(lambda: on_b.get("/v2/images/%s/tasks" % image_id).json()
             ["tasks"][0]["status"] == "processing", message="the import")
    a.kill()
    assert on_b.image(image_id)["status"] == "importing"

    # B takes the lock over once the task is silent for the timeout; the
    # data is on A, which is down: 504, and the image is uploading again
    deadline = time.monotonic() + LOCK_TIMEOUT + 10
    while True:
        resp = glance_direct(on_b, image_id)
        if resp.status_code != 409:
            break
        assert time.monotonic() < deadline, resp.text
        time.sleep(0.3)
    assert resp.status_code == 504, resp.text
    got = on_b.image(image_id)
    assert got["status"] == "uploading" and "os_glance_import_task" not in got
    tasks = on_b.get("/v2/images/%s/tasks" % image_id).json()["tasks"]
    assert tasks[0]["status"] == "failure"
    assert "preempted" in tasks[0]["message"]

    # A is back with its data: the import through B works
    os.unlink(staged)
    os.rename(saved, staged)
    a.start()
    resp = glance_direct(on_b, image_id)
    assert resp.status_code == 202, resp.text
    got = wait_status(on_b, image_id, "active")
    assert got["checksum"] == md5(data)
    assert image_id not in staged_on(a)


# --- the cache of each node, seen from any -------------------------------

def cache_of(api):
    resp = api.get("/v2/cache")
    assert resp.status_code == 200, resp.text
    return {e["image_id"]: e for e in resp.json()["cached_images"]}


def cached_nodes(api, image_id):
    resp = api.get("/v2/cache/nodes/%s" % image_id)
    assert resp.status_code == 200, resp.text
    return sorted(resp.json())


def test_cache_per_node_seen_from_any(nodes):
    a, b = nodes
    on_a, on_b = apis(a, b)
    admin_a, admin_b = on_a.as_role(ADMIN), on_b.as_role(ADMIN)
    for api in (admin_a, admin_b):
        api.session.headers["Connection"] = "close"
    data = os.urandom(100 * KiB)
    image_id = on_a.create(disk_format="raw", container_format="bare")["id"]
    resp = on_a.put("/v2/images/%s/file" % image_id, data=data,
                    headers={"Content-Type": OCTET})
    assert resp.status_code == 204, resp.text
    assert cached_nodes(admin_b, image_id) == []

    # a download through A caches it on A, and B knows
    assert on_a.get("/v2/images/%s/file" % image_id).content == data
    wait_for(lambda: image_id in cache_of(admin_a), message="cached on A")
    assert cached_nodes(admin_b, image_id) == [a.url]
    assert image_id not in cache_of(admin_b)     # B's cache is B's own
    assert (a.state_path / "image-cache" / image_id).read_bytes() == data

    # queued on B: prefetched into B's cache
    assert admin_b.put("/v2/cache/%s" % image_id).status_code == 202
    wait_for(lambda: image_id in cache_of(admin_b), timeout=20,
             message="prefetched on B")
    assert cached_nodes(admin_a, image_id) == sorted([a.url, b.url])
    assert on_b.get("/v2/images/%s/file" % image_id).content == data
    wait_for(lambda: cache_of(admin_b)[image_id]["hits"] == 1,
             message="a hit on B")
    assert cache_of(admin_a)[image_id]["hits"] == 0

    # dropped from A's cache through A
    assert admin_a.delete("/v2/cache/%s" % image_id).status_code == 204
    assert cached_nodes(admin_b, image_id) == [b.url]
    assert not (a.state_path / "image-cache" / image_id).exists()
    assert image_id in cache_of(admin_b)

    # as Glance: the list_cached_nodes policy (admin), then 404
    assert on_b.get("/v2/cache/nodes/%s" % image_id).status_code == 403
    assert admin_b.get("/v2/cache/nodes/%s" % uuid.uuid4()).status_code \
        == 404
