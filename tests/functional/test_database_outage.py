"""The database goes away and comes back while glance-api serves.

A real PostgreSQL database of the test's own: its connections are cut
and new ones refused for a while. Requests in between get 503 with a
reason (never a 500), no worker dies, no image is left half-written,
and the service answers again within seconds of the database's return.
"""
import subprocess
import sys
import time

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy import pool as sa_pool

from tests.functional.server import GlanceServer
from tests.functional.server import REPO_ROOT
from tests.functional.server import wait_for
from tests.unit.db.conftest import SERVERS
from tests.unit.db.conftest import server_database

OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture
def pg_url():
    with server_database("postgresql") as url:
        yield url


def _admin_engine():
    return sa.create_engine(SERVERS["postgresql"],
                            isolation_level="AUTOCOMMIT",
                            poolclass=sa_pool.NullPool)


def _cut_connections(name, allow_new):
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.exec_driver_sql("ALTER DATABASE %s WITH ALLOW_CONNECTIONS %s"
                             % (name, "true" if allow_new else "false"))
        if not allow_new:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = '%s' AND pid <> pg_backend_pid()" % name)
    engine.dispose()


def _db_sync(srv):
    subprocess.run([sys.executable, "-m", "glance.cmd.manage",
                    "--config-file", str(srv.conf_file), "db", "sync"],
                   check=True, cwd=str(REPO_ROOT), capture_output=True,
                   timeout=120)


def _create(session, srv):
    return session.post(srv.url + "/v2/images", timeout=30, json={
        "name": "outage", "disk_format": "raw", "container_format": "bare"})


@pytest.fixture
def pg_server(tmp_path, pg_url):
    srv = GlanceServer(tmp_path, workers=2,
                       conf={"database": {"connection": pg_url}})
    _db_sync(srv)
    yield srv.start()
    srv.stop()


def test_requests_during_outage_get_503_then_service_recovers(
        pg_server, pg_url):
    srv = pg_server
    name = sa.engine.make_url(pg_url).database
    workers = srv.worker_pids()
    session = requests.Session()   # keep-alive, as clients run
    before = _create(session, srv).json()["id"]
    queued = _create(session, srv).json()["id"]

    _cut_connections(name, allow_new=False)
    try:
        answers = [
            session.get(srv.url + "/v2/images", timeout=30),
            session.get(srv.url + "/v2/images/" + before, timeout=30),
            _create(session, srv),
            session.put(srv.url + "/v2/images/%s/file" % queued,
                        data=b"x" * 1024 * 1024, headers=OCTET, timeout=30),
        ]
        for resp in answers:
            assert resp.status_code == 503, (resp.request.method,
                                             resp.request.url, resp.text)
            assert "cannot reach its database" in resp.text
            assert resp.headers.get("Retry-After") == "5"
    finally:
        _cut_connections(name, allow_new=True)

    back = time.monotonic()
    wait_for(lambda: session.get(srv.url + "/v2/images",
                                 timeout=30).status_code == 200,
             timeout=10, interval=0.2, message="the service to recover")
    assert time.monotonic() - back < 10
    assert srv.worker_pids() == workers
    image = session.get(srv.url + "/v2/images/" + queued, timeout=30).json()
    assert (image["status"], image["size"]) == ("queued", None)
    resp = session.put(srv.url + "/v2/images/%s/file" % queued,
                       data=b"y" * 4096, headers=OCTET, timeout=30)
    assert resp.status_code == 204, resp.text
    image = session.get(srv.url + "/v2/images/" + queued, timeout=30).json()
    assert (image["status"], image["size"]) == ("active", 4096)
    assert "Traceback" not in srv.log_file.read_text()
