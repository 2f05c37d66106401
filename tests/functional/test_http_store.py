"""The read-only http store and the locations API (2.17).

A local HTTP server on 127.0.0.1 serves image files; locations pointing
at it are added with ``POST /v2/images/{id}/locations`` and the image is
downloaded through glance_store's http driver.
"""
import functools
import hashlib
import http.server
import os
import re
import threading

import pytest

from tests.functional.apiclient import MEMBER, OCTET, READER, Api, \
    new_project
from tests.functional.server import GlanceServer, wait_for

KiB = 1024
SERVICE = "service"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """``(base_url, directory)`` of a local HTTP server."""
    root = tmp_path_factory.mktemp("web")
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1], root
    httpd.shutdown()
    httpd.server_close()


class _Server(http.server.ThreadingHTTPServer):
    # Never wait for a request thread at teardown: a client that stops
    # reading must not hang the test session.
    daemon_threads = True
    block_on_close = False


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def publish(web, name, data):
    base, root = web
    (root / name).write_bytes(data)
    return "%s/%s" % (base, name)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = GlanceServer(tmp_path_factory.mktemp("http-store"),
                          flavor="trusted-auth", workers=1,
                          conf={"DEFAULT": {"image_location_quota": 1}})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def owner(srv):
    return Api(srv.url, new_project("own"), MEMBER)


def service_of(api):
    return Api(api.base_url, api.project, SERVICE)


def new_image(api):
    return api.create(disk_format="raw", container_format="bare")


def add_location(api, image_id, url, validation_data=None):
    body = {"url": url}
    if validation_data is not None:
        body["validation_data"] = validation_data
    return api.post("/v2/images/%s/locations" % image_id, json=body)


def wait_status(api, image_id, status):
    wait_for(lambda: api.image(image_id)["status"] == status, timeout=30,
             message="image %s" % status)
    return api.image(image_id)


def test_add_location_hashes_and_serves(srv, web, owner):
    data = os.urandom(300 * KiB + 3)
    url = publish(web, "cirros.raw", data)
    img = new_image(owner)
    r = add_location(owner, img["id"], url)
    assert r.status_code == 202, (r.text, srv.tail())
    got = wait_status(owner, img["id"], "active")
    assert got["size"] == len(data)
    assert got["checksum"] == hashlib.md5(data).hexdigest()
    assert got["os_hash_algo"] == "sha512"
    assert got["os_hash_value"] == hashlib.sha512(data).hexdigest()
    r = owner.get("/v2/images/%s/file" % img["id"])
    assert r.status_code == 200 and r.content == data
    r = owner.get("/v2/images/%s/file" % img["id"],
                  headers={"Range": "bytes=100-199"})
    assert r.status_code == 206, (r.text, srv.tail())
    assert r.content == data[100:200]
    # only service users may list the locations
    assert owner.get("/v2/images/%s/locations"
                     % img["id"]).status_code == 403
    r = service_of(owner).get("/v2/images/%s/locations" % img["id"])
    assert r.status_code == 200
    assert r.json() == [{"url": url, "metadata": {}}]
    # the image is active now: no more locations
    r = add_location(owner, img["id"], url)
    assert r.status_code == 409
    # deleting the image leaves the remote data alone
    assert owner.delete("/v2/images/%s" % img["id"]).status_code == 204
    assert (web[1] / "cirros.raw").read_bytes() == data
    assert "orphaned" not in srv.log_text()


def test_validation_data_in_another_algorithm(srv, web, owner):
    # Glance hashes the data with the algorithm validation_data names
    data = b"sha256 validated" * 100
    url = publish(web, "sha256.raw", data)
    img = new_image(owner)
    given = {"os_hash_algo": "sha256",
             "os_hash_value": hashlib.sha256(data).hexdigest()}
    r = add_location(service_of(owner), img["id"], url, given)
    assert r.status_code == 202, r.text
    got = wait_status(owner, img["id"], "active")
    assert (got["os_hash_algo"], got["os_hash_value"]) == (
        "sha256", given["os_hash_value"])
    assert got["checksum"] == hashlib.md5(data).hexdigest()


def test_validation_data(srv, web, owner):
    data = b"validated data" * 100
    url = publish(web, "validated.raw", data)
    img = new_image(owner)
    good = {"os_hash_algo": "sha512",
            "os_hash_value": hashlib.sha512(data).hexdigest(),
            "checksum": hashlib.md5(data).hexdigest()}
    r = add_location(service_of(owner), img["id"], url, good)
    assert r.status_code == 202, r.text
    assert wait_status(owner, img["id"], "active")["size"] == len(data)
    # a hash that does not match: back to queued, no location
    img = new_image(owner)
    bad = dict(good, os_hash_value="0" * 128)
    assert add_location(owner, img["id"], url, bad).status_code == 202
    wait_for(lambda: "does not match" in srv.log_text()
             or "validation_data says" in srv.log_text(), timeout=30,
             message="the mismatch logged")
    got = wait_status(owner, img["id"], "queued")
    assert got["checksum"] is None and got["size"] is None
    r = service_of(owner).get("/v2/images/%s/locations" % img["id"])
    assert r.json() == []
    (task,) = wait_tasks(owner, img["id"], "failure")
    assert task["type"] == "location_import"
    assert "validation_data says" in task["message"]


def wait_tasks(api, image_id, status):
    """The image's tasks once they all reached ``status`` (Tempest waits
    on them so)."""
    def done():
        tasks = api.get("/v2/images/%s/tasks" % image_id).json()["tasks"]
        return tasks if tasks and all(t["status"] == status
                                      for t in tasks) else None
    return wait_for(done, timeout=30, message="tasks %s" % status)


def test_location_import_task(srv, web, owner):
    data = b"tasked" * 1000
    url = publish(web, "tasked.raw", data)
    img = new_image(owner)
    assert add_location(owner, img["id"], url).status_code == 202
    (task,) = wait_tasks(owner, img["id"], "success")
    assert task["type"] == "location_import"
    assert task["input"]["loc_url"] == url
    # the image is active once its task says so
    assert owner.image(img["id"])["status"] == "active"


@pytest.mark.parametrize("body,status", [
    ({"url": "ftp://127.0.0.1/x"}, 400),
    ({"url": "file:///etc/passwd"}, 400),
    ({"url": "http://127.0.0.1:1/nothing"}, 400),
    ({"url": 7}, 400),
    ({}, 400),
    ({"url": "http://x/y", "extra": 1}, 400),
    ({"url": "http://x/y", "validation_data": {"os_hash_algo": "sha384",
                                               "os_hash_value": "0" * 96}},
     400),
    ({"url": "http://x/y", "validation_data": {"checksum": "xyz"}}, 400),
])
def test_bad_requests(srv, owner, body, status):
    img = new_image(owner)
    r = owner.post("/v2/images/%s/locations" % img["id"], json=body)
    assert r.status_code == status, r.text
    assert owner.image(img["id"])["status"] == "queued"


def test_missing_remote_data(srv, web, owner):
    img = new_image(owner)
    r = add_location(owner, img["id"], web[0] + "/no-such-file")
    assert r.status_code == 400
    assert owner.image(img["id"])["status"] == "queued"


def test_policy(srv, web, owner):
    url = publish(web, "policy.raw", b"p" * 10)
    img = new_image(owner)
    other = Api(srv.url, new_project("other"), MEMBER)
    assert add_location(other, img["id"], url).status_code == 404
    reader = owner.as_role(READER)
    assert add_location(reader, img["id"], url).status_code == 403
    assert owner.image(img["id"])["status"] == "queued"


def test_location_quota(glance_server, web):
    server = glance_server(flavor="trusted-auth", workers=1,
                           conf={"DEFAULT": {"image_location_quota": 0}})
    api = Api(server.url, new_project("q"), MEMBER)
    img = new_image(api)
    url = publish(web, "quota.raw", b"q" * 10)
    assert add_location(api, img["id"], url).status_code == 413
    assert api.image(img["id"])["status"] == "queued"


def test_multi_store_http_backend(glance_server, web, tmp_path):
    server = glance_server(flavor="trusted-auth", workers=1, conf={
        "DEFAULT": {"enabled_backends": {"local": "file", "web": "http"}},
        "glance_store": {"default_backend": "local"},
        "local": {"filesystem_store_datadir": tmp_path / "local"}})
    api = Api(server.url, new_project("mh"), MEMBER)
    data = b"multi-store http" * 64
    url = publish(web, "multi.raw", data)
    img = new_image(api)
    assert add_location(api, img["id"], url).status_code == 202
    got = wait_status(api, img["id"], "active")
    assert got["stores"] == "web"
    assert got["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert api.get("/v2/images/%s/file" % img["id"]).content == data
    r = service_of(api).get("/v2/images/%s/locations" % img["id"])
    assert r.json() == [{"url": url, "metadata": {"store": "web"}}]
    # the http store is read-only: uploads to it are refused
    other = new_image(api)
    r = api.put("/v2/images/%s/file" % other["id"], data=b"x",
                headers={"Content-Type": OCTET,
                         "X-Image-Meta-Store": "web"})
    assert r.status_code == 410, r.text
    assert api.image(other["id"])["status"] == "queued"
    # ... said so in the stores list, and left out of all_stores
    stores = {s["id"]: s for s in api.get("/v2/info/stores").json()["stores"]}
    assert stores["web"]["read-only"] == "true"
    assert "read-only" not in stores["local"]
    assert api.put("/v2/images/%s/stage" % other["id"], data=data,
                   headers={"Content-Type": OCTET}).status_code == 204
    r = api.post("/v2/images/%s/import" % other["id"], json={
        "method": {"name": "glance-direct"}, "all_stores": True})
    assert r.status_code == 202, r.text
    done = wait_status(api, other["id"], "active")
    assert done["stores"] == "local"
    assert "os_glance_failed_import" not in done or \
        done["os_glance_failed_import"] == ""
    assert api.delete("/v2/images/%s" % img["id"]).status_code == 204
    assert (web[1] / "multi.raw").read_bytes() == data


def test_no_http_store(glance_server, web):
    server = glance_server(flavor="trusted-auth", workers=1,
                           conf={"glance_store": {"stores": ["file"]}})
    api = Api(server.url, new_project("nh"), MEMBER)
    img = new_image(api)
    r = add_location(api, img["id"], publish(web, "nh.raw", b"n"))
    assert r.status_code == 403   # as Glance answers
    assert "http store must be enabled" in r.text


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files``; honours a Range under /ranged/ only, and
    records every Range header it gets in ``server.ranges``."""

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self._answer(send_body=False)

    def do_GET(self):
        self._answer(send_body=True)

    def _answer(self, send_body):
        data = self.server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        asked = self.headers.get("Range")
        self.server.ranges.append((self.path, asked))
        match = re.match(r"bytes=(\d+)-(\d*)$", asked or "")
        if match and self.path.startswith("/ranged/"):
            first = int(match.group(1))
            last = min(int(match.group(2) or len(data) - 1), len(data) - 1)
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d"
                             % (first, last, len(data)))
            data = data[first:last + 1]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if send_body:
            self.wfile.write(data)


@pytest.fixture(scope="module")
def range_web():
    httpd = _Server(("127.0.0.1", 0), _RangeHandler)
    httpd.files, httpd.ranges = {}, []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("kind", ["ranged", "plain"])
def test_range_from_the_http_store(srv, range_web, owner, kind):
    data = os.urandom(200 * KiB + 1)
    path = "/%s/image-%s.raw" % (kind, kind)
    range_web.files[path] = data
    url = "http://127.0.0.1:%d%s" % (range_web.server_address[1], path)
    img = new_image(owner)
    assert add_location(owner, img["id"], url).status_code == 202
    wait_status(owner, img["id"], "active")
    r = owner.get("/v2/images/%s/file" % img["id"],
                  headers={"Range": "bytes=1000-1999"})
    assert r.status_code == 206, (r.text, srv.tail())
    assert r.content == data[1000:2000]
    assert r.headers["Content-Range"] == "bytes 1000-1999/%d" % len(data)
    r = owner.get("/v2/images/%s/file" % img["id"],
                  headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == data[-10:]
    # glance asked the store for the ranges: served as such under
    # /ranged/; ignored under /plain/, where glance read the whole image
    # again (without a Range) and cut it
    asked = [rng for p, rng in range_web.ranges if p == path]
    ranges = [rng for rng in asked if rng]
    assert ranges == ["bytes=1000-1999", "bytes=%d-%d" % (len(data) - 10,
                                                          len(data) - 1)]
    whole_reads = 2 if kind == "ranged" else 4   # + the location's check
    assert asked.count(None) == whole_reads
