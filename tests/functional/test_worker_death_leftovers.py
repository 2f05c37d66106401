"""A worker that dies or hangs mid-transfer, seen by keep-alive clients
(python-requests sessions) of a 2-worker daemon.

test_server_faults.py retries over fresh connections and checks the
stores once the retry is done. Here:

* the image is given back (``queued``) within RETRY_WITHIN seconds of
  the worker's death and nothing of the partial data is left *before*
  any retry (the file store, the staging area, the worker's claims);
* sessions whose kept-alive connection was served by the dead worker go
  on working (once the worker is gone: a request sent to a process at
  the instant it dies cannot be answered by anyone), and one of them
  retries the transfer within RETRY_WITHIN seconds;
* the same for a worker that hangs (SIGSTOP) mid-upload: the watchdog
  kills it after ``worker_timeout`` and its upload claim is released.
"""
import hashlib
import os
import signal
import time

import pytest

from tests.functional.apiclient import Api, MEMBER, OCTET, new_project
from tests.functional.server import holder_of, wait_for
from tests.functional.test_server_faults import raw_put

KiB = 1024
MiB = 1024 * KiB
RETRY_WITHIN = 10.0
WORKER_TIMEOUT = 3


def md5(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def reaped(pid):
    """Whether ``pid`` is gone for good. Not ``pid_alive``: a worker's
    main thread can be a zombie while its other threads (an upload's)
    still exit and hold its connections open."""
    return not os.path.exists("/proc/%d" % pid)


def listing(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


@pytest.fixture
def server(glance_server):
    def start(**defaults):
        defaults.setdefault("enabled_import_methods", ["glance-direct"])
        return glance_server(flavor="trusted-auth", workers=2,
                             conf={"DEFAULT": defaults})
    return start


def kept_alive(api):
    """The sockets of ``api``'s session's idle kept-alive connections."""
    pools = api.session.get_adapter(api.base_url).poolmanager.pools
    return [conn.sock for key in pools.keys()
            for conn in list(pools[key].pool.queue)
            if conn is not None and getattr(conn, "sock", None)]


def sessions_on(srv, project, worker, wanted=2, tries=40):
    """Keep-alive clients of ``project``, at least ``wanted`` of them
    with their connection kept alive by ``worker``; (all, those)."""
    everyone, on_worker = [], []
    for _i in range(tries):
        api = Api(srv.url, project, MEMBER)
        assert api.get("/versions").status_code == 200
        everyone.append(api)
        socks = kept_alive(api)
        assert len(socks) <= 1
        if not socks:
            # the worker was over its share (a connection its sibling,
            # slow under load, did not accept within its turn) and ended
            # this one after the answer to balance them: not kept alive
            continue
        if holder_of(srv.worker_pids(), socks[0]) == worker:
            on_worker.append(api)
            if len(on_worker) >= wanted:
                break
    assert len(on_worker) >= wanted, "no connection kept by the worker"
    return everyone, on_worker


def start_transfer(srv, api, image_id, what, status):
    """A slow PUT of ``what`` (file or stage) that has sent part of its
    data; once the image is ``status``: (the socket, its worker)."""
    sock = raw_put(srv, api, "/v2/images/%s/%s" % (image_id, what),
                   b"k" * 256 * KiB, length=MiB)
    wait_for(lambda: api.image(image_id)["status"] == status,
             message="image %s" % status)
    # partial data is on disk: the checks for leftovers are not vacuous
    wait_for(lambda: listing(srv.state_path / "images")
             + listing(srv.state_path / "staging"), timeout=5,
             message="the partial data on disk")
    worker = wait_for(lambda: holder_of(srv.worker_pids(), sock),
                      timeout=5, message="the worker serving the upload")
    return sock, worker


def assert_given_back_without_leftovers(srv, api, image_id, worker, gone):
    wait_for(lambda: api.image(image_id)["status"] == "queued",
             timeout=RETRY_WITHIN, interval=0.1, message="the image back")
    assert time.monotonic() - gone < RETRY_WITHIN
    got = api.image(image_id)
    assert got["size"] is None and got["checksum"] is None, got
    # nothing of the partial data is left, before any retry
    assert listing(srv.state_path / "images") == []
    assert listing(srv.state_path / "staging") == []
    # the janitor forgets the worker's claims once all are released
    wait_for(lambda: listing(srv.state_path / "claims" / str(worker)) == [],
             timeout=max(0.5, gone + RETRY_WITHIN - time.monotonic()),
             message="the dead worker's claims forgotten")


def retry(api, image_id, what, data, deadline):
    while True:
        resp = api.put("/v2/images/%s/%s" % (image_id, what), data=data,
                       headers={"Content-Type": OCTET})
        if resp.status_code == 204:
            return
        assert resp.status_code == 409, (resp.status_code, resp.text)
        assert time.monotonic() < deadline, resp.text
        time.sleep(0.2)


@pytest.mark.parametrize("what,status", [("file", "saving"),
                                         ("stage", "uploading")])
def test_killed_mid_transfer_keepalive_clients(server, what, status):
    srv = server()    # saving_stall_timeout: the default 300 s
    project = new_project("ka-" + what)
    owner = Api(srv.url, project, MEMBER)
    image_id = owner.create(disk_format="raw",
                            container_format="bare")["id"]
    sock, worker = start_transfer(srv, owner, image_id, what, status)
    everyone, on_worker = sessions_on(srv, project, worker)
    try:
        os.kill(worker, signal.SIGKILL)
        killed = time.monotonic()
        wait_for(lambda: reaped(worker), timeout=5,
                 message="the worker's end")
    finally:
        sock.close()
    # every kept-alive client goes on, those of the dead worker included
    for api in everyone:
        assert api.image(image_id)["status"] in ("saving", "uploading",
                                                 "queued")
    assert_given_back_without_leftovers(srv, owner, image_id, worker,
                                        killed)
    data = os.urandom(300 * KiB)
    retry(on_worker[0], image_id, what, data, killed + RETRY_WITHIN)
    got = owner.image(image_id)
    if what == "file":
        assert got["status"] == "active" and got["checksum"] == md5(data)
        assert listing(srv.state_path / "images") == [image_id]
        assert (srv.state_path / "images" / image_id).read_bytes() == data
        assert listing(srv.state_path / "staging") == []
    else:
        assert got["status"] == "uploading" and got["size"] == len(data)
        assert listing(srv.state_path / "staging") == [image_id]
        assert (srv.state_path / "staging" / image_id).read_bytes() == data
        assert listing(srv.state_path / "images") == []
    for api in on_worker:
        assert api.get("/versions").status_code == 200
    srv.wait_for_workers(2)


def test_hung_mid_upload_watchdog_releases_the_upload(server):
    srv = server(worker_timeout=WORKER_TIMEOUT)
    owner = Api(srv.url, new_project("hung"), MEMBER)
    image_id = owner.create(disk_format="raw",
                            container_format="bare")["id"]
    sock, worker = start_transfer(srv, owner, image_id, "file", "saving")
    try:
        os.kill(worker, signal.SIGSTOP)
        stopped = time.monotonic()
        # the owner's kept-alive connection may be held by the hung
        # worker: ask on fresh connections until it is gone
        fresh = Api(srv.url, owner.project, MEMBER)
        fresh.session.headers["Connection"] = "close"
        wait_for(lambda: reaped(worker),
                 timeout=WORKER_TIMEOUT + RETRY_WITHIN,
                 message="the watchdog's kill")
        gone = time.monotonic()
        assert gone - stopped >= WORKER_TIMEOUT - 0.5
    finally:
        sock.close()
    assert_given_back_without_leftovers(srv, fresh, image_id, worker, gone)
    data = os.urandom(300 * KiB)
    retry(owner, image_id, "file", data, gone + RETRY_WITHIN)
    got = owner.image(image_id)
    assert got["status"] == "active" and got["checksum"] == md5(data)
    assert listing(srv.state_path / "images") == [image_id]
    log = srv.log_text()
    assert "Worker %d sent no heartbeat" % worker in log
    assert "Worker %d held 1 upload(s)" % worker in log
