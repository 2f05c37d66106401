"""The WSGI application (glance.wsgi.api) under real uwsgi and gunicorn.

Each host is started as Glance's deployment guides start it, with the
config found through ``OS_GLANCE_CONFIG_DIR``; image data goes up with
Content-Length and chunked, through upload and staging + glance-direct,
and comes back byte for byte (md5 and sha512 of what was sent).
"""
import hashlib
import os
import shutil
import socket
import time
import subprocess
import sys

import pytest

from tests.functional.server import GlanceServer
from tests.functional.server import wait_for

DATA_SIZE = 20 * 1024 * 1024
OCTET = {"Content-Type": "application/octet-stream"}
UWSGI_OPTIONS = ("--master", "--processes", "2", "--enable-threads",
                 "--http-auto-chunked", "--http-chunked-input",
                 "--http-raw-body", "--die-on-term")


def _bin(name):
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.exists(path) else shutil.which(name)


class WsgiHostServer(GlanceServer):
    """GlanceServer's config and state, served by a WSGI host."""

    def __init__(self, base_dir, host_server, **options):
        self.host_server = host_server
        super().__init__(base_dir, **options)
        self.env["OS_GLANCE_CONFIG_DIR"] = str(self.etc_dir)

    def command(self):
        address = "127.0.0.1:%d" % self.port
        if self.host_server == "uwsgi":
            return [_bin("uwsgi"), "--http-socket", address, *UWSGI_OPTIONS,
                    "--module", "glance.wsgi.api:application"]
        return [_bin("gunicorn"), "--bind", address, "--workers", "2",
                "glance.wsgi.api:application"]


@pytest.fixture(scope="module", params=["uwsgi", "gunicorn"])
def host(request, tmp_path_factory):
    if _bin(request.param) is None:
        pytest.fail("%s is not installed (it is in the test extra)"
                    % request.param)
    srv = WsgiHostServer(tmp_path_factory.mktemp(request.param),
                         request.param, workers=2)
    srv.start(timeout=60)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def payload():
    return os.urandom(DATA_SIZE)


def _digests(data):
    return hashlib.md5(data).hexdigest(), hashlib.sha512(data).hexdigest()


def _chunks(data, size=64 * 1024 + 7):
    # a generator makes requests send Transfer-Encoding: chunked; the
    # glance CLI sends 64 KiB chunks
    for start in range(0, len(data), size):
        yield data[start:start + size]


def _create(srv, **extra):
    resp = srv.request("POST", "/v2/images", json=dict(
        name="wsgi-host", disk_format="raw", container_format="bare",
        **extra))
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def _status(srv, image_id):
    return srv.request("GET", "/v2/images/%s" % image_id).json()["status"]


def _assert_image_holds(srv, image_id, data):
    md5, sha512 = _digests(data)
    image = srv.request("GET", "/v2/images/%s" % image_id).json()
    assert (image["status"], image["size"]) == ("active", len(data))
    assert (image["checksum"], image["os_hash_value"]) == (md5, sha512)
    resp = srv.request("GET", "/v2/images/%s/file" % image_id)
    assert resp.status_code == 200
    assert _digests(resp.content) == (md5, sha512)


@pytest.mark.parametrize("chunked", [False, True],
                         ids=["content-length", "chunked"])
def test_upload_then_download_keeps_every_byte(host, payload, chunked):
    image_id = _create(host)
    body = _chunks(payload) if chunked else payload
    resp = host.request("PUT", "/v2/images/%s/file" % image_id,
                        data=body, headers=OCTET, timeout=120)
    assert resp.status_code == 204, resp.text
    _assert_image_holds(host, image_id, payload)


@pytest.mark.parametrize("chunked", [False, True],
                         ids=["content-length", "chunked"])
def test_stage_and_import_keep_every_byte(host, payload, chunked):
    image_id = _create(host)
    body = _chunks(payload) if chunked else payload
    resp = host.request("PUT", "/v2/images/%s/stage" % image_id,
                        data=body, headers=OCTET, timeout=120)
    assert resp.status_code == 204, resp.text
    staged = host.request("GET", "/v2/images/%s" % image_id).json()
    assert (staged["status"], staged["size"]) == ("uploading", DATA_SIZE)
    resp = host.request("POST", "/v2/images/%s/import" % image_id,
                        json={"method": {"name": "glance-direct"}})
    assert resp.status_code == 202, resp.text
    wait_for(lambda: host.request("GET", "/v2/images/%s" % image_id)
             .json()["status"] == "active", timeout=60,
             message="the imported image to become active")
    _assert_image_holds(host, image_id, payload)


def test_chunked_json_body_is_read(host):
    body = b'{"name": "chunked-json", "disk_format": "raw", ' \
        b'"container_format": "bare"}'
    resp = host.request("POST", "/v2/images", data=_chunks(body, 9),
                        headers={"Content-Type": "application/json"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["name"] == "chunked-json"


def test_cut_off_chunked_upload_leaves_the_image_without_data(host):
    image_id = _create(host)
    request = (b"PUT /v2/images/%s/file HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/octet-stream\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n"
               b"100000\r\n" % image_id.encode()) + b"x" * 4096
    with socket.create_connection(("127.0.0.1", host.port)) as sock:
        sock.sendall(request)
        # not a status poll: it needs a free worker, and uwsgi's two may be
        # this held upload and another test's connection
        time.sleep(0.5)
    wait_for(lambda: _status(host, image_id) == "queued", timeout=30,
             message="the cut-off upload to be released")
    image = host.request("GET", "/v2/images/%s" % image_id).json()
    assert image["size"] is None and image["checksum"] is None


def test_chunk_uwsgi_cannot_read_is_refused_not_stored_empty(host, payload):
    # uwsgi refuses chunks over --chunked-input-limit (1 MiB by default)
    image_id = _create(host)
    resp = host.request("PUT", "/v2/images/%s/file" % image_id,
                        data=_chunks(payload, 2 * 1024 * 1024),
                        headers=OCTET, timeout=120)
    if host.host_server == "gunicorn":
        assert resp.status_code == 204, resp.text
        _assert_image_holds(host, image_id, payload)
        return
    assert resp.status_code == 400, resp.text
    assert "broke after 0 bytes" in resp.text
    image = host.request("GET", "/v2/images/%s" % image_id).json()
    assert (image["status"], image["size"]) == ("queued", None)


@pytest.mark.parametrize("host_server", ["uwsgi", "gunicorn"])
def test_no_usable_config_fails_at_load_with_one_line(tmp_path, host_server):
    srv = WsgiHostServer(tmp_path, host_server)
    missing = tmp_path / "nowhere"
    env = dict(os.environ, OS_GLANCE_CONFIG_DIR=str(missing))
    proc = subprocess.run(srv.command(), env=env, capture_output=True,
                          text=True, timeout=60, cwd=str(tmp_path))
    assert proc.returncode != 0
    lines = [line for line in (proc.stdout + proc.stderr).splitlines()
             if "cannot load the application" in line]
    assert lines, proc.stdout + proc.stderr
    assert "no glance-api.conf in %s" % missing in lines[0]
