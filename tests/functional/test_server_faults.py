"""Server-side faults against the real daemon: reloads under load, killed
and hung workers.

* Two SIGHUPs while 8 keep-alive clients keep sending requests: not one
  request may fail (an old worker answers the next request of each open
  connection with ``Connection: close`` and never cuts a connection a
  client may be sending on).
* A worker SIGKILLed in the middle of an upload, a stage or an import:
  the supervisor releases what it held (the image goes back, the partial
  data goes) within seconds, so a retry works.
* A worker that stops answering (SIGSTOP: a blocked hub) is killed after
  ``worker_timeout`` and replaced.
"""
import hashlib
import os
import signal
import socket
import threading
import time

import pytest
import requests

from tests.functional.apiclient import Api, MEMBER, OCTET, new_project
from tests.functional.server import holder_of, pid_alive, wait_for

KiB = 1024
MiB = 1024 * KiB
RETRY_WITHIN = 10.0   # seconds: a client's retry works by then


def md5(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


# --- reload under load ----------------------------------------------------

class Client(threading.Thread):
    """One keep-alive client (a requests.Session) sending a mix of show,
    list, create+delete and /versions until stopped; every failure
    (an exception or an unexpected status) is recorded with its time."""

    def __init__(self, url, image_id, stop):
        super().__init__(daemon=True)
        self.url = url
        self.image_id = image_id
        self.stop = stop
        self.session = requests.Session()
        self.count = 0
        self.failures = []
        self.slowest = 0.0

    def call(self, method, path, expect, **kwargs):
        started = time.monotonic()
        try:
            resp = self.session.request(method, self.url + path,
                                        timeout=30, **kwargs)
        except requests.RequestException as e:
            self.failures.append((started, method, path, repr(e)))
            return None
        self.count += 1
        self.slowest = max(self.slowest, time.monotonic() - started)
        if resp.status_code != expect:
            self.failures.append((started, method, path,
                                  "%d %s" % (resp.status_code,
                                             resp.text[:200])))
            return None
        return resp

    def run(self):
        while not self.stop.is_set():
            self.call("GET", "/v2/images/%s" % self.image_id, 200)
            self.call("GET", "/v2/images?limit=5", 200)
            made = self.call("POST", "/v2/images", 201,
                             json={"name": "load", "disk_format": "raw",
                                   "container_format": "bare"})
            if made is not None:
                self.call("DELETE", "/v2/images/%s" % made.json()["id"],
                          204)
            self.call("GET", "/versions", 200)


def answered(clients, more):
    """Wait until ``clients`` have had ``more`` answers more (or one has
    failed: the test reports it)."""
    target = sum(c.count for c in clients) + more
    wait_for(lambda: sum(c.count for c in clients) >= target
             or any(c.failures for c in clients), timeout=60,
             message="%d more answers" % more)


def replaced(srv, old):
    """Wait until two workers serve and none of ``old`` is left; them."""
    def new_generation():
        pids = srv.worker_pids()
        return len(pids) == 2 and not set(pids) & set(old) and pids
    return wait_for(new_generation, timeout=60,
                    message="a new generation of workers")


def test_two_reloads_under_keepalive_load_drop_nothing(glance_server):
    srv = glance_server(workers=2)
    image = srv.request("POST", "/v2/images", json={"name": "shown"})
    assert image.status_code == 201, image.text
    first = srv.worker_pids()
    stop = threading.Event()
    clients = [Client(srv.url, image.json()["id"], stop) for _i in range(8)]
    for client in clients:
        client.start()
    hups = []
    try:
        answered(clients, 50)
        generation = first
        for _reload in range(2):
            hups.append(time.monotonic())
            srv.send_signal(signal.SIGHUP)
            generation = replaced(srv, generation)
            answered(clients, 50)     # by the new workers alone
    finally:
        stop.set()
        for client in clients:
            client.join(60)
    assert not any(c.is_alive() for c in clients), "a client hung"
    failures = sorted(f for c in clients for f in c.failures)
    total = sum(c.count for c in clients)
    described = ["+%.2fs after the first SIGHUP: %s %s: %s"
                 % (f[0] - hups[0], f[1], f[2], f[3]) for f in failures]
    assert not failures, "%d of %d requests failed:\n%s\n%s" % (
        len(failures), total + len(failures), "\n".join(described[:20]),
        srv.tail(5))
    assert total > 100, total
    print("%d requests, none failed, the slowest took %.2f s"
          % (total, max(c.slowest for c in clients)))
    # both reloads happened: the workers now are a third generation
    now = srv.wait_for_workers(2)
    assert not set(now) & set(first)
    assert srv.log_text().count("SIGHUP: reloading") == 2


# --- a killed worker's claims ---------------------------------------------

def server_end(srv, client):
    """The PID of the worker holding the server end of socket ``client``."""
    pid = holder_of(srv.worker_pids(), client)
    assert pid is not None, "no worker holds the server end of %r" % (
        client.getsockname(),)
    return pid


def raw_put(srv, api, path, body, length):
    """A socket that has sent a PUT's head and the first ``body`` bytes
    of ``length``: a slow client in the middle of its upload."""
    sock = socket.create_connection((srv.host, srv.port))
    head = ["PUT %s HTTP/1.1" % path, "Host: %s:%d" % (srv.host, srv.port),
            "Content-Type: %s" % OCTET, "Content-Length: %d" % length,
            "X-Identity-Status: Confirmed",
            "X-Project-Id: %s" % api.project, "X-User-Id: u",
            "X-Roles: %s" % api.roles]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return sock


def fresh_api(srv, prefix):
    """An Api whose every request takes a new connection: a killed or
    hung worker's kept-alive connection is never reused."""
    api = Api(srv.url, new_project(prefix), MEMBER)
    api.session.headers["Connection"] = "close"
    return api


def listing(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def retry_until_accepted(call, deadline):
    """``call()`` until it answers 2xx (409 means "not yet"), before
    ``deadline`` (time.monotonic()); the answer."""
    while True:
        resp = call()
        if resp.status_code < 300:
            return resp
        assert resp.status_code == 409, (resp.status_code, resp.text)
        assert time.monotonic() < deadline, "still 409: %s" % resp.text
        time.sleep(0.2)


@pytest.fixture
def fault_server(glance_server):
    def start(**conf):
        defaults = {"enabled_import_methods": ["glance-direct"]}
        defaults.update(conf)
        return glance_server(flavor="trusted-auth", workers=2,
                             conf={"DEFAULT": defaults})
    return start


def kill_mid_transfer(srv, api, image_id, what, status):
    """Start a slow PUT of ``what`` (file or stage), wait until the image
    is ``status`` with partial data, SIGKILL the worker serving it; the
    time of the kill and the worker's pid."""
    sock = raw_put(srv, api, "/v2/images/%s/%s" % (image_id, what),
                   b"k" * 200 * KiB, length=MiB)
    try:
        wait_for(lambda: api.image(image_id)["status"] == status,
                 message="image %s" % status)
        worker = server_end(srv, sock)
        os.kill(worker, signal.SIGKILL)
        return time.monotonic(), worker
    finally:
        sock.close()


def test_worker_killed_mid_upload_releases_the_image(fault_server):
    srv = fault_server()   # saving_stall_timeout: the default 300 s
    api = fresh_api(srv, "kill-upload")
    image_id = api.create(disk_format="raw", container_format="bare")["id"]
    store = srv.state_path / "images"
    killed, worker = kill_mid_transfer(srv, api, image_id, "file", "saving")

    data = os.urandom(300 * KiB)
    retry_until_accepted(lambda: api.put(
        "/v2/images/%s/file" % image_id, data=data,
        headers={"Content-Type": OCTET}), killed + RETRY_WITHIN)
    got = api.image(image_id)
    assert got["status"] == "active" and got["checksum"] == md5(data)
    assert got["size"] == len(data)
    assert (store / image_id).read_bytes() == data
    assert listing(store) == [image_id]
    assert listing(srv.state_path / "staging") == []
    assert listing(srv.state_path / "claims" / str(worker)) == []
    log = srv.log_text()
    assert "Worker %d held 1 upload(s)" % worker in log
    assert "died with its worker process" in log


def test_worker_killed_mid_stage_releases_the_image(fault_server):
    srv = fault_server()
    api = fresh_api(srv, "kill-stage")
    image_id = api.create(disk_format="raw", container_format="bare")["id"]
    staging = srv.state_path / "staging"
    killed, _worker = kill_mid_transfer(srv, api, image_id, "stage",
                                        "uploading")

    data = os.urandom(300 * KiB)
    retry_until_accepted(lambda: api.put(
        "/v2/images/%s/stage" % image_id, data=data,
        headers={"Content-Type": OCTET}), killed + RETRY_WITHIN)
    assert (staging / image_id).read_bytes() == data
    got = api.image(image_id)
    assert got["status"] == "uploading" and got["size"] == len(data)
    assert listing(srv.state_path / "images") == []


# --- a glance-direct import whose worker dies or hangs --------------------

def start_hung_import(srv, api, data):
    """A glance-direct import whose worker blocks for good: its staged
    file is swapped for a FIFO, whose open() never returns (a C call
    blocking the hub). Returns (image id, the staged data's path, the
    saved data's path)."""
    image_id = api.create(disk_format="raw", container_format="bare")["id"]
    resp = api.put("/v2/images/%s/stage" % image_id, data=data,
                   headers={"Content-Type": OCTET})
    assert resp.status_code == 204, resp.text
    staged = srv.state_path / "staging" / image_id
    saved = srv.base_dir / ("saved-" + image_id)
    os.rename(staged, saved)
    os.mkfifo(staged)
    sock = socket.create_connection((srv.host, srv.port))
    body = b'{"method": {"name": "glance-direct"}}'
    head = ["POST /v2/images/%s/import HTTP/1.1" % image_id,
            "Host: x", "Content-Type: application/json",
            "Content-Length: %d" % len(body),
            "X-Identity-Status: Confirmed",
            "X-Project-Id: %s" % api.project, "X-User-Id: u",
            "X-Roles: %s" % api.roles]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    sock.settimeout(10)
    assert sock.recv(4096).startswith(b"HTTP/1.1 202 "), srv.tail(10)
    worker = server_end(srv, sock)
    # the client's keep-alive connection may be on that worker too (a
    # loaded machine lets it take the import's connection): new ones go
    # to a worker that still accepts, but for one the worker took just
    # before it blocked, which hangs (until the watchdog kills it): given
    # up on after a moment and tried again
    api.session.close()

    def processing():
        try:
            resp = api.get("/v2/images/%s/tasks" % image_id, timeout=1)
        except requests.RequestException:
            return False
        return resp.json()["tasks"][0]["status"] == "processing"

    wait_for(processing, message="the import")
    return image_id, worker, staged, saved, sock


@pytest.mark.parametrize("how", ["sigkill", "watchdog"])
def test_hung_or_killed_import_releases_its_lock(fault_server, how):
    # the watchdog kills the hung worker after 3 s; SIGKILL comes first
    srv = fault_server(worker_timeout=3 if how == "watchdog" else 60)
    api = fresh_api(srv, "import-" + how)
    data = os.urandom(200 * KiB)
    image_id, worker, staged, saved, sock = start_hung_import(srv, api,
                                                              data)
    try:
        assert api.image(image_id)["status"] == "importing"
        if how == "sigkill":
            os.kill(worker, signal.SIGKILL)
        # the watchdog kills a worker silent for worker_timeout (3 s)
        wait_for(lambda: not pid_alive(worker), timeout=RETRY_WITHIN,
                 message="the hung worker's end")
        gone = time.monotonic()
        wait_for(lambda: api.image(image_id)["status"] == "uploading",
                 timeout=RETRY_WITHIN, message="the image back")
        assert time.monotonic() - gone < RETRY_WITHIN
    finally:
        sock.close()
    tasks = api.get("/v2/images/%s/tasks" % image_id).json()["tasks"]
    assert tasks[0]["status"] == "failure"
    assert "died" in tasks[0]["message"]
    got = api.image(image_id)
    assert "os_glance_import_task" not in got and got["size"] == len(data)
    # the retry, once the staged data is back
    os.unlink(staged)
    os.rename(saved, staged)
    resp = api.post("/v2/images/%s/import" % image_id,
                    json={"method": {"name": "glance-direct"}})
    assert resp.status_code == 202, resp.text
    wait_for(lambda: api.image(image_id)["status"] == "active",
             message="the retried import")
    assert api.image(image_id)["checksum"] == md5(data)
    assert listing(srv.state_path / "images") == [image_id]
    assert listing(srv.state_path / "staging") == []
    if how == "watchdog":
        assert "Worker %d sent no heartbeat" % worker in srv.log_text()
    srv.wait_for_workers(2)


# --- the watchdog ---------------------------------------------------------

def serving(srv):
    """The workers' PIDs once each says it accepts connections (the
    watchdog watches a worker from then on)."""
    def all_serving():
        pids = srv.worker_pids()
        log = srv.log_text()
        return pids if all("Process %d accepts connections" % pid in log
                           for pid in pids) else None
    return wait_for(all_serving, message="serving workers")


def test_a_stopped_worker_is_replaced_after_worker_timeout(glance_server):
    srv = glance_server(workers=2, conf={"DEFAULT": {"worker_timeout": 2}})
    hung, other = serving(srv)
    os.kill(hung, signal.SIGSTOP)
    stopped = time.monotonic()
    # the service keeps answering (fresh connections: the other worker)
    for _i in range(5):
        resp = requests.get(srv.url + "/versions", timeout=10,
                            headers={"Connection": "close"})
        assert resp.status_code == 200

    def replaced():
        pids = srv.worker_pids()
        return hung not in pids and len(pids) == 2 and pids

    pids = wait_for(replaced, timeout=2 + 8, message="a new worker")
    assert time.monotonic() - stopped < 2 + 8
    assert other in pids
    srv.wait_until_ready()
    for _i in range(4):
        assert requests.get(srv.url + "/versions", timeout=10).status_code \
            == 200
    log = srv.log_text()
    assert "Worker %d sent no heartbeat" % hung in log
    assert "Worker %d died (signal SIGKILL); starting another" % hung in log


def test_worker_timeout_zero_disables_the_watchdog(glance_server):
    srv = glance_server(workers=1, conf={"DEFAULT": {"worker_timeout": 0}})
    (worker,) = serving(srv)
    os.kill(worker, signal.SIGSTOP)
    try:
        time.sleep(2.5)
        assert srv.worker_pids() == [worker]
    finally:
        os.kill(worker, signal.SIGCONT)
    assert srv.get("/versions").status_code == 200
