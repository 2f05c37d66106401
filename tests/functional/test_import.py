"""Interoperable image import against the real daemon: glance-direct,
web-download (from a local HTTP server), copy-image, multi-store
failures, plugins, and the tasks API."""
import hashlib
import os
import shutil
import signal
import struct
import subprocess
import sys
import uuid

import pytest
import requests

from tests.functional.apiclient import Api, MEMBER, OCTET, \
    new_project
from tests.functional.server import GlanceServer, free_port, wait_for

KiB = 1024
CAP = 256 * KiB
DATA = os.urandom(40 * KiB)


def md5(data):
    return hashlib.md5(data).hexdigest()


def sha512(data):
    return hashlib.sha512(data).hexdigest()


def qcow2(virtual_size=1 << 20, length=64 * KiB):
    header = bytearray(length)
    struct.pack_into(">4sIQIIQ", header, 0, b"QFI\xfb", 3, 0, 0, 16,
                     virtual_size)
    struct.pack_into(">QQQII", header, 0x48, 0, 0, 0, 4, 104)
    return bytes(header)


# A small web server for web-download, run as its own process: the test
# process may be monkey-patched by eventlet (an in-process thread server
# then stalls). It serves the files of a directory; "/chunked*" without
# Content-Length; "/redirect?to=URL" redirects.
WEB_SERVER = r"""
import http.server, os, sys, time
root, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", str(200 * 1024))
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b"s" * 1024)
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
            return
        if path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query.split("=", 1)[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        name = os.path.join(root, path.lstrip("/"))
        if not path.strip("/") or not os.path.isfile(name):
            self.send_error(404)
            return
        with open(name, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if not path.startswith("/chunked"):
            self.send_header("Content-Length", str(len(body)))
        else:
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
"""


class Web(str):
    """The base URL of the web server; ``publish`` adds a file."""

    root = None

    def publish(self, name, data):
        (self.root / name).write_bytes(data)


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    for name, data in {"data": DATA, "big": os.urandom(CAP + KiB),
                       "chunked": os.urandom(CAP + KiB),
                       "qcow2": qcow2()}.items():
        (root / name).write_bytes(data)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", WEB_SERVER, str(root),
                             str(port)])
    url = Web("http://127.0.0.1:%d" % port)
    url.root = root
    try:
        wait_for(lambda: _answers(url), timeout=10, message="web server")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _answers(url):
    try:
        return requests.get(url + "/data", timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def srv(tmp_path_factory, web):
    port = int(web.rsplit(":", 1)[1])
    base = tmp_path_factory.mktemp("import")
    server = GlanceServer(base, flavor="trusted-auth", workers=2, conf={
        "DEFAULT": {"enabled_backends": {"fast": "file", "slow": "file"},
                    "image_size_cap": CAP},
        "glance_store": {"default_backend": "fast"},
        "fast": {"filesystem_store_datadir": base / "fast"},
        "slow": {"filesystem_store_datadir": base / "slow"},
        "import_filtering_opts": {"allowed_hosts": ["127.0.0.1"],
                                  "allowed_ports": [port]},
        "image_import_opts": {"image_import_plugins": ["no_op"]},
        "task": {"import_lock_timeout": 3},
    })
    server.start()
    yield server
    server.stop()


def new_image(api, **props):
    props.setdefault("disk_format", "raw")
    props.setdefault("container_format", "bare")
    return api.create(**props)


def stage(api, image_id, data):
    return api.put("/v2/images/%s/stage" % image_id, data=data,
                   headers={"Content-Type": OCTET})


def do_import(api, image_id, expect=202, headers=None, **body):
    r = api.post("/v2/images/%s/import" % image_id, json=body,
                 headers=headers)
    assert r.status_code == expect, r.text
    return r


def tasks_of(api, image_id):
    r = api.get("/v2/images/%s/tasks" % image_id)
    assert r.status_code == 200, r.text
    return r.json()["tasks"]


def wait_done(api, image_id, timeout=20):
    """The image and its last task once the task has ended."""
    def done():
        tasks = tasks_of(api, image_id)
        if tasks and tasks[-1]["status"] in ("success", "failure"):
            return tasks[-1]
        return None
    task = wait_for(done, timeout=timeout, message="import task")
    return api.image(image_id), task


def staged(srv):
    path = srv.state_path / "staging"
    return sorted(os.listdir(path)) if path.is_dir() else []


def stored(srv, store):
    path = srv.base_dir / store
    return sorted(os.listdir(path)) if path.is_dir() else []


# --- glance-direct ---

def test_glance_direct(srv, p1):
    img = new_image(p1)
    assert stage(p1, img["id"], DATA).status_code == 204
    r = do_import(p1, img["id"], method={"name": "glance-direct"})
    assert r.content == b""
    got, task = wait_done(p1, img["id"])
    assert task["status"] == "success", task["message"]
    assert got["status"] == "active"
    assert got["size"] == len(DATA)
    assert got["checksum"] == md5(DATA)
    assert got["os_hash_value"] == sha512(DATA)
    assert got["stores"] == "fast"
    assert got["os_glance_importing_to_stores"] == ""
    assert got["os_glance_failed_import"] == ""
    assert "os_glance_import_task" not in got
    assert img["id"] not in staged(srv)
    assert p1.get("/v2/images/%s/file" % img["id"]).content == DATA
    assert task["result"] == {"image_id": img["id"]}
    assert task["input"]["backend"] == ["fast"]


def test_glance_direct_to_store_header(srv, p1):
    img = new_image(p1)
    stage(p1, img["id"], DATA)
    do_import(p1, img["id"], headers={"X-Image-Meta-Store": "slow"},
              method={"name": "glance-direct"})
    got, task = wait_done(p1, img["id"])
    assert got["stores"] == "slow"
    assert img["id"] in stored(srv, "slow")


def test_stage_refuses_format_mismatch(srv, p1):
    img = new_image(p1)                   # says raw; data is qcow2
    r = stage(p1, img["id"], qcow2())
    assert r.status_code == 415, r.text   # as an upload
    assert p1.image(img["id"])["status"] == "queued"
    assert img["id"] not in staged(srv)


def test_import_to_all_stores(srv, p1):
    img = new_image(p1)
    stage(p1, img["id"], DATA)
    do_import(p1, img["id"], method={"name": "glance-direct"},
              all_stores=True)
    got, task = wait_done(p1, img["id"])
    assert task["status"] == "success", task["message"]
    assert sorted(got["stores"].split(",")) == ["fast", "slow"]


def test_import_unknown_store_409(p1):
    img = new_image(p1)
    stage(p1, img["id"], DATA)
    r = do_import(p1, img["id"], expect=409,
                  method={"name": "glance-direct"}, stores=["nope"])
    assert "nope" in r.text
    assert p1.image(img["id"])["status"] == "uploading"


def test_second_import_while_busy_409(srv, p1, web):
    img = new_image(p1)
    stage(p1, img["id"], DATA)
    do_import(p1, img["id"], method={"name": "glance-direct"})
    r = p1.post("/v2/images/%s/import" % img["id"],
                json={"method": {"name": "glance-direct"}})
    assert r.status_code == 409
    wait_done(p1, img["id"])


# --- web-download ---

def test_web_download(srv, p1, web):
    img = new_image(p1)
    do_import(p1, img["id"], method={"name": "web-download",
                                     "uri": web + "/data"})
    got, task = wait_done(p1, img["id"])
    assert task["status"] == "success", task["message"]
    assert got["status"] == "active"
    assert got["checksum"] == md5(DATA)
    assert got["os_hash_value"] == sha512(DATA)
    assert img["id"] not in staged(srv)


def test_web_download_through_redirect(p1, web):
    img = new_image(p1)
    do_import(p1, img["id"], method={
        "name": "web-download", "uri": web + "/redirect?to=/data"})
    got, task = wait_done(p1, img["id"])
    assert task["status"] == "success", task["message"]
    assert got["size"] == len(DATA)


@pytest.mark.parametrize("target", [
    "http://127.0.0.2:{port}/data",          # host not in allowed_hosts
    "http://127.0.0.1:1/data",               # port not in allowed_ports
    "http://2130706434:{port}/data",         # 127.0.0.2, numeric form
    "http://[::ffff:127.0.0.2]:{port}/data",
])
def test_web_download_redirect_to_filtered_target_fails(srv, p1, web,
                                                        target):
    target = target.format(port=web.rsplit(":", 1)[1])
    img = new_image(p1)
    do_import(p1, img["id"], method={
        "name": "web-download", "uri": web + "/redirect?to=" + target})
    got, task = wait_done(p1, img["id"])
    assert task["status"] == "failure"
    assert "does not pass filtering" in task["message"]
    assert target in task["message"]
    assert got["status"] == "queued"
    assert got["size"] is None and got["checksum"] is None
    assert img["id"] not in staged(srv)
    assert img["id"] not in stored(srv, "fast")


@pytest.mark.parametrize("path", ["/missing", "/big", "/chunked"])
def test_web_download_failures(srv, p1, web, path):
    img = new_image(p1)
    do_import(p1, img["id"], method={"name": "web-download",
                                     "uri": web + path})
    got, task = wait_done(p1, img["id"])
    assert task["status"] == "failure"
    assert task["message"]
    if path == "/missing":
        assert "404" in task["message"]
    else:
        assert "image_size_cap" in task["message"] or \
            "too large" in task["message"]
    assert got["status"] == "queued"
    assert got["size"] is None and got["checksum"] is None
    assert img["id"] not in staged(srv)
    assert img["id"] not in stored(srv, "fast")


def test_web_download_format_mismatch(srv, p1, web):
    img = new_image(p1)
    do_import(p1, img["id"], method={"name": "web-download",
                                     "uri": web + "/qcow2"})
    got, task = wait_done(p1, img["id"])
    assert task["status"] == "failure"
    assert "qcow2" in task["message"]
    assert got["status"] == "queued"
    assert img["id"] not in stored(srv, "fast")


@pytest.mark.parametrize("uri", ["http://127.0.0.1:1/x", "ftp://127.0.0.1/",
                                 "http://10.0.0.1/x", "http://[::1]/x",
                                 "http://127.0.0.2/x", None])
def test_web_download_filtered_400(p1, uri):
    img = new_image(p1)
    method = {"name": "web-download"}
    if uri:
        method["uri"] = uri
    r = do_import(p1, img["id"], expect=400, method=method)
    assert "does not pass filtering" in r.text
    assert p1.image(img["id"])["status"] == "queued"
    assert tasks_of(p1, img["id"]) == []


@pytest.mark.parametrize("host", [
    "2130706434", "0x7f000002", "127.2", "0177.0.0.2",   # 127.0.0.2
    "2130706433", "0x7f000001", "127.1", "0177.0.0.1",   # 127.0.0.1 too
    "[::ffff:127.0.0.2]"])
def test_web_download_numeric_host_400(p1, web, host):
    """Only the canonical form of an allowed address passes: the
    numeric forms the C library would also accept are refused at the
    import call, before any task or connection."""
    uri = "http://%s:%s/data" % (host, web.rsplit(":", 1)[1])
    img = new_image(p1)
    r = do_import(p1, img["id"], expect=400,
                  method={"name": "web-download", "uri": uri})
    assert "does not pass filtering" in r.text
    assert p1.image(img["id"])["status"] == "queued"
    assert tasks_of(p1, img["id"]) == []


def test_web_download_glance_default_filtering(glance_server):
    """Glance's defaults: loopback, link-local and numeric forms are
    refused at the import call; only ports 80 and 443 may be named."""
    server = glance_server(flavor="trusted-auth", workers=1)
    api = Api(server.url, new_project("d"), MEMBER)
    for uri in ["http://127.0.0.1/x", "http://[::1]/x",
                "http://169.254.169.254/latest/meta-data",
                "http://[::ffff:169.254.169.254]/", "http://0.0.0.0/x",
                "http://2130706433/x", "http://0x7f000001/x",
                "http://127.1/x", "http://0177.0.0.1/x",
                "http://10.0.0.1:8080/x", "ftp://10.0.0.1/x"]:
        img = new_image(api)
        r = do_import(api, img["id"], expect=400,
                      method={"name": "web-download", "uri": uri})
        assert "does not pass filtering" in r.text, uri
        assert api.image(img["id"])["status"] == "queued"


def test_dead_worker_lock_released(srv, p1, web):
    """A worker killed mid-download: its supervisor releases the lock at
    once (the image back to queued, the partial download removed), so a
    new import is accepted within seconds. The lock's timeout stays the
    fallback for a node that dies whole (test_import_flow.py)."""
    img = new_image(p1)
    do_import(p1, img["id"], method={"name": "web-download",
                                     "uri": web + "/slow"})
    wait_for(lambda: img["id"] in staged(srv), timeout=10,
             message="download started")
    old = tasks_of(p1, img["id"])[0]
    for pid in srv.worker_pids():
        os.kill(pid, signal.SIGKILL)
    srv.wait_until_ready()
    body = {"method": {"name": "web-download", "uri": web + "/data"}}
    wait_for(lambda: _import_accepted(p1, img["id"], body),
             timeout=10, message="the lock released")
    got, task = wait_done(p1, img["id"])
    assert task["status"] == "success", task["message"]
    assert got["status"] == "active" and got["checksum"] == md5(DATA)
    old = [t for t in tasks_of(p1, img["id"]) if t["id"] == old["id"]][0]
    assert old["status"] == "failure"
    assert old["message"] == "The worker process running the import died"


def _import_accepted(api, image_id, body):
    r = api.post("/v2/images/%s/import" % image_id, json=body)
    assert r.status_code in (202, 409), r.text
    return r.status_code == 202


# --- copy-image ---

def test_copy_image(srv, admin):
    img = new_image(admin)
    r = admin.put("/v2/images/%s/file" % img["id"], data=DATA,
                  headers={"Content-Type": OCTET})
    assert r.status_code == 204
    do_import(admin, img["id"], method={"name": "copy-image"},
              stores=["slow"])
    got, task = wait_done(admin, img["id"])
    assert task["status"] == "success", task["message"]
    assert sorted(got["stores"].split(",")) == ["fast", "slow"]
    assert got["status"] == "active"
    assert got["checksum"] == md5(DATA)
    assert img["id"] in stored(srv, "slow")
    r = do_import(admin, img["id"], expect=400,
                  method={"name": "copy-image"}, stores=["slow"])
    assert "already present" in r.text


def test_concurrent_copies_leave_one_consistent_image(srv, admin):
    """Copies move no status: the lock's compare-and-set (tested on the
    three databases in tests/unit/db) keeps two from running at once.
    Here: six started together end with the image copied once and
    every request answered as Glance answers it. (A copy of this small
    image can end before a late request takes the free lock, so more
    than one 202 is possible.)"""
    import concurrent.futures
    img = new_image(admin)
    r = admin.put("/v2/images/%s/file" % img["id"], data=DATA,
                  headers={"Content-Type": OCTET})
    assert r.status_code == 204
    body = {"method": {"name": "copy-image"}, "stores": ["slow"]}

    def start(_):
        r = admin.post("/v2/images/%s/import" % img["id"], json=body)
        # busy: 409; the copy already done: 400, as Glance
        assert r.status_code in (202, 409) or (
            r.status_code == 400 and "already present" in r.text), r.text
        return r.status_code
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(start, range(6)))
    assert 202 in answers, answers

    def all_finished():
        tasks = tasks_of(admin, img["id"])
        if tasks and all(t["status"] in ("success", "failure")
                         for t in tasks):
            return tasks
        return None
    tasks = wait_for(all_finished, message="the copies")
    assert "success" in [t["status"] for t in tasks]
    got = admin.image(img["id"])
    assert sorted(got["stores"].split(",")) == ["fast", "slow"]
    assert got["status"] == "active" and got["checksum"] == md5(DATA)
    assert not got.get("os_glance_import_task")      # lock released
    assert stored(srv, "slow").count(img["id"]) == 1


# --- one store of several fails ---

@pytest.fixture
def broken_slow(srv):
    path = srv.base_dir / "slow"
    saved = srv.base_dir / ("slow-saved-%s" % uuid.uuid4().hex[:6])
    os.rename(path, saved)
    path.write_bytes(b"not a directory")
    yield
    path.unlink()
    os.rename(saved, path)


def test_one_store_fails_all_must_succeed(srv, p1, broken_slow):
    img = new_image(p1)
    stage(p1, img["id"], DATA)
    do_import(p1, img["id"], method={"name": "glance-direct"},
              stores=["fast", "slow"])
    got, task = wait_done(p1, img["id"])
    assert task["status"] == "failure"
    assert "slow" in task["message"]
    assert got["status"] == "queued"
    assert "stores" not in got
    assert got["os_glance_failed_import"] == "slow"
    assert got["os_glance_importing_to_stores"] == ""
    assert img["id"] not in stored(srv, "fast")
    assert img["id"] not in staged(srv)


def test_one_store_fails_best_effort(srv, p1, broken_slow):
    img = new_image(p1)
    stage(p1, img["id"], DATA)
    do_import(p1, img["id"], method={"name": "glance-direct"},
              stores=["slow", "fast"], all_stores_must_succeed=False)
    got, task = wait_done(p1, img["id"])
    assert task["status"] == "success", task["message"]
    assert got["status"] == "active"
    assert got["stores"] == "fast"
    assert got["os_glance_failed_import"] == "slow"
    assert got["os_glance_importing_to_stores"] == ""
    assert got["checksum"] == md5(DATA)


# --- the tasks API ---

def test_tasks_api(srv, p1, admin):
    img = new_image(p1)
    stage(p1, img["id"], DATA)
    do_import(p1, img["id"], method={"name": "glance-direct"})
    _, task = wait_done(p1, img["id"])
    assert p1.get("/v2/tasks").status_code == 403
    assert p1.get("/v2/tasks/" + task["id"]).status_code == 403
    r = admin.get("/v2/tasks/" + task["id"])
    assert r.status_code == 200
    full = r.json()
    assert full["owner"] == p1.project
    assert full["user_id"] == "u-" + p1.project
    assert full["request_id"].startswith("req-")
    assert full["expires_at"].endswith("Z")
    listed = admin.get("/v2/tasks", params={"limit": 1000}).json()
    stubs = {t["id"]: t for t in listed["tasks"]}
    assert task["id"] in stubs and "input" not in stubs[task["id"]]
    r = admin.get("/v2/tasks", params={"type": "api_image_import",
                                       "status": "success", "limit": 1})
    assert r.status_code == 200
    assert r.json()["next"].startswith("/v2/tasks?")
    assert admin.delete("/v2/tasks/" + task["id"]).status_code == 405


def test_location_import_task_fails(admin):
    r = admin.post("/v2/tasks", json={"type": "location_import",
                                      "input": {}})
    assert r.status_code == 201
    tid = r.json()["id"]

    def done():
        t = admin.get("/v2/tasks/" + tid).json()
        return t if t["status"] in ("success", "failure") else None
    task = wait_for(done, timeout=10, message="task end")
    assert task["message"] == "Input to location_import task is empty."


def test_legacy_import_task(srv, admin, web):
    r = admin.post("/v2/tasks", json={"type": "import", "input": {
        "import_from": web + "/data", "import_from_format": "raw",
        "image_properties": {"name": "legacy",
                             "container_format": "bare"}}})
    assert r.status_code == 201, r.text
    tid = r.json()["id"]

    def done():
        t = admin.get("/v2/tasks/" + tid).json()
        return t if t["status"] in ("success", "failure") else None
    task = wait_for(done, timeout=10, message="task end")
    assert task["status"] == "success", task["message"]
    got = admin.image(task["result"]["image_id"])
    assert got["name"] == "legacy" and got["status"] == "active"
    assert got["checksum"] == md5(DATA)


def test_info_import_reflects_config(glance_server):
    server = glance_server(flavor="trusted-auth", workers=1, conf={
        "DEFAULT": {"enabled_import_methods": "[web-download]"}})
    api = Api(server.url, new_project("p"), MEMBER)
    r = api.get("/v2/info/import")
    assert r.json()["import-methods"]["value"] == ["web-download"]
    img = new_image(api)
    r = api.post("/v2/images/%s/import" % img["id"],
                 json={"method": {"name": "glance-direct"}})
    assert r.status_code == 400
    assert "Unknown import method name" in r.text


# --- plugins ---

def test_plugins(glance_server, web):
    """decompression, conversion (qemu-img) and metadata injection."""
    import gzip
    port = int(web.rsplit(":", 1)[1])
    plugins = ["image_decompression", "inject_image_metadata", "no_op"]
    have_qemu = shutil.which("qemu-img") is not None
    if have_qemu:
        plugins.insert(1, "image_conversion")
    server = glance_server(flavor="trusted-auth", workers=1, conf={
        "import_filtering_opts": {"allowed_hosts": ["127.0.0.1"],
                                  "allowed_ports": [port]},
        "image_import_opts": {"image_import_plugins": plugins},
        "image_conversion": {"output_format": "qcow2"},
        "inject_metadata_properties": {"inject": {"injected": "yes"}}})
    api = Api(server.url, new_project("pl"), MEMBER)
    raw = os.urandom(64 * KiB)
    web.publish("raw.gz", gzip.compress(raw))
    img = new_image(api)
    do_import(api, img["id"], method={"name": "web-download",
                                      "uri": web + "/raw.gz"})
    got, task = wait_done(api, img["id"])
    assert task["status"] == "success", task["message"]
    assert got["injected"] == "yes"
    data = api.get("/v2/images/%s/file" % img["id"]).content
    if not have_qemu:
        assert got["disk_format"] == "raw" and data == raw
        assert not os.environ.get("CI"), "CI needs qemu-img (qemu-utils)"
        pytest.skip("qemu-img is not installed: conversion not tested")
    assert got["disk_format"] == "qcow2"
    assert data[:4] == b"QFI\xfb"
    assert got["virtual_size"] == len(raw)
    path = server.base_dir / "check.qcow2"
    path.write_bytes(data)
    out = subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw",
                          str(path), str(path) + ".raw"], check=True)
    assert out.returncode == 0
    assert (server.base_dir / "check.qcow2.raw").read_bytes() == raw


@pytest.mark.parametrize("must", [True, False])
def test_copy_image_store_failure(srv, admin, broken_slow, must):
    img = new_image(admin)
    admin.put("/v2/images/%s/file" % img["id"], data=DATA,
              headers={"Content-Type": OCTET})
    do_import(admin, img["id"], method={"name": "copy-image"},
              all_stores=True, all_stores_must_succeed=must)
    got, task = wait_done(admin, img["id"])
    assert task["status"] == "failure"      # the only target failed
    assert got["status"] == "active"         # the source copy is intact
    assert got["stores"] == "fast"
    assert got["os_glance_failed_import"] == "slow"
    assert got["os_glance_importing_to_stores"] == ""
    assert "os_glance_import_task" not in got
    assert admin.get("/v2/images/%s/file" % img["id"]).content == DATA


def test_web_download_over_quota(glance_server, web):
    port = int(web.rsplit(":", 1)[1])
    server = glance_server(flavor="trusted-auth", workers=1, conf={
        "DEFAULT": {"user_storage_quota": "10KB"},
        "import_filtering_opts": {"allowed_hosts": ["127.0.0.1"],
                                  "allowed_ports": [port]}})
    api = Api(server.url, new_project("q"), MEMBER)
    img = new_image(api)
    do_import(api, img["id"], method={"name": "web-download",
                                      "uri": web + "/chunked"})
    got, task = wait_done(api, img["id"])
    assert task["status"] == "failure"
    assert "quota" in task["message"]
    assert got["status"] == "queued"
    assert not os.listdir(server.state_path / "staging")
