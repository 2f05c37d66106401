"""Disk image format and safety checks against the real daemon: unsafe
images (a GPT disk with a bad protective MBR, qcow2 with a backing or
data file, VMDKs that name other files, an ISO that is also something
else, LUKS) are refused on upload, stage, glance-direct, web-download,
copy-image and conversion, and never become active; good images
(raw, GPT, qcow2, ISO, VMDK monolithicSparse) are accepted."""
import os
import subprocess
import sys

import pytest
import requests

from tests import disk_images as di
from tests.functional.apiclient import ADMIN, Api, MEMBER, OCTET, \
    new_project
from tests.functional.server import GlanceServer, free_port, wait_for

MiB = di.MiB
BAD_GPT = di.gpt_disk(bad="start_lba")

# (disk_format, data, text of the refusal)
UNSAFE = {
    "gpt-bad-start-lba": ("raw", BAD_GPT, "GPT MBR has invalid start LBA"),
    "gpt-extra-partition": ("raw", di.gpt_disk(bad="extra_partition"),
                            "invalid extra partitions"),
    "gpt-bad-boot-flag": ("raw", di.gpt_disk(bad="boot_flag"),
                          "invalid boot flag"),
    "qcow2-backing-file": ("qcow2", di.qcow2(backing_file=b"/etc/passwd"),
                           "backing_file"),
    "qcow2-data-file": ("qcow2", di.qcow2(data_file=True), "data_file"),
    "vmdk-flat": ("vmdk", di.vmdk(create_type="monolithicFlat"),
                  "Unsupported subformat"),
    "vmdk-extent-path": ("vmdk", di.vmdk(
        extents=['RW 2048 SPARSE "/var/lib/glance/images/x"']),
        "Invalid extent filenames"),
    "vmdk-descriptor-only": ("vmdk", di.vmdk_descriptor(),
                             "descriptor without its sparse extent"),
    "iso-and-qcow2": ("qcow2", di.iso(system_area=di.qcow2(length=4096)),
                      "several formats: iso, qcow2"),
    "iso-declared-iso-but-qcow2": (
        "iso", di.iso(system_area=di.qcow2(length=4096)),
        "qcow2 format, not the declared disk_format iso"),
    "luks-as-raw": ("raw", di.luks(), "luks format"),
    "qcow2-as-raw": ("raw", di.qcow2(), "qcow2 format"),
}

# (disk_format, data, virtual_size)
SAFE = {
    "raw": ("raw", di.random_raw(MiB), MiB),
    "gpt": ("raw", di.gpt_disk(), MiB),
    "mbr": ("raw", di.mbr_disk(), MiB),
    "qcow2": ("qcow2", di.qcow2(virtual_size=3 * MiB), 3 * MiB),
    "iso": ("iso", di.iso(size=128 * 1024), 128 * 1024),
    "hybrid-iso": ("iso", di.iso(system_area=di.gpt_disk(size=4096)),
                   64 * 1024),
    "vmdk": ("vmdk", di.vmdk(sectors=8192), 8192 * 512),
}


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """A plain HTTP server (its own process) over a directory."""
    root = tmp_path_factory.mktemp("web")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind",
         "127.0.0.1", "--directory", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port

    def up():
        try:
            return requests.get(url + "/", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(up, timeout=10, message="web server")
        yield root, url, port
    finally:
        proc.terminate()
        proc.wait(10)


def server_conf(base, port, **extra):
    conf = {
        "DEFAULT": {"enabled_backends": {"fast": "file", "slow": "file"}},
        "glance_store": {"default_backend": "fast"},
        "fast": {"filesystem_store_datadir": base / "fast"},
        "slow": {"filesystem_store_datadir": base / "slow"},
        "import_filtering_opts": {"allowed_hosts": ["127.0.0.1"],
                                  "allowed_ports": [port]},
    }
    for group, options in extra.items():
        conf.setdefault(group, {}).update(options)
    return conf


@pytest.fixture(scope="module")
def srv(tmp_path_factory, web):
    base = tmp_path_factory.mktemp("format-safety")
    server = GlanceServer(base, flavor="trusted-auth", workers=1,
                          conf=server_conf(base, web[2]))
    server.start()
    yield server
    server.stop()


def stored(server):
    """The image files in the server's stores."""
    dirs = [server.conf[store]["filesystem_store_datadir"]
            for store in ("fast", "slow")]
    return sorted(name for path in dirs if os.path.isdir(path)
                  for name in os.listdir(path))


def staged(server):
    path = server.state_path / "staging"
    return sorted(os.listdir(path)) if path.is_dir() else []


def put(api, image_id, data, what="file"):
    return api.put("/v2/images/%s/%s" % (image_id, what), data=data,
                   headers={"Content-Type": OCTET})


def start_import(api, image_id, **body):
    r = api.post("/v2/images/%s/import" % image_id, json=body)
    assert r.status_code == 202, r.text


def wait_done(api, image_id, timeout=30):
    """The image and its last task, once the task has ended."""
    def done():
        r = api.get("/v2/images/%s/tasks" % image_id)
        tasks = r.json()["tasks"]
        if tasks and tasks[-1]["status"] in ("success", "failure"):
            return tasks[-1]
        return None
    task = wait_for(done, timeout=timeout, message="import task")
    return api.image(image_id), task


def assert_refused_and_clean(server, api, image_id):
    got = api.image(image_id)
    assert got["status"] == "queued", got
    assert got["checksum"] is None and got["size"] is None
    assert image_id not in stored(server)
    assert image_id not in staged(server)
    assert api.get("/v2/images/%s/file" % image_id).status_code == 204


# --- upload ---

@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_upload_refused(srv, p1, case):
    disk_format, data, text = UNSAFE[case]
    img = p1.create(disk_format=disk_format, container_format="bare")
    r = put(p1, img["id"], data)
    assert r.status_code == 415, r.text   # as Glance answers
    assert "The image data was refused" in r.text and text in r.text
    assert_refused_and_clean(srv, p1, img["id"])


@pytest.mark.parametrize("case", sorted(SAFE))
def test_upload_accepted(srv, p1, case):
    disk_format, data, virtual_size = SAFE[case]
    img = p1.create(disk_format=disk_format, container_format="bare")
    r = put(p1, img["id"], data)
    assert r.status_code == 204, r.text
    got = p1.image(img["id"])
    assert got["status"] == "active"
    assert got["size"] == len(data)
    assert got["virtual_size"] == virtual_size


@pytest.mark.parametrize("name,fmt,options,declared,code", [
    ("ms.vmdk", "vmdk", ("subformat=monolithicSparse",), "vmdk", 204),
    ("mf.vmdk", "vmdk", ("subformat=monolithicFlat",), "vmdk", 415),
    ("df.qcow2", "qcow2", ("data_file=df.raw",), "qcow2", 415),
])
def test_qemu_img_images(srv, p1, tmp_path, name, fmt, options, declared,
                         code):
    data = di.read(di.qemu_img(tmp_path, name, fmt, *options))
    img = p1.create(disk_format=declared, container_format="bare")
    r = put(p1, img["id"], data)
    assert r.status_code == code, r.text
    if code == 204:
        assert p1.image(img["id"])["virtual_size"] == 10 * MiB
    else:
        assert_refused_and_clean(srv, p1, img["id"])


# --- stage and glance-direct ---

@pytest.mark.parametrize("case", ["gpt-bad-start-lba", "qcow2-data-file",
                                  "vmdk-extent-path", "iso-and-qcow2"])
def test_stage_refused(srv, p1, case):
    disk_format, data, text = UNSAFE[case]
    img = p1.create(disk_format=disk_format, container_format="bare")
    r = put(p1, img["id"], data, what="stage")
    assert r.status_code == 415 and text in r.text, r.text
    assert_refused_and_clean(srv, p1, img["id"])


def test_glance_direct_accepts_a_gpt_disk(srv, p1):
    img = p1.create(disk_format="raw", container_format="bare")
    assert put(p1, img["id"], di.gpt_disk(), what="stage").status_code \
        == 204
    start_import(p1, img["id"], method={"name": "glance-direct"})
    got, task = wait_done(p1, img["id"])
    assert task["status"] == "success", task["message"]
    assert got["status"] == "active" and got["virtual_size"] == MiB


# --- web-download ---

def test_web_download_refuses_unsafe_data(srv, p1, web):
    root, url, _port = web
    (root / "bad-gpt.img").write_bytes(BAD_GPT)
    (root / "overlay.qcow2").write_bytes(di.qcow2(backing_file=b"/x"))
    for name, disk_format, text in [("bad-gpt.img", "raw", "invalid start"),
                                    ("overlay.qcow2", "qcow2",
                                     "backing_file")]:
        img = p1.create(disk_format=disk_format, container_format="bare")
        start_import(p1, img["id"], method={"name": "web-download",
                                            "uri": url + "/" + name})
        got, task = wait_done(p1, img["id"])
        assert task["status"] == "failure"
        assert text in task["message"], task["message"]
        assert_refused_and_clean(srv, p1, img["id"])


# --- rules relaxed, then tightened: glance-direct, copy-image ---

RELAXED = {"image_format": {"gpt_safety_checks_nonfatal": ["mbr"],
                            "require_image_format_match": False}}


@pytest.fixture(scope="module")
def tightened(tmp_path_factory, web):
    """A server that took data under relaxed rules (sloppy MBRs, format
    mismatches), then restarted with the default rules: a staged bad
    GPT disk ('gpt-N'), a staged qcow2 declared raw ('mismatch'), an
    active bad GPT disk ('active')."""
    base = tmp_path_factory.mktemp("tightened")
    server = GlanceServer(base, flavor="trusted-auth", workers=1,
                          conf=server_conf(base, web[2], **RELAXED))
    server.start()
    try:
        admin = Api(server.url, new_project("adm"), ADMIN)
        images = {}
        for name, data in [("gpt-1", BAD_GPT), ("gpt-2", BAD_GPT),
                           ("mismatch", di.qcow2()), ("active", BAD_GPT)]:
            img = admin.create(disk_format="raw", container_format="bare")
            what = "file" if name == "active" else "stage"
            assert put(admin, img["id"], data, what).status_code == 204
            images[name] = img["id"]
        assert admin.image(images["active"])["status"] == "active"
        assert "Accepting image data whose MBR/GPT failed" in \
            server.log_text()
        server.stop()
        server.update_config({"image_format": {
            "gpt_safety_checks_nonfatal": None,
            "require_image_format_match": None}})
        server.start()
        yield server, admin, images
    finally:
        server.stop()


@pytest.mark.parametrize("name,must", [("gpt-1", True), ("gpt-2", False)])
def test_glance_direct_refuses_unsafe_data(tightened, name, must):
    server, admin, images = tightened
    start_import(admin, images[name], method={"name": "glance-direct"},
                 stores=["fast", "slow"], all_stores_must_succeed=must)
    got, task = wait_done(admin, images[name])
    assert task["status"] == "failure"
    assert "failed safety checks" in task["message"]
    assert "GPT MBR has invalid start LBA" in task["message"]
    assert got["os_glance_failed_import"] == "fast,slow"
    assert got["os_glance_importing_to_stores"] == ""
    assert_refused_and_clean(server, admin, images[name])


def test_glance_direct_refuses_format_mismatch(tightened):
    server, admin, images = tightened
    start_import(admin, images["mismatch"],
                 method={"name": "glance-direct"})
    got, task = wait_done(admin, images["mismatch"])
    assert task["status"] == "failure"
    assert "qcow2 format, not the declared disk_format raw" in \
        task["message"]
    assert_refused_and_clean(server, admin, images["mismatch"])


def test_copy_image_refuses_unsafe_data(tightened):
    _server, admin, images = tightened
    image_id = images["active"]
    start_import(admin, image_id, method={"name": "copy-image"},
                 stores=["slow"])
    got, task = wait_done(admin, image_id)
    assert task["status"] == "failure"
    assert "GPT MBR has invalid start LBA" in task["message"]
    assert got["status"] == "active" and got["stores"] == "fast"
    assert got["os_glance_failed_import"] == "slow"
    assert admin.get("/v2/images/%s/file" % image_id).content == BAD_GPT


# --- conversion ---

def test_conversion_inspects_before_qemu_img(glance_server, tmp_path, web):
    """web-download stages the data as it comes: the conversion plugin
    must check it before qemu-img reads it."""
    di.need_qemu_img()
    root, url, port = web
    server = glance_server(flavor="trusted-auth", workers=1, conf=dict(
        server_conf(tmp_path, port),
        image_import_opts={"image_import_plugins": ["image_conversion"]},
        image_conversion={"output_format": "qcow2"}))
    api = Api(server.url, new_project("conv"), MEMBER)
    for name, data, disk_format, text in [
            ("c-gpt", BAD_GPT, "raw", "invalid start LBA"),
            ("c-overlay", di.qcow2(backing_file=b"/etc/passwd"), "qcow2",
             "backing_file"),
            ("c-flat", di.vmdk(create_type="monolithicFlat"), "vmdk",
             "Unsupported subformat")]:
        (root / name).write_bytes(data)
        img = api.create(disk_format=disk_format, container_format="bare")
        start_import(api, img["id"], method={"name": "web-download",
                                             "uri": url + "/" + name})
        got, task = wait_done(api, img["id"])
        assert task["status"] == "failure"
        assert text in task["message"], task["message"]
        assert_refused_and_clean(server, api, img["id"])
    assert "refuses the image" in server.log_text()
    assert "qemu-img" not in server.log_text()
    # and a good disk is converted
    img = api.create(disk_format="raw", container_format="bare")
    assert put(api, img["id"], di.gpt_disk(), what="stage").status_code \
        == 204
    start_import(api, img["id"], method={"name": "glance-direct"})
    got, task = wait_done(api, img["id"])
    assert task["status"] == "success", task["message"]
    assert got["disk_format"] == "qcow2" and got["virtual_size"] == MiB
