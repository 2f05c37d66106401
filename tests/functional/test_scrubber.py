"""Delayed delete and the real ``glance-scrubber`` console script.

glance-api runs with ``delayed_delete`` and two file stores; the scrubber
reads the same configuration file (plus one of its own for scrub_time).
Deleted images go ``pending_delete`` and keep their data until a
scrubber run, or come back with ``--restore``.
"""
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys

import pytest

from tests.functional.apiclient import Api, MEMBER, OCTET, new_project
from tests.functional.server import GlanceServer, wait_for

DATA = os.urandom(64 * 1024)
SCRUBBER = str(pathlib.Path(sys.executable).parent / "glance-scrubber")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    base = tmp_path_factory.mktemp("scrub")
    server = GlanceServer(base, flavor="trusted-auth", workers=1, conf={
        "DEFAULT": {"enabled_backends": {"fast": "file", "slow": "file"},
                    "delayed_delete": True, "scrub_time": 3600},
        "glance_store": {"default_backend": "fast"},
        "fast": {"filesystem_store_datadir": base / "fast"},
        "slow": {"filesystem_store_datadir": base / "slow"},
    })
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(srv):
    return Api(srv.url, new_project("scr"), MEMBER)


def scrub(srv, *args, scrub_time=0, timeout=60, **extra):
    """Run glance-scrubber once with the server's config; the result."""
    extra_conf = srv.base_dir / "scrubber-extra.conf"
    lines = ["[DEFAULT]", "scrub_time = %d" % scrub_time]
    lines += ["%s = %s" % kv for kv in extra.items()]
    extra_conf.write_text("\n".join(lines) + "\n")
    cmd = [SCRUBBER, "--config-file", str(srv.conf_file), "--config-file",
           str(extra_conf), "--log-file", str(srv.base_dir / "scrubber.log")]
    return subprocess.run(cmd + list(args), capture_output=True, text=True,
                          timeout=timeout)


def scrubber_log(srv):
    path = srv.base_dir / "scrubber.log"
    return path.read_text() if path.exists() else ""


def db_rows(srv, image_id):
    with sqlite3.connect(srv.state_path / "glance.sqlite") as conn:
        image = conn.execute("SELECT status, deleted FROM images WHERE "
                             "id = ?", (image_id,)).fetchone()
        locations = conn.execute(
            "SELECT status, deleted FROM image_locations WHERE image_id = ?"
            " ORDER BY id", (image_id,)).fetchall()
    return image, locations


def upload(api, store="fast", **props):
    img = api.create(name="s", disk_format="raw", container_format="bare",
                     **props)
    r = api.put("/v2/images/%s/file" % img["id"], data=DATA,
                headers={"Content-Type": OCTET, "X-Image-Meta-Store": store})
    assert r.status_code == 204, r.text
    return img["id"]


def data_file(srv, store, image_id):
    return srv.base_dir / store / image_id


def test_delete_keeps_data_until_scrubbed(srv, api):
    iid = upload(api)
    assert api.delete("/v2/images/%s" % iid).status_code == 204
    assert api.get("/v2/images/%s" % iid).status_code == 404
    assert db_rows(srv, iid) == (("pending_delete", 1),
                                 [("pending_delete", 1)])
    assert data_file(srv, "fast", iid).exists()
    # not yet: deleted less than scrub_time ago
    result = scrub(srv, scrub_time=3600)
    assert result.returncode == 0, result.stderr
    assert data_file(srv, "fast", iid).exists()
    result = scrub(srv)
    assert result.returncode == 0, result.stderr + scrubber_log(srv)
    assert not data_file(srv, "fast", iid).exists()
    assert db_rows(srv, iid) == (("deleted", 1), [("deleted", 1)])
    assert "Image %s has been scrubbed" % iid in scrubber_log(srv)


def test_image_without_data_is_deleted_at_once(srv, api):
    img = api.create(name="empty")
    assert api.delete("/v2/images/%s" % img["id"]).status_code == 204
    assert db_rows(srv, img["id"]) == (("deleted", 1), [])


def test_every_store_is_scrubbed(srv, api):
    iid = upload(api)
    r = api.as_role("admin,member,reader").post("/v2/images/%s/import" % iid,
                 json={"method": {"name": "copy-image"},
                       "stores": ["slow"]})
    assert r.status_code == 202, r.text
    wait_for(lambda: api.image(iid)["stores"] in ("fast,slow", "slow,fast"),
             timeout=30, message="copy to slow")
    assert api.delete("/v2/images/%s" % iid).status_code == 204
    assert data_file(srv, "slow", iid).exists()
    result = scrub(srv)
    assert result.returncode == 0, result.stderr
    assert not data_file(srv, "fast", iid).exists()
    assert not data_file(srv, "slow", iid).exists()
    assert db_rows(srv, iid)[1] == [("deleted", 1), ("deleted", 1)]


def test_failed_scrub_is_logged_and_retried(srv, api):
    iid = upload(api)
    assert api.delete("/v2/images/%s" % iid).status_code == 204
    path = data_file(srv, "fast", iid)
    saved = path.read_bytes()
    path.unlink()
    path.mkdir()            # unlink() of a directory fails
    try:
        result = scrub(srv)
        assert result.returncode == 1
        assert "could not be scrubbed" in result.stderr
        assert "Unable to scrub image %s" % iid in scrubber_log(srv)
        assert db_rows(srv, iid) == (("pending_delete", 1),
                                     [("pending_delete", 1)])
    finally:
        path.rmdir()
        path.write_bytes(saved)
    result = scrub(srv)
    assert result.returncode == 0, result.stderr
    assert not path.exists()
    assert db_rows(srv, iid) == (("deleted", 1), [("deleted", 1)])


def test_restore(srv, api):
    iid = upload(api, tags=["t1"], distro="cirros")
    assert api.delete("/v2/images/%s" % iid).status_code == 204
    result = scrub(srv, "--restore", iid)
    assert result.returncode == 0, result.stderr + scrubber_log(srv)
    image = api.image(iid)
    assert image["status"] == "active"
    assert image["distro"] == "cirros" and image["tags"] == ["t1"]
    assert api.get("/v2/images/%s/file" % iid).content == DATA
    # the restored image is a live image again: not scrubbed
    assert scrub(srv).returncode == 0
    assert data_file(srv, "fast", iid).exists()
    result = scrub(srv, "--restore", iid)
    assert result.returncode == 1
    assert "not pending_delete" in result.stderr
    result = scrub(srv, "--restore", "00000000-0000-4000-8000-000000000000")
    assert result.returncode == 1 and "ERROR" in result.stderr
    result = scrub(srv, "--restore", iid, "--daemon")
    assert result.returncode == 1
    assert "should not be set together" in result.stderr


def test_two_scrubbers_never_delete_twice(srv, api):
    ids = [upload(api) for _ in range(12)]
    for iid in ids:
        assert api.delete("/v2/images/%s" % iid).status_code == 204
    (srv.base_dir / "scrubber.log").unlink(missing_ok=True)
    extra = srv.base_dir / "two.conf"
    extra.write_text("[DEFAULT]\nscrub_time = 0\nscrub_pool_size = 4\n")
    procs = [subprocess.Popen(
        [SCRUBBER, "--config-file", str(srv.conf_file), "--config-file",
         str(extra), "--log-file", str(srv.base_dir / ("two-%d.log" % n))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(2)]
    for proc in procs:
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    logs = "".join((srv.base_dir / ("two-%d.log" % n)).read_text()
                   for n in range(2))
    for iid in ids:
        assert not data_file(srv, "fast", iid).exists()
        assert db_rows(srv, iid) == (("deleted", 1), [("deleted", 1)])
        # each image's data was deleted by exactly one scrubber: the
        # other would have found nothing there, or failed
        assert logs.count("Image %s has been scrubbed" % iid) == 1
    assert "had no data" not in logs and "Unable to scrub" not in logs


def test_daemon(srv, api):
    extra = srv.base_dir / "daemon.conf"
    extra.write_text("[DEFAULT]\nscrub_time = 0\nwakeup_time = 1\n")
    proc = subprocess.Popen(
        [SCRUBBER, "--daemon", "--config-file", str(srv.conf_file),
         "--config-file", str(extra), "--log-file",
         str(srv.base_dir / "daemon.log")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        iid = upload(api)
        assert api.delete("/v2/images/%s" % iid).status_code == 204
        wait_for(lambda: db_rows(srv, iid)[0] == ("deleted", 1),
                 timeout=20, message="the daemon's scrub")
        assert not data_file(srv, "fast", iid).exists()
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode == 0


def test_without_delayed_delete_data_goes_at_once(glance_server):
    srv = glance_server(flavor="trusted-auth", workers=1)
    api = Api(srv.url, new_project("now"), MEMBER)
    img = api.create(name="n", disk_format="raw", container_format="bare")
    api.put("/v2/images/%s/file" % img["id"], data=DATA,
            headers={"Content-Type": OCTET})
    assert api.delete("/v2/images/%s" % img["id"]).status_code == 204
    assert db_rows(srv, img["id"]) == (("deleted", 1), [("deleted", 1)])
    leftovers = [p for p in srv.state_path.rglob(img["id"]) if p.is_file()]
    assert leftovers == []
