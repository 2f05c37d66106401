"""The swift store against a real OpenStack Swift on 127.0.0.1.

glance-api runs with glance_store's swift driver (single tenant) as the
``swift1`` backend beside a file store ``local``, pointed at a
:class:`~tests.functional.swift_server.SwiftCluster` (proxy, account,
container and object servers over a temporary directory) through a
``swift_store_config_file`` reference, as operators configure it. Large
objects start at 5 MiB, in 1 MiB segments: a 12 MiB image is a
segmented object (a DLO manifest and its segments, as glance_store
writes them). The objects are checked with python-swiftclient.

Needs the test extra (``swift``, ``python-swiftclient``); without it the
module is skipped, except in CI (``CI`` set) where it must run.
"""
import hashlib
import os
import re
import socket
import sqlite3

import pytest

from tests.functional.apiclient import ADMIN, Api, OCTET, \
    identity_headers, new_project
from tests.functional.server import GlanceServer, wait_for
from tests.functional.swift_server import SwiftCluster, \
    swiftclient_or_skip

swiftclient = swiftclient_or_skip("the swift store tests")

KiB = 1024
MiB = 1024 * KiB
CONTAINER = "glance"
LARGE_OBJECT_SIZE = 5      # MiB: segmented from there on
SEGMENT = 1                # MiB


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with SwiftCluster(tmp_path_factory.mktemp("swift")) as c:
        yield c


@pytest.fixture(scope="module")
def conn(cluster):
    return cluster.connection()


def swift_options(cluster, config_dir, container=CONTAINER):
    config = cluster.write_store_config(config_dir / "glance-swift.conf")
    return {"swift_store_config_file": config,
            "default_swift_reference": "ref1",
            "swift_store_container": container,
            "swift_store_create_container_on_put": True,
            "swift_store_large_object_size": LARGE_OBJECT_SIZE,
            "swift_store_large_object_chunk_size": SEGMENT}


@pytest.fixture(scope="module")
def srv(tmp_path_factory, cluster):
    base = tmp_path_factory.mktemp("swift-glance")
    server = GlanceServer(base, flavor="trusted-auth", workers=1, conf={
        "DEFAULT": {"image_size_cap": 64 * MiB,
                    "enabled_backends": {"swift1": "swift",
                                         "local": "file"}},
        "glance_store": {"default_backend": "swift1"},
        "swift1": swift_options(cluster, base)})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(srv):
    api = Api(srv.url, new_project("swift"), ADMIN)
    yield api
    api.session.close()     # no idle connection to wait for at stop


def objects(conn, container=CONTAINER):
    try:
        listing = conn.get_container(container, full_listing=True)[1]
    except swiftclient.ClientException as e:
        if e.http_status == 404:
            return []
        raise
    return sorted(o["name"] for o in listing)


def of_image(conn, image_id, container=CONTAINER):
    """The objects of ``image_id``: the object and any segments."""
    return [name for name in objects(conn, container)
            if name.startswith(image_id)]


def segments(image_id, count):
    return ["%s-%05d" % (image_id, n) for n in range(1, count + 1)]


def new_image(api, disk_format="raw"):
    return api.create(disk_format=disk_format, container_format="bare")


def upload(api, image_id, data, store=None):
    headers = {"Content-Type": OCTET}
    if store:
        headers["X-Image-Meta-Store"] = store
    return api.put("/v2/images/%s/file" % image_id, data=data,
                   headers=headers)


def chunked(data, size=64 * KiB):
    """``data`` as an iterable: requests sends it chunked."""
    for start in range(0, len(data), size):
        yield data[start:start + size]


def check_active(api, image_id, data, stores="swift1"):
    got = api.image(image_id)
    assert got["status"] == "active", got
    assert sorted(got["stores"].split(",")) == sorted(stores.split(","))
    assert got["size"] == len(data)
    assert got["checksum"] == hashlib.md5(data).hexdigest()
    assert got["os_hash_algo"] == "sha512"
    assert got["os_hash_value"] == hashlib.sha512(data).hexdigest()
    return got


def download(api, image_id, data, **kw):
    r = api.get("/v2/images/%s/file" % image_id, **kw)
    assert r.status_code == 200, r.text
    assert r.headers["Content-MD5"] == hashlib.md5(data).hexdigest()
    assert hashlib.sha512(r.content).hexdigest() == \
        hashlib.sha512(data).hexdigest()


def check_range(srv, cluster, api, image_id, data, first, last):
    """A Range download: 206, the bytes, and Swift sent only those."""
    r = api.get("/v2/images/%s/file" % image_id,
                headers={"Range": "bytes=%d-%d" % (first, last)})
    assert r.status_code == 206, (r.text, srv.tail())
    assert r.content == data[first:last + 1]
    assert r.headers["Content-Range"] == "bytes %d-%d/%d" % (
        first, last, len(data))
    # the proxy's access log (written once glance closed the response):
    # the object GET answered 206 with just the range
    pattern = re.compile(r"GET /v1/AUTH_test/%s/%s HTTP/1.0 206 .* - %d - "
                         % (CONTAINER, image_id, last - first + 1))
    wait_for(lambda: pattern.search(cluster.log_text()), timeout=10,
             message="swift sending the range (%s)" % cluster.log_dir)


def location_of(srv, image_id):
    db = sqlite3.connect(srv.state_path / "glance.sqlite")
    try:
        return [row[0] for row in db.execute(
            "SELECT value FROM image_locations WHERE image_id = ? AND "
            "NOT deleted", (image_id,))]
    finally:
        db.close()


def delete(api, conn, image_id):
    assert api.delete("/v2/images/%s" % image_id).status_code == 204
    assert of_image(conn, image_id) == []


def test_upload_download_range_delete(srv, cluster, api, conn):
    data = os.urandom(300 * KiB + 7)
    img = new_image(api)
    r = upload(api, img["id"], data)
    assert r.status_code == 204, (r.text, srv.tail())
    check_active(api, img["id"], data)
    # below the large object size: one object, written with one PUT
    assert of_image(conn, img["id"]) == [img["id"]]
    headers, body = conn.get_object(CONTAINER, img["id"])
    assert body == data and "x-object-manifest" not in headers
    # the swift_store_config_file reference, no credentials, in the DB
    assert location_of(srv, img["id"]) == [
        "swift+config://ref1/%s/%s" % (CONTAINER, img["id"])]
    download(api, img["id"], data)
    check_range(srv, cluster, api, img["id"], data, 1000, 1999)
    r = api.get("/v2/images/%s/file" % img["id"],
                headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == data[-10:]
    delete(api, conn, img["id"])


def test_chunked_upload_is_segmented(srv, api, conn):
    # Size unknown: glance_store writes segments, the last one short.
    data = os.urandom(2 * MiB + 512 * KiB + 3)
    img = new_image(api)
    r = upload(api, img["id"], chunked(data))
    assert r.status_code == 204, (r.text, srv.tail())
    check_active(api, img["id"], data)
    assert of_image(conn, img["id"]) == [img["id"]] + segments(img["id"], 3)
    download(api, img["id"], data)
    delete(api, conn, img["id"])


def test_large_object(srv, cluster, api, conn):
    data = os.urandom(12 * MiB + 5)
    img = new_image(api)
    r = upload(api, img["id"], data)
    assert r.status_code == 204, (r.text, srv.tail())
    check_active(api, img["id"], data)
    # a DLO manifest and 13 segments of 1 MiB, the last one 5 bytes
    assert of_image(conn, img["id"]) == [img["id"]] + segments(img["id"],
                                                                13)
    head = conn.head_object(CONTAINER, img["id"])
    assert head["x-object-manifest"] == "%s/%s-" % (CONTAINER, img["id"])
    assert int(head["content-length"]) == len(data)
    download(api, img["id"], data)
    # across a segment boundary, and the last bytes
    check_range(srv, cluster, api, img["id"], data, 6 * MiB - 10,
                7 * MiB + 10)
    check_range(srv, cluster, api, img["id"], data, len(data) - 7,
                len(data) - 1)
    delete(api, conn, img["id"])


def send_part_of(server, api, image_id, length, sent):
    """PUT ``sent`` of ``length`` bytes, then hang up."""
    headers = dict(identity_headers(api.project, api.roles),
                   **{"Content-Type": OCTET, "Content-Length": length,
                      "Host": "%s:%d" % (server.host, server.port)})
    head = "PUT /v2/images/%s/file HTTP/1.1\r\n" % image_id + "".join(
        "%s: %s\r\n" % item for item in headers.items()) + "\r\n"
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(head.encode() + os.urandom(sent))


@pytest.mark.parametrize("length,sent", [(3 * MiB, MiB),
                                         (12 * MiB, 7 * MiB + 100)],
                         ids=["one-object", "segmented"])
def test_hang_up_mid_upload_leaves_nothing(srv, api, conn, length, sent):
    img = new_image(api)
    send_part_of(srv, api, img["id"], length, sent)
    # the body ends short: 400, once the driver has given up
    wait_for(lambda: '"PUT /v2/images/%s/file HTTP/1.1" 400' % img["id"]
             in srv.log_text(), timeout=30, message="the upload failing")
    wait_for(lambda: api.image(img["id"])["status"] == "queued",
             timeout=30, message="image queued")
    assert of_image(conn, img["id"]) == []
    # and the image still takes a good upload
    data = os.urandom(length)
    r = upload(api, img["id"], data)
    assert r.status_code == 204, (r.text, srv.tail())
    check_active(api, img["id"], data)
    download(api, img["id"], data)
    delete(api, conn, img["id"])


@pytest.mark.parametrize("length", [300 * KiB, 12 * MiB],
                         ids=["one-object", "segmented"])
def test_refused_upload_leaves_nothing(srv, api, conn, length):
    # The format check refuses the data while the driver sends it: the
    # single PUT is cut before it completes, the segments are removed.
    img = new_image(api, disk_format="qcow2")
    r = upload(api, img["id"], os.urandom(length))
    assert r.status_code == 415, (r.text, srv.tail())
    assert api.image(img["id"])["status"] == "queued"
    assert of_image(conn, img["id"]) == []


def tasks_of(api, image_id):
    r = api.get("/v2/images/%s/tasks" % image_id)
    assert r.status_code == 200, r.text
    return r.json()["tasks"]


def copy_image(api, image_id, store):
    r = api.post("/v2/images/%s/import" % image_id, json={
        "method": {"name": "copy-image"}, "stores": [store]})
    assert r.status_code == 202, r.text

    def done():
        tasks = tasks_of(api, image_id)
        if tasks and tasks[-1]["status"] in ("success", "failure"):
            return tasks[-1]
        return None
    task = wait_for(done, timeout=60, message="the copy-image task")
    assert task["status"] == "success", task["message"]


def local_file(srv, image_id):
    return srv.state_path / "images" / "local" / image_id


def test_copy_image_from_file_store_to_swift(srv, api, conn):
    data = os.urandom(6 * MiB + 1)
    img = new_image(api)
    r = upload(api, img["id"], data, store="local")
    assert r.status_code == 204, (r.text, srv.tail())
    assert of_image(conn, img["id"]) == []
    copy_image(api, img["id"], "swift1")
    check_active(api, img["id"], data, stores="local,swift1")
    assert of_image(conn, img["id"]) == [img["id"]] + segments(img["id"], 7)
    body = conn.get_object(CONTAINER, img["id"])[1]
    assert hashlib.sha512(body).digest() == hashlib.sha512(data).digest()
    # deleting the image deletes it in both stores
    assert local_file(srv, img["id"]).exists()
    delete(api, conn, img["id"])
    assert not local_file(srv, img["id"]).exists()


def test_copy_image_from_swift_to_file_store(srv, api, conn):
    data = os.urandom(200 * KiB)
    img = new_image(api)
    assert upload(api, img["id"], data).status_code == 204
    copy_image(api, img["id"], "local")
    check_active(api, img["id"], data, stores="local,swift1")
    assert local_file(srv, img["id"]).read_bytes() == data
    # the copy in the file store is served once swift's is gone
    conn.delete_object(CONTAINER, img["id"])
    download(api, img["id"], data)
    assert api.delete("/v2/images/%s" % img["id"]).status_code == 204
    assert not local_file(srv, img["id"]).exists()


def test_stores_info(api):
    r = api.get("/v2/info/stores")
    assert r.status_code == 200
    stores = {s["id"]: s for s in r.json()["stores"]}
    assert set(stores) >= {"swift1", "local"}
    assert stores["swift1"].get("default") == "true"     # as Glance


def test_single_store_swift(glance_server, cluster, conn, tmp_path):
    container = "glance-single"
    options = swift_options(cluster, tmp_path, container)
    options.update({"stores": ["swift", "file"], "default_store": "swift"})
    server = glance_server(flavor="trusted-auth", workers=1,
                           conf={"glance_store": options})
    api = Api(server.url, new_project("swift-single"), ADMIN)
    img = new_image(api)
    data = os.urandom(40 * KiB)
    r = upload(api, img["id"], data)
    assert r.status_code == 204, (r.text, server.tail())
    got = api.image(img["id"])
    assert got["status"] == "active" and "stores" not in got
    assert got["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert of_image(conn, img["id"], container) == [img["id"]]
    r = api.get("/v2/images/%s/file" % img["id"],
                headers={"Range": "bytes=10-"})
    assert r.status_code == 206 and r.content == data[10:]
    # the last request closes its connection: none left to wait for when
    # the server stops
    assert api.delete("/v2/images/%s" % img["id"], headers={
        "Connection": "close"}).status_code == 204
    assert of_image(conn, img["id"], container) == []


def test_http_client_header_limits_as_the_swift_client_sets_them(srv):
    # python-swiftclient, loaded with the swift store, lets http.client
    # (and so the daemon's head parser) take up to 256 headers
    headers = b"".join(b"X-Extra-%d: v\r\n" % i for i in range(150))
    with socket.create_connection((srv.host, srv.port), timeout=10) as s:
        s.sendall(b"GET /versions HTTP/1.1\r\nHost: x\r\n" + headers
                  + b"Connection: close\r\n\r\n")
        answer = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
