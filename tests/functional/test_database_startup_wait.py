"""glance-manage and glance-api started before their database wait for it.

The database is a real PostgreSQL database reached through a small TCP
proxy of the test's own that only starts listening 2 s after the process
starts (connections are refused until then, as from a server still
booting). With ``[database] max_retries``/``retry_interval`` the process
waits and comes up; with ``max_retries = 0`` it fails at once. A missing
driver is one line naming the extra to install.
"""
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.functional.server import REPO_ROOT
from tests.functional.server import free_port
from tests.unit.db.conftest import server_database

pytest.importorskip("psycopg2")
DELAY = 2.0
UPSTREAM = ("127.0.0.1", 5432)


class LateProxy:
    """Forwards 127.0.0.1:port to ``UPSTREAM``, listening only after
    ``delay`` seconds; threads end when the test stops it."""

    def __init__(self, delay=DELAY):
        self.port = free_port()
        self.delay = delay
        self.stopped = threading.Event()
        self.listener = None
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        if self.listener is not None:
            self.listener.close()
        self.thread.join(5)

    def _serve(self):
        if self.stopped.wait(self.delay):
            return
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listener.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            upstream = socket.create_connection(UPSTREAM, timeout=10)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b),
                                 daemon=True).start()

    def _pipe(self, source, sink):
        source.settimeout(0.5)
        try:
            while not self.stopped.is_set():
                try:
                    data = source.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def pg_url():
    with server_database("postgresql") as url:
        yield url


def via(url, port):
    return url.replace("127.0.0.1:5432", "127.0.0.1:%d" % port)


def manage(tmp_path, url, *args, retries=10, interval=1, env=None):
    conf = tmp_path / "manage.conf"
    conf.write_text("[database]\nconnection = %s\nmax_retries = %d\n"
                    "retry_interval = %d\n" % (url, retries, interval))
    environ = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "glance.cmd.manage", "--config-file",
         str(conf), *args], capture_output=True, text=True, timeout=60,
        cwd=str(REPO_ROOT), env=environ)


def test_manage_waits_for_a_late_database(tmp_path, pg_url):
    with LateProxy() as proxy:
        started = time.monotonic()
        done = manage(tmp_path, via(pg_url, proxy.port), "db", "sync")
        took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "synced successfully" in done.stdout
    assert DELAY <= took < DELAY + 10
    # the retries' warnings
    assert "cannot be reached" in done.stdout + done.stderr


def test_manage_without_retries_fails_at_once(tmp_path, pg_url):
    with LateProxy(delay=30) as proxy:
        started = time.monotonic()
        done = manage(tmp_path, via(pg_url, proxy.port), "db", "sync",
                      retries=0)
        took = time.monotonic() - started
    assert done.returncode == 1 and took < DELAY + 5
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("ERROR: database ") and "refused" in lines[-1]
    assert "Traceback" not in done.stderr


def test_api_waits_for_a_late_database(tmp_path, pg_url, glance_server):
    assert manage(tmp_path, pg_url, "db", "sync").returncode == 0
    # the daemon's imports take a second or two: a later database
    with LateProxy(delay=DELAY + 3) as proxy:
        srv = glance_server(wait=False, conf={"database": {
            "connection": via(pg_url, proxy.port), "max_retries": 10,
            "retry_interval": 1}})
        srv.wait_until_ready(timeout=DELAY + 25)
        resp = srv.get("/v2/images")
        assert resp.status_code == 200, resp.text
        assert "cannot be reached" in srv.log_text()
        assert "Traceback" not in srv.log_text()
        srv.stop()


@pytest.fixture
def no_psycopg2(tmp_path):
    """A PYTHONPATH entry on which ``import psycopg2`` fails."""
    fake = tmp_path / "nodriver" / "psycopg2"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'psycopg2'\", "
        "name='psycopg2')\n")
    return str(fake.parent)


def test_missing_driver_is_one_line(tmp_path, no_psycopg2, glance_server):
    url = "postgresql+psycopg2://glance:pw@127.0.0.1:5432/glance"
    path = os.pathsep.join([no_psycopg2, str(REPO_ROOT)])
    done = manage(tmp_path, url, "db", "sync", env={"PYTHONPATH": path})
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "pip install 'glance[postgresql]'" in done.stderr

    srv = glance_server(wait=False, env={"PYTHONPATH": path},
                        conf={"database": {"connection": url},
                              "DEFAULT": {"log_file": None}})
    assert srv.wait_for_exit(30) != 0
    out = srv.output_text()
    assert "Traceback" not in out
    assert "pip install 'glance[postgresql]'" in out.strip().splitlines()[-1]
