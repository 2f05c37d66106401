"""The database goes away in the middle of an upload (a real PostgreSQL
database of the test's own, 2 workers).

The upload is answered 503 with the reason and its partial data is
removed, but the image must not stay half-written: once the database is
back, the image returns to ``queued`` within seconds (not after
``saving_stall_timeout``) so the client's retry works: the worker keeps
the upload's claim and gives the image back when the database answers.
"""
import os
import socket
import time

import pytest
import sqlalchemy as sa

from tests.functional.apiclient import Api, MEMBER, OCTET, new_project
from tests.functional.server import GlanceServer, wait_for
from tests.functional.test_database_outage import _cut_connections
from tests.functional.test_database_outage import _db_sync
from tests.unit.db.conftest import server_database

KiB = 1024
MiB = 1024 * KiB
RECOVER_WITHIN = 10.0


@pytest.fixture
def pg_url():
    with server_database("postgresql") as url:
        yield url


@pytest.fixture
def pg_server(tmp_path, pg_url):
    srv = GlanceServer(tmp_path, flavor="trusted-auth", workers=2,
                       conf={"database": {"connection": pg_url}})
    _db_sync(srv)
    yield srv.start()
    srv.stop()


def listing(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def test_upload_cut_by_outage_gives_the_image_back(pg_server, pg_url):
    srv = pg_server
    name = sa.engine.make_url(pg_url).database
    api = Api(srv.url, new_project("outage"), MEMBER)   # keep-alive
    image_id = api.create(disk_format="raw", container_format="bare")["id"]
    sock = socket.create_connection((srv.host, srv.port))
    head = ["PUT /v2/images/%s/file HTTP/1.1" % image_id, "Host: x",
            "Content-Type: %s" % OCTET, "Content-Length: %d" % MiB,
            "X-Identity-Status: Confirmed",
            "X-Project-Id: %s" % api.project, "X-User-Id: u",
            "X-Roles: %s" % api.roles]
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode()
                     + b"a" * 256 * KiB)
        wait_for(lambda: api.image(image_id)["status"] == "saving",
                 message="the upload under way")
        _cut_connections(name, allow_new=False)
        try:
            sock.sendall(b"a" * (MiB - 256 * KiB))
            sock.settimeout(30)
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 503 "), answer[:300]
            assert b"cannot reach its database" in answer
            assert listing(srv.state_path / "images") == []
        finally:
            _cut_connections(name, allow_new=True)
    finally:
        sock.close()
    back = time.monotonic()
    wait_for(lambda: api.get("/v2/images/%s" % image_id).status_code
             == 200, timeout=RECOVER_WITHIN, message="the database back")
    wait_for(lambda: api.image(image_id)["status"] == "queued",
             timeout=max(0.5, back + RECOVER_WITHIN - time.monotonic()),
             interval=0.2, message="the image back to queued")
    got = api.image(image_id)
    assert got["size"] is None and got["checksum"] is None
    resp = api.put("/v2/images/%s/file" % image_id, data=b"y" * 4096,
                   headers={"Content-Type": OCTET})
    assert resp.status_code == 204, resp.text
    assert api.image(image_id)["status"] == "active"
    assert listing(srv.state_path / "images") == [image_id]
