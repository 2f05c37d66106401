"""A Glance 33 node taken over with its files as they are.

Glance 33 (the oracle virtualenv of ``glance_oracle``) makes and fills a
database and a file store. The node's ``glance-api.conf`` is the one
Glance 33 installs, with every option its sample shows uncommented at
the sample's value (``enabled_import_methods = [glance-direct,...]``,
``[paste_deploy] config_file = glance-api-paste.ini``, ``[glance_store]
stores = file,http`` and ``default_store = file``, the ``[database]``,
``[keystone_authtoken]``, ``[oslo_messaging_*]``, store and logging
options...), then pointed at that database and store; Glance's own
``glance-api-paste.ini`` lies beside it. Our ``glance-manage db_sync``
adopts the database, and glance-api (the eventlet daemon) and uwsgi
serve Glance's rows and data from those files and take new uploads.
"""
import hashlib
import re
import shutil

import pytest

from tests.functional import glance_oracle
from tests.functional.server import GlanceServer
from tests.functional.server import merge_conf
from tests.functional.test_glance_adoption import check_images
from tests.functional.test_glance_adoption import check_members_and_task
from tests.functional.test_glance_adoption import glance33  # noqa: F401
from tests.functional.test_glance_adoption import manage
from tests.functional.test_wsgi_hosts import WsgiHostServer

OCTET = {"Content-Type": "application/octet-stream"}


def sample_conf(venv):
    """{group: {option: value}} of every option Glance 33's installed
    glance-api.conf shows with a value (``#name = value``)."""
    path = venv / "etc" / "glance" / "glance-api.conf"
    conf, group = {}, "DEFAULT"
    for line in path.read_text().splitlines():
        header = re.match(r"^\[(\S+)\]$", line)
        if header:
            group = header.group(1)
            continue
        option = re.match(r"^#(\w+) = (.+)$", line)
        if option and not option.group(2).startswith("<"):
            conf.setdefault(group, {})[option.group(1)] = option.group(2)
    return conf


@pytest.fixture
def glance_node(tmp_path, glance33):  # noqa: F811
    """(database URL, what Glance wrote, store dir) after our db_sync."""
    url = "sqlite:///%s" % (tmp_path / "glance.sqlite")
    store = tmp_path / "images"
    store.mkdir()
    glance = glance_oracle.Glance(glance33, url, tmp_path)
    glance.manage("db_sync")
    wrote = glance.write_rows(store)
    for args, status in ((("db_version",), 0), (("db", "check"), 3),
                         (("db_sync",), 0), (("db", "check"), 0)):
        done = manage(url, tmp_path, *args)
        assert done.returncode == status, (args, done.stdout, done.stderr)
    return url, wrote, store


def node_server(host, base_dir, venv, url, store):
    """Our server over the Glance 33 node's files (not started)."""
    srv = GlanceServer(base_dir) if host == "glance-api" else \
        WsgiHostServer(base_dir, host)
    conf = sample_conf(venv)
    assert conf["paste_deploy"]["flavor"] == "keystone"
    assert conf["DEFAULT"]["enabled_import_methods"].startswith("[")
    merge_conf(conf, srv.conf)  # our port, workers, log file, state path
    merge_conf(conf, {
        "database": {"connection": url},
        "glance_store": {"filesystem_store_datadir": str(store)},
        "file": {"filesystem_store_datadir": str(store)},
        "DEFAULT": {"node_staging_uri": "file://%s" % (base_dir / "staging"),
                    "image_cache_dir": str(base_dir / "cache"),
                    "show_multiple_locations": "true",
                    # no broker, no debugger, no Keystone in this test
                    "transport_url": None, "pydev_worker_debug_host": None},
        "paste_deploy": {"flavor": None},
    })
    srv.conf = conf
    srv.write_config()
    shutil.copy(glance_oracle_paste(venv), srv.etc_dir)
    return srv


def glance_oracle_paste(venv):
    return venv / "etc" / "glance" / "glance-api-paste.ini"


@pytest.mark.parametrize("host", ["glance-api", "uwsgi"])
def test_glance33_node_is_served_from_its_own_files(
        host, glance_node, glance33, tmp_path):  # noqa: F811
    url, wrote, store = glance_node
    srv = node_server(host, tmp_path / host, glance33, url, store)
    srv.start(timeout=60)
    try:
        check_images(srv, wrote, store)
        check_members_and_task(srv, wrote)
        tagged = srv.get("/v2/images?tag=alpha").json()["images"]
        assert [i["id"] for i in tagged] == [wrote["active"]]
        check_chunked_upload(srv)
    finally:
        srv.stop()


def check_chunked_upload(srv):
    data = bytes(range(256)) * 12289  # 3 MiB and a bit
    made = srv.request("POST", "/v2/images", json={
        "name": "after Glance", "disk_format": "raw",
        "container_format": "bare"})
    assert made.status_code == 201, made.text
    image_id = made.json()["id"]
    chunks = (data[i:i + 65536] for i in range(0, len(data), 65536))
    done = srv.request("PUT", "/v2/images/%s/file" % image_id, data=chunks,
                       headers=OCTET, timeout=120)
    assert done.status_code == 204, done.text
    image = srv.get("/v2/images/" + image_id).json()
    assert (image["status"], image["size"], image["checksum"]) == (
        "active", len(data), hashlib.md5(data).hexdigest())
    assert srv.get("/v2/images/%s/file" % image_id).content == data
