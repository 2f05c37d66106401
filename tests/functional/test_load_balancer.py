"""Three glance-api nodes behind HAProxy (round robin) on PostgreSQL and
a real OpenStack Swift, under concurrent clients for a bounded time.

The nodes share the database and two stores: ``swift1`` (the default:
glance_store's swift driver, single tenant, through a
``swift_store_config_file`` reference, against the
:class:`~tests.functional.swift_server.SwiftCluster` the test starts on
127.0.0.1; images of 1,000 KiB and more are segmented) and ``local``
(a file store on a directory every node mounts, as a shared filesystem),
the target of copy-image.

Each client, on a new connection per request (so that consecutive calls
land on different nodes), creates images and gives them data by upload
or by stage + glance-direct import (often on another node than the
stage: forwarded), downloads and checks them, copies some to the other
store (copy-image) and deletes about half. No request may fail. Then
every image left is ``active`` with no lock, its data in each store
matches its checksum, and nothing is orphaned: no Swift object (nor
segment) and no file in the file store without its image, no staged
file on any node, no task still running.

Needs ``haproxy`` (Debian's package: ``tools/install-system-packages.sh``),
the local PostgreSQL test server and the test extra's ``swift`` and
``python-swiftclient``; skipped without them (failed when the ``CI``
environment variable is set).
"""
import collections
import hashlib
import os
import random
import threading
import time

import pytest
import requests

from tests.functional.apiclient import ADMIN, OCTET, identity_headers, \
    new_project
from tests.functional.haproxy import HAProxy, haproxy_binary
from tests.functional.server import GlanceServer
from tests.functional.swift_server import SwiftCluster, \
    swiftclient_or_skip
from tests.functional.test_multinode import db_sync, postgresql_answers
from tests.unit.db.conftest import server_database, unavailable

swiftclient = swiftclient_or_skip("the load balancer tests")

DURATION = 20.0     # seconds of load
CLIENTS = 4
KiB = 1024
CONTAINER = "glance"
DEFAULT, OTHER = "swift1", "local"
# glance_store's swift "MB" is 1000 KiB (its ONE_MB = units.k * units.Ki)
STORE_MB = 1000 * KiB
LARGE_OBJECT_SIZE = 1      # MB: segmented from there on ...
SEGMENT = 1                # MB: ... in segments of this size
# the clients (by seed) whose first image takes each path
FIRST = {"large": (0, 1), "stage": (0, 2), "copy": (0, 3),
         "delete": (1, 2)}


def md5(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@pytest.fixture(scope="module")
def balanced(tmp_path_factory):
    """(load balancer URL, nodes, swift cluster, file store directory)."""
    if haproxy_binary() is None:
        unavailable("haproxy is not installed "
                    "(tools/install-system-packages.sh)")
    if not postgresql_answers():
        unavailable("the PostgreSQL test server does not answer")
    base = tmp_path_factory.mktemp("balanced")
    local = base / "local"
    with SwiftCluster(base / "swift") as cluster, \
            server_database("postgresql") as url:
        nodes = [node(base, name, url, cluster, local) for name in "abc"]
        db_sync(nodes[0])
        try:
            for srv in nodes:
                srv.start()
            with HAProxy(base / "haproxy", [n.url for n in nodes]) as lb:
                yield lb.url, nodes, cluster, local
        finally:
            for srv in nodes:
                srv.stop()


def node(base, name, db_url, cluster, local):
    swift_conf = cluster.write_store_config(base / ("swift-%s.conf" % name))
    srv = GlanceServer(base / name, flavor="trusted-auth", workers=1, conf={
        "DEFAULT": {"enabled_backends": {DEFAULT: "swift", OTHER: "file"},
                    "enabled_import_methods": ["glance-direct",
                                               "copy-image"]},
        "glance_store": {"default_backend": DEFAULT},
        DEFAULT: {"swift_store_config_file": swift_conf,
                  "default_swift_reference": "ref1",
                  "swift_store_container": CONTAINER,
                  "swift_store_create_container_on_put": True,
                  "swift_store_large_object_size": LARGE_OBJECT_SIZE,
                  "swift_store_large_object_chunk_size": SEGMENT},
        OTHER: {"filesystem_store_datadir": local},
        "database": {"connection": db_url},
    })
    srv.update_config({"DEFAULT": {"worker_self_reference_url": srv.url}})
    return srv


class Client(threading.Thread):
    """One user working until ``stop``; every unexpected answer is
    recorded in ``failures``."""

    def __init__(self, lb, project, stop, seed):
        super().__init__(daemon=True)
        self.lb = lb
        self.headers = identity_headers(project, ADMIN)
        self.headers["Connection"] = "close"
        self.stop = stop
        self.random = random.Random(seed)
        self.failures = []
        self.kept = {}       # image id -> data
        self.done = 0
        self.seed = seed
        self.seen = collections.Counter()   # what this client did

    def chance(self, what, probability):
        """Random, except on the first image: between them, the clients'
        first images take every path (large, staged, copied, deleted)."""
        if self.done == 0:
            yes = self.seed in FIRST[what]
        else:
            yes = self.random.random() < probability
        if yes:
            self.seen[what] += 1
        return yes

    def call(self, method, path, expect, **kwargs):
        headers = dict(self.headers, **kwargs.pop("headers", {}))
        try:
            resp = requests.request(method, self.lb + path, headers=headers,
                                    timeout=60, **kwargs)
        except requests.RequestException as e:
            self.failures.append((method, path, repr(e)))
            return None
        if resp.status_code not in expect:
            self.failures.append((method, path, resp.status_code,
                                  resp.text[:300]))
            return None
        return resp

    def run(self):
        while not self.stop.is_set():
            try:
                self.one_image()
            except Exception as e:  # noqa: BLE001 - recorded
                self.failures.append(("client", repr(e)))
            self.done += 1

    def one_image(self):
        if self.chance("large", 0.15):       # a segmented Swift object
            data = os.urandom(self.random.randint(1025, 2048) * KiB)
        else:
            data = os.urandom(self.random.randint(16, 256) * KiB)
        resp = self.call("POST", "/v2/images", (201,), json={
            "name": "lb", "disk_format": "raw", "container_format": "bare"})
        if resp is None:
            return
        image_id = resp.json()["id"]
        path = "/v2/images/%s" % image_id
        octet = {"Content-Type": OCTET}
        if not self.chance("stage", 0.5):
            ok = self.call("PUT", path + "/file", (204,), data=data,
                           headers=octet)
        else:
            ok = self.call("PUT", path + "/stage", (204,), data=data,
                           headers=octet) and self.call(
                "POST", path + "/import", (202,),
                json={"method": {"name": "glance-direct"}})
        if not ok or not self.wait_active(path, data):
            return
        if self.chance("copy", 0.3):
            if not self.call("POST", path + "/import", (202,), json={
                    "method": {"name": "copy-image"}, "stores": [OTHER]}):
                return
            if not self.wait_copied(path):
                return
        got = self.call("GET", path + "/file", (200,))
        if got is not None and got.content != data:
            self.failures.append(("GET", path + "/file", "wrong data"))
        if self.chance("delete", 0.5):
            self.call("DELETE", path, (204,))
        else:
            self.kept[image_id] = data

    def wait_active(self, path, data, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            resp = self.call("GET", path, (200,))
            if resp is None:
                return False
            image = resp.json()
            if image["status"] == "active":
                if image["checksum"] != md5(data):
                    self.failures.append((path, "checksum"))
                    return False
                return True
            if image["status"] not in ("saving", "uploading", "importing"):
                self.failures.append((path, "status " + image["status"]))
                return False
            time.sleep(0.2)
        self.failures.append((path, "not active within %ss" % timeout))
        return False

    def wait_copied(self, path, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            resp = self.call("GET", path, (200,))
            if resp is None:
                return False
            image = resp.json()
            if OTHER in image["stores"].split(",") and \
                    not image.get("os_glance_importing_to_stores"):
                return True
            if OTHER in (image.get("os_glance_failed_import") or ""):
                self.failures.append((path, "copy failed"))
                return False
            time.sleep(0.2)
        self.failures.append((path, "not copied within %ss" % timeout))
        return False


def run_clients(lb, project):
    """The clients' images kept, {id: data}, after DURATION seconds."""
    stop = threading.Event()
    clients = [Client(lb, project, stop, seed) for seed in range(CLIENTS)]
    for client in clients:
        client.start()
    time.sleep(DURATION)        # the bounded load, not a synchronisation
    stop.set()
    for client in clients:
        client.join(120)
        assert not client.is_alive()
    failures = [f for c in clients for f in c.failures]
    assert failures == [], failures[:10]
    done = sum(c.done for c in clients)
    seen = sum((c.seen for c in clients), collections.Counter())
    print("%d images through 3 nodes: %s" % (done, dict(seen)))
    assert done >= CLIENTS
    kept = {}
    for client in clients:
        kept.update(client.kept)
    return kept


def swift_names(image_id, size):
    """The objects glance_store writes for an image: one, or a manifest
    and its segments (``<id>-00001``...) above the large object size."""
    if size < LARGE_OBJECT_SIZE * STORE_MB:
        return {image_id}
    count = -(-size // (SEGMENT * STORE_MB))
    return {image_id} | {"%s-%05d" % (image_id, n)
                         for n in range(1, count + 1)}


def swift_objects(conn):
    try:
        listing = conn.get_container(CONTAINER, full_listing=True)[1]
    except swiftclient.ClientException as e:
        if e.http_status == 404:    # nothing was ever written
            return set()
        raise
    return {o["name"] for o in listing}


def check_stores(listed, kept, conn, local):
    """Each image's data in each of its stores; nothing else in them."""
    expected_swift, expected_local = set(), set()
    for image in listed:
        data = kept[image["id"]]
        stores = image["stores"].split(",")
        assert DEFAULT in stores, image
        expected_swift |= swift_names(image["id"], len(data))
        # a GET of the manifest returns the segments joined
        assert md5(conn.get_object(CONTAINER, image["id"])[1]) == md5(data)
        if OTHER in stores:
            expected_local.add(image["id"])
            assert md5((local / image["id"]).read_bytes()) == md5(data)
    # nothing orphaned: no object, segment or file without its image
    assert swift_objects(conn) == expected_swift
    on_disk = set(os.listdir(local)) if local.is_dir() else set()
    assert on_disk == expected_local


def test_concurrent_clients_through_haproxy(balanced):
    lb, nodes, cluster, local = balanced
    project = new_project("lb")
    kept = run_clients(lb, project)
    headers = identity_headers(project, ADMIN)
    listed = requests.get(lb + "/v2/images", headers=headers, timeout=30,
                          params={"limit": 1000}).json()["images"]
    assert {i["id"] for i in listed} == set(kept)
    for image in listed:
        assert image["status"] == "active", image
        assert not image.get("os_glance_import_task"), image
        assert image["checksum"] == md5(kept[image["id"]])
    check_stores(listed, kept, cluster.connection(), local)
    for srv in nodes:                    # no staged file left anywhere
        staging = srv.state_path / "staging"
        assert not staging.is_dir() or os.listdir(staging) == []
    tasks = requests.get(lb + "/v2/tasks", headers=headers, timeout=30,
                         params={"limit": 1000}).json()["tasks"]
    assert all(t["status"] == "success" for t in tasks), [
        t for t in tasks if t["status"] != "success"][:3]
    # imports reached other nodes than their stage and were forwarded
    assert any("Forwarding POST" in srv.log_text() for srv in nodes)
