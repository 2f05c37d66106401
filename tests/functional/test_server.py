"""The glance-api daemon as a process: workers, signals, TLS, bad input.

Most tests serve :mod:`tests.functional.slowapp` (``GET /slow?seconds=N``
answers with the worker's PID and ``image_size_cap``) so that the server's
behaviour is tested apart from the Images API; the versions and request-id
tests also go through the default paste pipeline.
"""
import os
import re
import signal
import socket
import threading
import urllib.parse
import uuid

import pytest
import requests

from glance.common import server as server_mod
from tests.functional import slowapp
from tests.functional.server import pid_alive, wait_for

SLOW = {"paste_ini": slowapp.PASTE_INI}
REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")


class Background:
    """A request (or a loop of them) in a thread, results collected."""

    def __init__(self, target, *args):
        self.result = self.error = None
        self.thread = threading.Thread(target=self._run, args=args,
                                       daemon=True)
        self._target = target
        self.thread.start()

    def _run(self, *args):
        try:
            self.result = self._target(*args)
        except Exception as e:  # noqa: BLE001 - reported by join()
            self.error = e

    def join(self, timeout=30):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "background request hung"
        if self.error is not None:
            raise self.error
        return self.result


def hammer(srv, stop, results):
    """Fresh-connection requests until ``stop`` is set."""
    while not stop.is_set():
        try:
            resp = requests.get(srv.url + "/slow?seconds=0.02", timeout=30)
            results.append((resp.status_code, resp.json()))
        except Exception as e:  # noqa: BLE001 - every failure counts
            results.append(("error", repr(e)))


def slow_request(srv, seconds):
    """A /slow request in the background, in flight (a worker is in the
    app with it) once this returns."""
    started = srv.base_dir / ("started-%s" % uuid.uuid4().hex)
    call = Background(srv.get, "/slow?" + urllib.parse.urlencode(
        {"seconds": seconds, "started": str(started)}))
    wait_for(started.exists, timeout=15,
             message="the slow request to reach a worker")
    return call


def answered(results, more):
    """Wait until the flood of ``hammer`` has ``more`` answers more."""
    target = len(results) + more
    wait_for(lambda: len(results) >= target, timeout=15,
             message="%d more answers to the flood" % more)


# --- the API documents, through the real pipeline ----------------------------

def test_versions_document(api_server):
    resp = api_server.get("/versions")
    assert resp.status_code == 200, api_server.tail()
    versions = resp.json()["versions"]
    assert isinstance(versions, list) and versions
    assert {v["status"] for v in versions} >= {"CURRENT", "SUPPORTED"}
    assert versions[0]["links"][0]["href"] == api_server.url + "/v2/"
    resp = api_server.get("/")
    assert resp.status_code == 300
    assert resp.json()["versions"] == versions


@pytest.mark.parametrize("path", ["/v2/images", "/v2/no-such-thing"])
def test_request_ids(api_server, path):
    resp = api_server.get(path)
    assert REQUEST_ID.match(resp.headers["x-openstack-request-id"]), \
        resp.headers


@pytest.mark.parametrize("path", ["/versions", "/", "/v9/images"])
def test_version_documents_carry_no_request_id(api_server, path):
    # as Glance: only the context middleware answers with one
    assert "x-openstack-request-id" not in api_server.get(path).headers


def test_request_ids_are_unique(api_server):
    ids = {api_server.get("/v2/images").headers["x-openstack-request-id"]
           for _i in range(5)}
    assert len(ids) == 5


# --- TLS, addresses -------------------------------------------------------

def test_https(glance_server):
    srv = glance_server(tls=True, **SLOW)
    assert srv.url.startswith("https://")
    resp = srv.get("/versions")   # verified against the test's certificate
    assert resp.status_code == 200
    assert resp.json()["versions"][0]["links"][0]["href"].startswith(
        "https://")
    assert srv.get("/slow").json()["pid"] in srv.worker_pids()
    with pytest.raises(requests.ConnectionError):
        requests.get(srv.url.replace("https:", "http:") + "/versions",
                     timeout=5)
    assert srv.get("/versions").status_code == 200
    assert "Traceback" not in srv.log_text()


def _ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_bind_host(glance_server):
    srv = glance_server(host="::1", workers=1, **SLOW)
    assert srv.url.startswith("http://[::1]:")
    assert srv.get("/versions").status_code == 200
    assert "listening on http://[::1]:%d" % srv.port in srv.log_text()


# --- signals and workers ---------------------------------------------------

def test_sighup_reloads_without_dropping_a_request(glance_server):
    srv = glance_server(conf={"DEFAULT": {"image_size_cap": 1000}}, **SLOW)
    old = srv.wait_for_workers(2)
    in_flight = slow_request(srv, 2)
    stop, results = threading.Event(), []
    flood = Background(hammer, srv, stop, results)
    answered(results, 3)       # the flood runs before the reload

    srv.update_config({"DEFAULT": {"image_size_cap": 2000}})
    srv.send_signal(signal.SIGHUP)
    wait_for(lambda: srv.get("/slow").json()["image_size_cap"] == 2000,
             message="a worker with the new configuration")

    resp = in_flight.join()
    assert resp.status_code == 200
    assert resp.json() == {"pid": resp.json()["pid"], "seconds": 2.0,
                           "image_size_cap": 1000}
    assert resp.json()["pid"] in old
    wait_for(lambda: not set(old) & set(srv.worker_pids()), timeout=15,
             message="the old workers to exit")
    answered(results, 3)       # and goes on with the new workers alone
    stop.set()
    flood.join()

    failures = [r for r in results if r[0] != 200]
    assert len(results) >= 10 and not failures, failures
    assert {r[1]["image_size_cap"] for r in results} <= {1000, 2000}
    new = srv.worker_pids()
    assert len(new) == 2 and not set(new) & set(old)
    assert srv.get("/slow").json()["image_size_cap"] == 2000


def test_killed_worker_is_replaced(glance_server):
    srv = glance_server(**SLOW)
    victim, survivor = srv.wait_for_workers(2)
    os.kill(victim, signal.SIGKILL)

    def replaced():
        pids = srv.worker_pids()
        return len(pids) == 2 and victim not in pids and pids

    # a bound, not a timing: a worker boots slowly on a loaded machine
    pids = wait_for(replaced, timeout=60, message="a new worker")
    assert survivor in pids
    for _i in range(4):
        assert srv.get("/versions").status_code == 200
    assert "Worker %d died (signal SIGKILL)" % victim in srv.log_text()


@pytest.mark.parametrize("sig,to_group", [
    (signal.SIGTERM, False),
    (signal.SIGTERM, True),    # systemd's KillMode=control-group
    (signal.SIGINT, True),     # Ctrl-C in a terminal
])
def test_stop_signal_drains_then_exits(glance_server, sig, to_group):
    srv = glance_server(**SLOW)
    workers = srv.wait_for_workers(2)
    in_flight = slow_request(srv, 2)
    if to_group:   # the fixture starts the daemon in a session of its own
        os.killpg(srv.pid, sig)
    else:
        srv.send_signal(sig)

    resp = in_flight.join()
    assert resp.status_code == 200 and resp.json()["seconds"] == 2.0
    assert srv.wait_for_exit(15) == 0, srv.tail()
    assert not [pid for pid in workers if pid_alive(pid)]
    with pytest.raises(requests.ConnectionError):
        srv.get("/versions", timeout=2)


def test_workers_zero_serves_in_the_parent(glance_server):
    srv = glance_server(workers=0, conf={"DEFAULT": {"image_size_cap": 5}},
                        **SLOW)
    assert srv.worker_pids() == []
    assert srv.get("/slow").json() == {"pid": srv.pid, "seconds": 0.0,
                                       "image_size_cap": 5}
    srv.update_config({"DEFAULT": {"image_size_cap": 6}})
    srv.send_signal(signal.SIGHUP)
    wait_for(lambda: srv.get("/slow").json()["image_size_cap"] == 6,
             message="the reloaded configuration")
    in_flight = slow_request(srv, 1)
    srv.send_signal(signal.SIGTERM)
    assert in_flight.join().status_code == 200
    assert srv.wait_for_exit(15) == 0, srv.tail()


# --- failures ----------------------------------------------------------------

def assert_boot_failure(srv, reason):
    """The daemon stopped with WORKER_BOOT_ERROR, said ``reason`` in one
    line on stderr and in the log, and did not respawn workers."""
    status = srv.wait_for_exit(20)
    assert status == server_mod.WORKER_BOOT_ERROR, srv.tail()
    stderr = [line for line in srv.output_text().splitlines()
              if line.startswith("glance-api: ")]
    assert len(stderr) == 1, srv.tail()
    assert stderr[0].startswith("glance-api: a worker failed to boot: ")
    assert reason in stderr[0], srv.tail()
    assert "Traceback" not in srv.output_text()
    log = srv.log_text()
    failed = [line for line in log.splitlines()
              if "failed to boot (exit status 3): " in line]
    assert failed and reason in failed[0], srv.tail()
    assert log.count("Started worker") <= 4      # no respawn loop
    return stderr[0]


def test_worker_that_cannot_boot_stops_the_daemon(glance_server):
    srv = glance_server(flavor="broken", wait=False, **SLOW)
    assert_boot_failure(srv, "slowapp: this application refuses to load")


def test_unknown_paste_flavor_is_reported(glance_server):
    srv = glance_server(flavor="no-such-flavor", wait=False)
    line = assert_boot_failure(srv, "Unable to load "
                                    "glance-api-no-such-flavor from ")
    assert "No section 'glance-api-no-such-flavor'" in line


def test_missing_paste_file_is_reported(glance_server, tmp_path):
    missing = tmp_path / "no-such-paste.ini"
    srv = glance_server(paste_file=missing, wait=False)
    assert_boot_failure(srv, "Unable to locate paste config file %s"
                        % missing)


def test_unreachable_database_stops_the_daemon(glance_server):
    """Found by the parent (which may open the database before forking)
    or by the workers' boot check: either way one line naming it."""
    pytest.importorskip("glance.db.session")
    pytest.importorskip("psycopg2")
    url = "postgresql+psycopg2://glance:s3cret@127.0.0.1:1/glance"
    srv = glance_server(conf={"database": {"connection": url,
                                           "max_retries": 0}},
                        wait=False, **SLOW)
    status = srv.wait_for_exit(20)
    reason = ("cannot use the database "
              "postgresql+psycopg2://glance:***@127.0.0.1:1/glance: ")
    if status == server_mod.WORKER_BOOT_ERROR:
        line = assert_boot_failure(srv, reason)
    else:
        assert status == 1, srv.tail()
        line = srv.output_text().splitlines()[-1]
        assert line.startswith("glance-api: " + reason), srv.tail()
        assert "Traceback" not in srv.output_text()
        assert "could not start: " + reason in srv.log_text()
    assert "refused" in line.lower()
    assert "s3cret" not in srv.log_text() + srv.output_text()


def test_boot_failure_without_a_log_file(glance_server):
    """Logging to stderr: still no traceback there, the reason at the end."""
    srv = glance_server(flavor="broken", wait=False,
                        conf={"DEFAULT": {"log_file": None}}, **SLOW)
    assert srv.wait_for_exit(20) == server_mod.WORKER_BOOT_ERROR
    out = srv.output_text()
    assert "Traceback" not in out
    assert out.splitlines()[-1] == ("glance-api: a worker failed to boot: "
                                    "slowapp: this application refuses to "
                                    "load")


def test_bad_config_file_is_reported(glance_server):
    srv = glance_server(wait=False, conf={"DEFAULT": {"workers": "many"}},
                        **SLOW)
    assert srv.wait_for_exit(20) != 0
    assert "workers" in srv.output_text()


# --- bad input ---------------------------------------------------------------

def _raw_request(srv, data):
    with socket.create_connection((srv.host, srv.port), timeout=10) as s:
        s.sendall(data)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_overlong_header_line_is_a_400(glance_server):
    srv = glance_server(conf={"DEFAULT": {"max_header_line": 1024}}, **SLOW)
    request = (b"GET /versions HTTP/1.1\r\nHost: x\r\nX-Big: "
               + b"a" * 2000 + b"\r\n\r\n")
    for _i in range(3):   # whichever worker gets it
        answer = _raw_request(srv, request)
        assert re.match(rb"HTTP/1\.[01] 400 ", answer), answer[:200]
    ok = (b"GET /versions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
          b"X-Fine: " + b"a" * 900 + b"\r\n\r\n")
    assert _raw_request(srv, ok).startswith(b"HTTP/1.1 200 ")
    for _i in range(4):
        assert srv.get("/versions").status_code == 200
    assert set(srv.worker_pids()) and "Traceback" not in srv.log_text()
