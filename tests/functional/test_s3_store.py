"""The s3 store against a local S3-compatible server (moto's).

glance-api runs with glance_store's s3 driver pointed at a
``ThreadedMotoServer`` on 127.0.0.1; the objects are checked with boto3
directly. The test needs the ``s3`` and ``test`` extras (boto3,
``moto[server]``); without them it is skipped, except in CI (``CI`` set)
where it must run.
"""
import hashlib
import os
import socket

import pytest

from tests.functional.apiclient import MEMBER, OCTET, Api, \
    identity_headers, new_project
from tests.functional.server import GlanceServer, free_port, wait_for

try:
    import boto3
    from moto.server import ThreadedMotoServer
except ImportError as e:  # pragma: no cover - depends on the extras
    if os.environ.get("CI"):
        raise
    pytest.skip("the s3 store tests need boto3 and moto[server] (pip "
                "install -e .[s3,test]): %s" % e, allow_module_level=True)

KiB = 1024
MiB = 1024 * KiB
CAP = 256 * KiB
BUCKET = "glance-images"
ACCESS_KEY = "AKIDGLANCETEST"
SECRET_KEY = "glance-test-secret"


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port,
                                verbose=False)
    server.start()
    yield "http://127.0.0.1:%d" % port
    server.stop()


@pytest.fixture(scope="module")
def s3(s3_endpoint):
    return boto3.client("s3", endpoint_url=s3_endpoint,
                        region_name="us-east-1",
                        aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY)


def s3_options(endpoint, bucket=BUCKET):
    return {"s3_store_host": endpoint,
            "s3_store_access_key": ACCESS_KEY,
            "s3_store_secret_key": SECRET_KEY,
            "s3_store_bucket": bucket,
            "s3_store_create_bucket_on_put": True}


@pytest.fixture(scope="module")
def srv(tmp_path_factory, s3_endpoint):
    server = GlanceServer(tmp_path_factory.mktemp("s3-store"),
                          flavor="trusted-auth", workers=1, conf={
                              "DEFAULT": {"image_size_cap": CAP,
                                          "enabled_backends": {
                                              "s3store": "s3",
                                              "local": "file"}},
                              "glance_store": {"default_backend": "local"},
                              "s3store": s3_options(s3_endpoint)})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(srv):
    return Api(srv.url, new_project("s3"), MEMBER)


@pytest.fixture(scope="module")
def big_srv(tmp_path_factory, s3_endpoint):
    """Multipart from 1 MiB in 5 MiB parts (S3's, and moto's, minimum
    part size but for the last)."""
    options = dict(s3_options(s3_endpoint), s3_store_large_object_size=1,
                   s3_store_large_object_chunk_size=5)
    server = GlanceServer(tmp_path_factory.mktemp("s3-multipart"),
                          flavor="trusted-auth", workers=1, conf={
                              "DEFAULT": {"image_size_cap": 64 * MiB,
                                          "enabled_backends": {
                                              "s3store": "s3"}},
                              "glance_store": {"default_backend": "s3store"},
                              "s3store": options})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def big_api(big_srv):
    return Api(big_srv.url, new_project("s3mp"), MEMBER)


def keys(s3, bucket=BUCKET):
    try:
        listing = s3.list_objects_v2(Bucket=bucket)
    except s3.exceptions.NoSuchBucket:
        return []
    return sorted(o["Key"] for o in listing.get("Contents", ()))


def new_image(api):
    return api.create(disk_format="raw", container_format="bare")


def upload(api, image_id, data, store=None):
    headers = {"Content-Type": OCTET}
    if store:
        headers["X-Image-Meta-Store"] = store
    return api.put("/v2/images/%s/file" % image_id, data=data,
                   headers=headers)


def test_upload_download_delete(srv, api, s3):
    data = os.urandom(100 * KiB + 7)
    img = new_image(api)
    r = upload(api, img["id"], data, store="s3store")
    assert r.status_code == 204, (r.text, srv.tail())
    got = api.image(img["id"])
    assert got["status"] == "active"
    assert got["stores"] == "s3store"
    assert got["size"] == len(data)
    assert got["checksum"] == hashlib.md5(data).hexdigest()
    assert got["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert img["id"] in keys(s3)
    body = s3.get_object(Bucket=BUCKET, Key=img["id"])["Body"].read()
    assert body == data
    r = api.get("/v2/images/%s/file" % img["id"])
    assert r.status_code == 200 and r.content == data
    r = api.get("/v2/images/%s/file" % img["id"],
                headers={"Range": "bytes=1000-1999"})
    assert r.status_code == 206, srv.tail()
    assert r.content == data[1000:2000]
    assert r.headers["Content-Range"] == "bytes 1000-1999/%d" % len(data)
    r = api.get("/v2/images/%s/file" % img["id"],
                headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == data[-10:]
    assert api.delete("/v2/images/%s" % img["id"]).status_code == 204
    assert img["id"] not in keys(s3)


def test_default_backend_stays_file(srv, api, s3):
    img = new_image(api)
    assert upload(api, img["id"], b"local data").status_code == 204
    assert api.image(img["id"])["stores"] == "local"
    assert img["id"] not in keys(s3)
    info = api.get("/v2/info/stores").json()["stores"]
    assert {s["id"] for s in info} >= {"s3store", "local"}


def test_upload_over_the_cap_leaves_no_object(srv, api, s3):
    img = new_image(api)

    def body():   # chunked: the cap is hit mid-stream, not up front
        for _ in range(CAP // (16 * KiB) + 4):
            yield b"x" * (16 * KiB)

    r = upload(api, img["id"], body(), store="s3store")
    assert r.status_code == 413, r.text
    assert api.image(img["id"])["status"] == "queued"
    assert img["id"] not in keys(s3)
    # and the image can still take a good upload afterwards
    assert upload(api, img["id"], b"ok", store="s3store").status_code == 204
    assert s3.get_object(Bucket=BUCKET,
                         Key=img["id"])["Body"].read() == b"ok"


def test_single_store_s3(glance_server, s3_endpoint, s3):
    bucket = "glance-single"
    options = s3_options(s3_endpoint, bucket)
    options.update({"stores": ["s3", "file"], "default_store": "s3"})
    server = glance_server(flavor="trusted-auth", workers=1,
                           conf={"glance_store": options})
    api = Api(server.url, new_project("s3s"), MEMBER)
    img = new_image(api)
    data = os.urandom(20 * KiB)
    r = upload(api, img["id"], data)
    assert r.status_code == 204, (r.text, server.tail())
    got = api.image(img["id"])
    assert got["status"] == "active" and "stores" not in got
    assert keys(s3, bucket) == [img["id"]]
    r = api.get("/v2/images/%s/file" % img["id"],
                headers={"Range": "bytes=10-"})
    assert r.status_code == 206 and r.content == data[10:]
    assert api.delete("/v2/images/%s" % img["id"]).status_code == 204
    assert keys(s3, bucket) == []


def uploads_of(s3, key):
    listing = s3.list_multipart_uploads(Bucket=BUCKET)
    return [u for u in listing.get("Uploads", ()) if u["Key"] == key]


def test_large_upload_is_multipart(big_srv, big_api, s3):
    data = os.urandom(11 * MiB + 5)
    img = new_image(big_api)
    r = upload(big_api, img["id"], data)
    assert r.status_code == 204, (r.text, big_srv.tail())
    got = big_api.image(img["id"])
    assert got["status"] == "active" and got["size"] == len(data)
    assert got["checksum"] == hashlib.md5(data).hexdigest()
    assert got["os_hash_value"] == hashlib.sha512(data).hexdigest()
    # a multipart object's ETag ends in its part count: 5 + 5 + 1 MiB
    head = s3.head_object(Bucket=BUCKET, Key=img["id"])
    assert head["ETag"].strip('"').endswith("-3")
    r = big_api.get("/v2/images/%s/file" % img["id"])
    assert r.status_code == 200 and r.content == data
    r = big_api.get("/v2/images/%s/file" % img["id"],
                    headers={"Range": "bytes=%d-%d" % (6 * MiB, 7 * MiB)})
    assert r.status_code == 206 and r.content == data[6 * MiB:7 * MiB + 1]
    assert r.headers["Content-Range"] == "bytes %d-%d/%d" % (
        6 * MiB, 7 * MiB, len(data))
    assert uploads_of(s3, img["id"]) == []


def send_part_of(server, api, image_id, length, sent):
    """PUT ``sent`` of ``length`` bytes, then hang up."""
    headers = dict(identity_headers(api.project, api.roles),
                   **{"Content-Type": OCTET, "Content-Length": length,
                      "Host": "%s:%d" % (server.host, server.port)})
    head = "PUT /v2/images/%s/file HTTP/1.1\r\n" % image_id + "".join(
        "%s: %s\r\n" % item for item in headers.items()) + "\r\n"
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(head.encode() + os.urandom(sent))


def test_interrupted_multipart_upload_leaves_nothing(big_srv, big_api, s3):
    img = new_image(big_api)
    send_part_of(big_srv, big_api, img["id"], 11 * MiB, 7 * MiB)
    wait_for(lambda: "Aborted the multipart upload" in big_srv.log_text(),
             timeout=30, message="the multipart upload aborted")
    wait_for(lambda: big_api.image(img["id"])["status"] == "queued",
             timeout=30, message="image queued")
    assert uploads_of(s3, img["id"]) == []
    assert img["id"] not in keys(s3)
    # the image still takes a good upload
    data = os.urandom(6 * MiB)
    r = upload(big_api, img["id"], data)
    assert r.status_code == 204, (r.text, big_srv.tail())
    assert s3.get_object(Bucket=BUCKET,
                         Key=img["id"])["Body"].read() == data


def test_refused_multipart_upload_leaves_nothing(big_srv, big_api, s3):
    # The format check refuses the data while the driver reads it.
    img = big_api.create(disk_format="qcow2", container_format="bare")
    r = upload(big_api, img["id"], os.urandom(11 * MiB))
    assert r.status_code == 415, (r.text, big_srv.tail())
    assert big_api.image(img["id"])["status"] == "queued"
    assert uploads_of(s3, img["id"]) == []
    assert img["id"] not in keys(s3)
