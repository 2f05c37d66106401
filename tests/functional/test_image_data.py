"""Image data against the real daemon: upload, download, Range, stage,
limits, format refusals, disconnects, a killed worker, multi-store."""
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import time
import uuid

import pytest
import requests

from tests.functional.apiclient import Api, MEMBER, OCTET, \
    new_project
from tests.functional.server import GlanceServer, wait_for

KiB = 1024
MiB = 1024 * KiB
CAP = 2 * MiB
DATA = bytes(range(256)) * 40  # 10240 bytes


def md5(data):
    return hashlib.md5(data).hexdigest()


def sha512(data):
    return hashlib.sha512(data).hexdigest()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = GlanceServer(tmp_path_factory.mktemp("image-data"),
                          flavor="trusted-auth", workers=2,
                          conf={"DEFAULT": {"image_size_cap": CAP}})
    server.start()
    yield server
    server.stop()


def datadir(server, store=None):
    path = server.state_path / "images"
    return path / store if store else path


def stored(server, store=None):
    path = datadir(server, store)
    return sorted(os.listdir(path)) if path.is_dir() else []


def staged(server):
    path = server.state_path / "staging"
    return sorted(os.listdir(path)) if path.is_dir() else []


def new_image(api, **props):
    props.setdefault("disk_format", "raw")
    props.setdefault("container_format", "bare")
    return api.create(**props)


def upload(api, image_id, data, content_type=OCTET, headers=None,
           what="file"):
    all_headers = {"Content-Type": content_type}
    all_headers.update(headers or {})
    return api.put("/v2/images/%s/%s" % (image_id, what), data=data,
                   headers=all_headers)


def download(api, image_id, **kw):
    return api.get("/v2/images/%s/file" % image_id, **kw)


def raw_upload(server, api, image_id, body, length=None, chunked=False,
               framed=False):
    """A socket that has sent the request line, headers and ``body``
    (chunked: the start of one chunk longer than ``body``, unless the
    body is ``framed`` already)."""
    sock = socket.create_connection((server.host, server.port))
    lines = ["PUT /v2/images/%s/file HTTP/1.1" % image_id,
             "Host: %s:%d" % (server.host, server.port),
             "Content-Type: %s" % OCTET]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        if not framed:   # a chunk cut short
            body = b"%x\r\n" % (len(body) + 1000) + body
    else:
        lines.append("Content-Length: %d" % length)
    lines += ["X-Identity-Status: Confirmed",
              "X-Project-Id: %s" % api.project, "X-User-Id: u",
              "X-Roles: %s" % api.roles]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return sock


def wait_status(api, image_id, status, timeout=10):
    return wait_for(lambda: api.image(image_id)["status"] == status,
                    timeout=timeout, message="image %s" % status)


def qcow2(virtual_size=1 << 30, backing_file=None, length=64 * KiB):
    """A qcow2 v3 header (no qemu-img needed)."""
    header = bytearray(length)
    offset = 0x200 if backing_file else 0
    struct.pack_into(">4sIQIIQ", header, 0, b"QFI\xfb", 3, offset,
                     len(backing_file or b""), 16, virtual_size)
    struct.pack_into(">QQQII", header, 0x48, 0, 0, 0, 4, 104)
    if backing_file:
        header[0x200:0x200 + len(backing_file)] = backing_file
    return bytes(header)


# --- round trip ---

def test_upload_download_round_trip(srv, p1):
    data = os.urandom(CAP - 12345)
    img = new_image(p1)
    r = upload(p1, img["id"], data)
    assert r.status_code == 204 and r.content == b""
    got = p1.image(img["id"])
    assert got["status"] == "active"
    assert got["size"] == got["virtual_size"] == len(data)
    assert got["checksum"] == md5(data)
    assert got["os_hash_algo"] == "sha512"
    assert got["os_hash_value"] == sha512(data)
    assert "stores" not in got           # single store
    assert img["id"] in stored(srv)
    r = download(p1, img["id"])
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Length"] == str(len(data))
    assert r.headers["Content-MD5"] == md5(data)


def test_chunked_upload(srv, p1):
    img = new_image(p1)

    def body():
        for i in range(50):
            yield bytes([65 + i % 26]) * 1000

    expected = b"".join(body())
    assert upload(p1, img["id"], body()).status_code == 204
    got = p1.image(img["id"])
    assert got["size"] == len(expected) and got["checksum"] == md5(expected)
    assert download(p1, img["id"]).content == expected


def test_upload_with_malformed_chunk_lines_400(srv, p1):
    """A chunk longer than its size line says: refused, nothing stored
    (eventlet alone would drop the extra bytes and store the rest)."""
    img = new_image(p1)
    sock = raw_upload(srv, p1, img["id"],
                      b"5\r\nhelloXX\r\n5\r\nworld\r\n0\r\n\r\n",
                      chunked=True, framed=True)
    with sock:
        sock.settimeout(10)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert p1.image(img["id"])["status"] == "queued"
    assert img["id"] not in stored(srv)


def test_zero_byte_upload(p1):
    img = new_image(p1)
    assert upload(p1, img["id"], b"").status_code == 204
    got = p1.image(img["id"])
    assert got["status"] == "active" and got["size"] == 0
    assert got["checksum"] == md5(b"")
    r = download(p1, img["id"])
    assert r.status_code == 200 and r.content == b""


# --- Range ---

@pytest.fixture(scope="module")
def active(srv):
    api = Api(srv.url, new_project("rng"), MEMBER)
    img = new_image(api)
    assert upload(api, img["id"], DATA).status_code == 204
    return api, img["id"]


@pytest.mark.parametrize("rng,first,last", [
    ("bytes=0-9", 0, 9), ("bytes=10-", 10, 10239), ("bytes=-5", 10235, 10239),
    ("bytes=0-0", 0, 0), ("bytes=10235-10300", 10235, 10239),
    ("bytes=-20000", 0, 10239),
])
def test_range_206(active, rng, first, last):
    api, image_id = active
    r = download(api, image_id, headers={"Range": rng})
    assert r.status_code == 206
    assert r.headers["Content-Range"] == "bytes %d-%d/10240" % (first, last)
    assert r.headers["Content-Length"] == str(last - first + 1)
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.content == DATA[first:last + 1]


@pytest.mark.parametrize("rng,text", [
    ("bytes=10240-", "MUST be in the inclusive range [0, 10239]"),
    ("bytes=20000-30000", "MUST be in the inclusive range [0, 10239]"),
    ("bytes=5-2", "Invalid Range header"),
    ("bytes=abc", "Invalid Range header"),
    ("items=0-1", "Invalid Range header"),
    ("bytes=-0", "not satisfiable"),
])
def test_range_416(active, rng, text):
    api, image_id = active
    r = download(api, image_id, headers={"Range": rng})
    assert r.status_code == 416
    assert text in r.text


def test_multiple_ranges_400(active):
    api, image_id = active
    r = download(api, image_id, headers={"Range": "bytes=0-1,5-6"})
    assert r.status_code == 400
    assert "multiple ranges are not supported" in r.text


# --- status answers ---

def test_download_without_data_204(p1):
    img = new_image(p1)
    r = download(p1, img["id"])
    assert r.status_code == 204 and r.content == b""
    assert "Content-MD5" not in r.headers


def test_second_upload_409(active):
    api, image_id = active
    r = upload(api, image_id, b"again")
    assert r.status_code == 409
    assert "transition from active to saving" in r.text
    assert api.image(image_id)["checksum"] == md5(DATA)


@pytest.mark.parametrize("ct", ["application/json", "text/plain"])
def test_wrong_content_type_415(srv, p1, ct):
    img = new_image(p1)
    r = upload(p1, img["id"], b"abc", content_type=ct)
    assert r.status_code == 415
    assert "Invalid content type" in r.text
    assert p1.image(img["id"])["status"] == "queued"
    assert img["id"] not in stored(srv)


def test_upload_without_formats_400(p1):
    img = p1.create(name="noformat")
    r = upload(p1, img["id"], b"abc")
    assert r.status_code == 400
    assert "disk_format, container_format must be set" in r.text
    assert p1.image(img["id"])["status"] == "queued"


def test_permissions(srv, p1):
    img = new_image(p1, visibility="private")
    other = Api(srv.url, new_project("p2"), MEMBER)
    assert upload(other, img["id"], b"x").status_code == 404
    r = upload(p1.as_role("reader"), img["id"], b"x")
    assert r.status_code == 403 and "upload_image" in r.text
    assert upload(p1, img["id"], b"x").status_code == 204
    assert download(other, img["id"]).status_code == 404
    r = download(p1.as_role("reader"), img["id"])
    assert r.status_code == 403 and "download_image" in r.text
    assert download(p1, str(uuid.uuid4())).status_code == 404


def test_deactivated_download_403_for_non_admin(p1, admin):
    img = new_image(p1)
    assert upload(p1, img["id"], b"secret").status_code == 204
    r = p1.post("/v2/images/%s/actions/deactivate" % img["id"])
    assert r.status_code == 204
    r = download(p1, img["id"])
    assert r.status_code == 403 and "deactivated" in r.text
    assert download(admin, img["id"]).content == b"secret"
    r = upload(p1, img["id"], b"x")
    assert r.status_code == 409
    assert "deactivated to saving" in r.text


def test_head_on_file_405(active):
    api, image_id = active
    r = api.request("HEAD", "/v2/images/%s/file" % image_id)
    assert r.status_code == 405 and r.headers["Allow"] == "GET, PUT"


# --- limits, refusals and disconnects: back to queued, nothing stored ---

def test_size_cap_413(srv, p1):
    img = new_image(p1)
    r = upload(p1, img["id"], b"x" * (CAP + 1))
    assert r.status_code == 413
    assert "too large" in r.text
    assert p1.image(img["id"])["status"] == "queued"
    assert img["id"] not in stored(srv)
    r = upload(p1, img["id"], (b"y" * 100 * KiB for _ in range(30)))
    assert r.status_code == 413
    assert p1.image(img["id"])["status"] == "queued"
    assert img["id"] not in stored(srv)
    assert upload(p1, img["id"], b"fits").status_code == 204


def test_format_refusals_415(srv, p1):
    cases = [("qcow2", qcow2(backing_file=b"/etc/passwd"), "backing_file"),
             ("raw", qcow2(), "qcow2 format"),
             ("qcow2", os.urandom(100 * KiB), "declared disk_format qcow2")]
    for disk_format, data, text in cases:
        img = new_image(p1, disk_format=disk_format)
        r = upload(p1, img["id"], data)
        assert r.status_code == 415, (disk_format, text, r.text)
        assert text in r.text
        assert p1.image(img["id"])["status"] == "queued"
        assert img["id"] not in stored(srv)


def test_qcow2_virtual_size(p1):
    img = new_image(p1, disk_format="qcow2")
    assert upload(p1, img["id"], qcow2(virtual_size=7 << 30)).status_code \
        == 204
    got = p1.image(img["id"])
    assert got["virtual_size"] == 7 << 30 and got["size"] == 64 * KiB


@pytest.mark.skipif(shutil.which("qemu-img") is None
                    and not os.environ.get("CI"),
                    reason="qemu-img is not installed (apt qemu-utils)")
def test_images_made_by_qemu_img(srv, p1, tmp_path):
    def make(name, *args):
        path = tmp_path / name
        subprocess.run(["qemu-img", "create", "-q"] + list(args) +
                       [str(path)] + (["10M"] if "-b" not in args else []),
                       check=True)
        return path.read_bytes()

    base = make("base.qcow2", "-f", "qcow2")
    overlay = make("overlay.qcow2", "-f", "qcow2", "-b",
                   str(tmp_path / "base.qcow2"), "-F", "qcow2")
    vmdk = make("disk.vmdk", "-f", "vmdk", "-o",
                "subformat=streamOptimized")
    for disk_format, data, code in [("qcow2", base, 204),
                                    ("qcow2", overlay, 415),
                                    ("vmdk", vmdk, 204),
                                    ("raw", base, 415)]:
        img = new_image(p1, disk_format=disk_format)
        r = upload(p1, img["id"], data)
        assert r.status_code == code, (disk_format, r.text)
        got = p1.image(img["id"])
        if code == 204:
            assert got["virtual_size"] == 10 * MiB
        else:
            assert got["status"] == "queued"
            assert img["id"] not in stored(srv)


@pytest.mark.parametrize("chunked", [False, True])
def test_client_disconnect_mid_upload(srv, p1, chunked):
    img = new_image(p1)
    sock = raw_upload(srv, p1, img["id"], b"z" * 300 * KiB,
                      length=CAP, chunked=chunked)
    wait_status(p1, img["id"], "saving")
    sock.close()
    wait_status(p1, img["id"], "queued")
    wait_for(lambda: img["id"] not in stored(srv), message="no file")
    # a saving image refuses a second upload; a queued one takes it
    assert upload(p1, img["id"], b"whole").status_code == 204


def test_upload_while_saving_409(srv, p1):
    img = new_image(p1)
    sock = raw_upload(srv, p1, img["id"], b"z" * 1000, length=10000)
    try:
        wait_status(p1, img["id"], "saving")
        r = upload(p1, img["id"], b"other")
        assert r.status_code == 409 and "saving to saving" in r.text
        sock.sendall(b"z" * 9000)
        reply = sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 204")
    finally:
        sock.close()
    assert p1.image(img["id"])["size"] == 10000


def test_worker_killed_mid_upload_recovers(glance_server):
    """The whole node dies mid-upload (the supervisor with its worker):
    no one releases the image, so it stays saving until the stall
    timeout, then a new upload takes it over. (A worker dying alone is
    released at once: test_server_faults.py.)"""
    stall = 10
    server = glance_server(flavor="trusted-auth", workers=1,
                           conf={"DEFAULT": {"saving_stall_timeout": stall}})
    api = Api(server.url, new_project("kill"), MEMBER)
    img = new_image(api)
    # the upload claims the image after this: it stalls no sooner than
    # ``stall`` seconds later
    started = time.monotonic()
    sock = raw_upload(server, api, img["id"], b"k" * 200 * KiB,
                      length=MiB)
    wait_status(api, img["id"], "saving")
    wait_for(lambda: img["id"] in stored(server), message="partial file")
    server.kill()
    sock.close()
    server.start()
    assert api.image(img["id"])["status"] == "saving"      # as left
    r = upload(api, img["id"], b"retry")
    if time.monotonic() - started < stall:
        assert r.status_code == 409                         # not stalled yet
    # (else a loaded machine took the stall time to restart the server)
    # past the stall timeout a new upload takes the image over
    if r.status_code != 204:
        wait_for(lambda: upload(api, img["id"], b"retry").status_code
                 == 204, timeout=30, interval=0.5, message="upload takeover")
    got = api.image(img["id"])
    assert got["status"] == "active" and got["checksum"] == md5(b"retry")
    assert (datadir(server) / img["id"]).read_bytes() == b"retry"
    assert "taking over its upload" in server.log_text()


# --- download failures ---

def test_truncated_store_data_breaks_the_download(srv, p1):
    data = os.urandom(CAP)
    img = new_image(p1)
    assert upload(p1, img["id"], data).status_code == 204
    os.truncate(datadir(srv) / img["id"], MiB + 10)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        download(p1, img["id"])
    assert "delivered" in srv.log_text()


def test_missing_store_data_410(srv, p1):
    img = new_image(p1)
    assert upload(p1, img["id"], b"gone soon").status_code == 204
    os.unlink(datadir(srv) / img["id"])
    r = download(p1, img["id"])
    assert r.status_code == 410
    assert "data is missing at file://" in srv.log_text()


# --- deletion ---

def test_delete_removes_data(srv, p1):
    img = new_image(p1)
    assert upload(p1, img["id"], b"bye").status_code == 204
    assert img["id"] in stored(srv)
    assert p1.delete("/v2/images/%s" % img["id"]).status_code == 204
    assert img["id"] not in stored(srv)


# --- stage ---

def test_stage(srv, p1):
    img = new_image(p1)
    r = upload(p1, img["id"], DATA, what="stage")
    assert r.status_code == 204 and r.content == b""
    got = p1.image(img["id"])
    assert got["status"] == "uploading"
    assert got["size"] == len(DATA) and got["checksum"] is None
    assert img["id"] in staged(srv) and img["id"] not in stored(srv)
    r = upload(p1, img["id"], DATA, what="stage")
    assert r.status_code == 409 and "uploading to uploading" in r.text
    r = upload(p1, img["id"], DATA)
    assert r.status_code == 409 and "uploading to saving" in r.text
    assert download(p1, img["id"]).status_code == 204
    assert p1.delete("/v2/images/%s" % img["id"]).status_code == 204
    assert img["id"] not in staged(srv)


def test_stage_checks(srv, p1):
    img = new_image(p1, disk_format="qcow2")
    r = upload(p1, img["id"], qcow2(backing_file=b"x"), what="stage")
    assert r.status_code == 415
    r = upload(p1, img["id"], b"x" * (CAP + 1), what="stage")
    assert r.status_code == 413
    r = upload(p1, img["id"], b"x", content_type="text/plain", what="stage")
    assert r.status_code == 415
    assert p1.image(img["id"])["status"] == "queued"
    assert img["id"] not in staged(srv)


# --- quota ---

def test_user_storage_quota(glance_server):
    server = glance_server(flavor="trusted-auth", workers=1,
                           conf={"DEFAULT": {"user_storage_quota": "10KB"}})
    api = Api(server.url, new_project("quota"), MEMBER)
    first = new_image(api)
    assert upload(api, first["id"], b"a" * 8 * KiB).status_code == 204
    second = new_image(api)
    r = upload(api, second["id"], b"b" * 4 * KiB)
    assert r.status_code == 413 and "quota" in r.text
    r = upload(api, second["id"], (b"b" * KiB for _ in range(4)))
    assert r.status_code == 413
    assert api.image(second["id"])["status"] == "queued"
    assert stored(server) == [first["id"]]
    assert upload(api, second["id"], b"b" * 2 * KiB).status_code == 204


# --- multi-store ---

def test_multi_store(glance_server, tmp_path):
    server = glance_server(flavor="trusted-auth", workers=1, conf={
        "DEFAULT": {"enabled_backends": {"fast": "file", "slow": "file"}},
        "glance_store": {"default_backend": "fast"},
        "fast": {"filesystem_store_datadir": tmp_path / "images" / "fast"},
        "slow": {"filesystem_store_datadir": tmp_path / "images" / "slow"}})
    server.state_path = tmp_path    # where stored() looks
    api = Api(server.url, new_project("ms"), MEMBER)
    img = new_image(api)
    r = upload(api, img["id"], b"slow data",
               headers={"X-Image-Meta-Store": "slow"})
    assert r.status_code == 204, r.text
    assert api.image(img["id"])["stores"] == "slow"
    assert stored(server, "slow") == [img["id"]]
    assert stored(server, "fast") == []
    assert download(api, img["id"]).content == b"slow data"
    other = new_image(api)
    assert upload(api, other["id"], b"fast data").status_code == 204
    assert api.image(other["id"])["stores"] == "fast"
    assert stored(server, "fast") == [other["id"]]
    for bad in ("nope", "os_glance_staging_store"):
        third = new_image(api)
        r = upload(api, third["id"], b"x",
                   headers={"X-Image-Meta-Store": bad})
        assert r.status_code == 400 and bad in r.text
        assert api.image(third["id"])["status"] == "queued"
    assert api.delete("/v2/images/%s" % img["id"]).status_code == 204
    assert stored(server, "slow") == []
    r = upload(api, new_image(api)["id"], DATA, what="stage")
    assert r.status_code == 204


def test_data_intact_with_direct_io_off(glance_server):
    server = glance_server(flavor="trusted-auth", workers=1,
                           conf={"DEFAULT": {"data_direct_io": False}})
    api = Api(server.url, new_project("nodirect"), MEMBER)
    data = os.urandom(5 * MiB + 3)
    img = new_image(api)
    assert upload(api, img["id"], data).status_code == 204
    got = api.image(img["id"])
    assert got["status"] == "active" and got["checksum"] == md5(data)
    assert download(api, img["id"]).content == data
    assert (datadir(server) / img["id"]).read_bytes() == data
