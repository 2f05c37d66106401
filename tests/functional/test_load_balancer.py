"""Three glance-api nodes behind HAProxy (round robin) on PostgreSQL and a
shared file store (two stores: ``fast`` and ``slow``), under concurrent
clients for a bounded time.

Each client, on a new connection per request (so that consecutive calls
land on different nodes), creates images and gives them data by upload
or by stage + glance-direct import (often on another node than the
stage: forwarded), downloads and checks them, copies some to the other
store (copy-image) and deletes about half. No request may fail. Then
every image left is ``active`` with no lock, its data in each store
matches its checksum, and nothing is orphaned: no file in a store
without its image, no staged file on any node, no task still running.

Needs ``haproxy`` (Debian's package: ``tools/install-system-packages.sh``)
and the local PostgreSQL test server; skipped without them (failed when
the ``CI`` environment variable is set).
"""
import hashlib
import os
import random
import shutil
import signal
import subprocess
import threading
import time

import pytest
import requests

from tests.functional.apiclient import ADMIN, OCTET, identity_headers, \
    new_project
from tests.functional.server import GlanceServer, free_port, wait_for
from tests.functional.test_multinode import db_sync, postgresql_answers
from tests.unit.db.conftest import server_database, unavailable

DURATION = 20.0     # seconds of load
CLIENTS = 4
KiB = 1024

HAPROXY_CFG = """
global
    maxconn 512
defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 120s
frontend glance
    bind 127.0.0.1:%(port)d
    default_backend nodes
backend nodes
    balance roundrobin
%(servers)s
"""


def md5(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def haproxy_binary():
    return shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK)
        else None)


@pytest.fixture(scope="module")
def balanced(tmp_path_factory):
    """(load balancer URL, nodes, {store: directory})."""
    binary = haproxy_binary()
    if binary is None:
        unavailable("haproxy is not installed "
                    "(tools/install-system-packages.sh)")
    if not postgresql_answers():
        unavailable("the PostgreSQL test server does not answer")
    base = tmp_path_factory.mktemp("balanced")
    stores = {"fast": base / "fast", "slow": base / "slow"}
    with server_database("postgresql") as url:
        nodes = [node(base, name, url, stores) for name in "abc"]
        db_sync(nodes[0])
        proxy = None
        try:
            for srv in nodes:
                srv.start()
            port = free_port()
            cfg = base / "haproxy.cfg"
            cfg.write_text(HAPROXY_CFG % {"port": port, "servers": "\n".join(
                "    server %s 127.0.0.1:%d" % (name, srv.port)
                for name, srv in zip("abc", nodes, strict=True))})
            proxy = subprocess.Popen([binary, "-f", str(cfg), "-db"],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     start_new_session=True)
            lb = "http://127.0.0.1:%d" % port
            wait_for(lambda: _answers(lb), timeout=10, message="haproxy")
            yield lb, nodes, stores
        finally:
            if proxy is not None:
                proxy.send_signal(signal.SIGTERM)
                try:
                    proxy.wait(10)
                except subprocess.TimeoutExpired:
                    proxy.kill()
                    proxy.wait(10)
            for srv in nodes:
                srv.stop()


def node(base, name, db_url, stores):
    srv = GlanceServer(base / name, flavor="trusted-auth", workers=1, conf={
        "DEFAULT": {"enabled_backends": {"fast": "file", "slow": "file"},
                    "enabled_import_methods": ["glance-direct",
                                               "copy-image"]},
        "glance_store": {"default_backend": "fast"},
        "fast": {"filesystem_store_datadir": stores["fast"]},
        "slow": {"filesystem_store_datadir": stores["slow"]},
        "database": {"connection": db_url},
    })
    srv.update_config({"DEFAULT": {"worker_self_reference_url": srv.url}})
    return srv


def _answers(url):
    try:
        return requests.get(url + "/versions", timeout=2).status_code == 200
    except requests.RequestException:
        return False


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
        data = os.urandom(self.random.randint(16, 256) * KiB)
        resp = self.call("POST", "/v2/images", (201,), json={
            "name": "lb", "disk_format": "raw", "container_format": "bare"})
        if resp is None:
            return
        image_id = resp.json()["id"]
        path = "/v2/images/%s" % image_id
        octet = {"Content-Type": OCTET}
        if self.random.random() < 0.5:
            ok = self.call("PUT", path + "/file", (204,), data=data,
                           headers=octet)
        else:
            ok = self.call("PUT", path + "/stage", (204,), data=data,
                           headers=octet) and self.call(
                "POST", path + "/import", (202,),
                json={"method": {"name": "glance-direct"}})
        if not ok or not self.wait_active(path, data):
            return
        if self.random.random() < 0.3:
            if not self.call("POST", path + "/import", (202,), json={
                    "method": {"name": "copy-image"}, "stores": ["slow"]}):
                return
            if not self.wait_copied(path):
                return
        got = self.call("GET", path + "/file", (200,))
        if got is not None and got.content != data:
            self.failures.append(("GET", path + "/file", "wrong data"))
        if self.random.random() < 0.5:
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
            if "slow" in image["stores"].split(",") and \
                    not image.get("os_glance_importing_to_stores"):
                return True
            if "slow" in (image.get("os_glance_failed_import") or ""):
                self.failures.append((path, "copy failed"))
                return False
            time.sleep(0.2)
        self.failures.append((path, "not copied within %ss" % timeout))
        return False


def test_concurrent_clients_through_haproxy(balanced):
    lb, nodes, stores = balanced
    project = new_project("lb")
    stop = threading.Event()
    clients = [Client(lb, project, stop, seed) for seed in range(CLIENTS)]
    for client in clients:
        client.start()
    time.sleep(DURATION)
    stop.set()
    for client in clients:
        client.join(120)
        assert not client.is_alive()
    failures = [f for c in clients for f in c.failures]
    assert failures == [], failures[:10]
    done = sum(c.done for c in clients)
    print("%d images through %d nodes" % (done, len(nodes)))
    assert done >= CLIENTS

    kept = {}
    for client in clients:
        kept.update(client.kept)
    headers = identity_headers(project, ADMIN)
    listed = requests.get(lb + "/v2/images", headers=headers, timeout=30,
                          params={"limit": 1000}).json()["images"]
    assert {i["id"] for i in listed} == set(kept)
    on_disk = {name: set(os.listdir(d)) if d.is_dir() else set()
               for name, d in stores.items()}
    expected = {name: set() for name in stores}
    for image in listed:
        assert image["status"] == "active", image
        assert not image.get("os_glance_import_task"), image
        data = kept[image["id"]]
        assert image["checksum"] == md5(data)
        for store in image["stores"].split(","):
            expected[store].add(image["id"])
            assert (stores[store] / image["id"]).read_bytes() == data
    assert on_disk == expected           # nothing orphaned in a store
    for srv in nodes:                    # no staged file left anywhere
        staging = srv.state_path / "staging"
        assert not staging.is_dir() or os.listdir(staging) == []
    tasks = requests.get(lb + "/v2/tasks", headers=headers, timeout=30,
                         params={"limit": 1000}).json()["tasks"]
    assert all(t["status"] in ("success", "failure") for t in tasks)
    assert all(t["status"] == "success" for t in tasks), [
        t for t in tasks if t["status"] != "success"][:3]
    # imports reached other nodes than their stage and were forwarded
    assert any("Forwarding POST" in srv.log_text() for srv in nodes)
