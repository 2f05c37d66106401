"""Glance's bracketed list options, read as Glance reads them.

Glance declares ``enabled_import_methods``, ``image_import_plugins`` and
the ``[import_filtering_opts]`` lists with brackets (``[127.0.0.1]``,
``[80,443]``, ``['no_op']``). The real glance-api honours them (a
web-download from a local server passes the filters), and a value it
cannot interpret stops it at start-up with one line naming the option.
"""
import hashlib
import subprocess
import sys

import pytest

from tests.functional.apiclient import ADMIN, Api, new_project
from tests.functional.server import free_port, wait_for

DATA = b"bracketed lists " * 1024


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """``http://127.0.0.1:PORT/data`` served by a child process."""
    root = tmp_path_factory.mktemp("web")
    (root / "data").write_bytes(DATA)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
         "--directory", str(root), str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d/data" % port
    try:
        wait_for(lambda: _answers(url), timeout=10, message="web server")
        yield url, port
    finally:
        proc.terminate()
        proc.wait(10)


def _answers(url):
    import requests
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def glance_style_conf(port):
    return {
        "DEFAULT": {"enabled_import_methods": "['glance-direct', "
                                              "'web-download']"},
        "import_filtering_opts": {"allowed_hosts": "[127.0.0.1]",
                                  "allowed_ports": "[80,443,%d]" % port,
                                  "allowed_schemes": "[http,https]"},
        "image_import_opts": {"image_import_plugins": "['no_op']"},
    }


def test_bracketed_lists_let_web_download_through(glance_server, web):
    url, port = web
    srv = glance_server(workers=1, flavor="trusted-auth",
                        conf=glance_style_conf(port))
    api = Api(srv.url, new_project("br"), ADMIN)
    methods = api.get("/v2/info/import").json()["import-methods"]["value"]
    assert methods == ["glance-direct", "web-download"]
    img = api.create(disk_format="raw", container_format="bare")
    resp = api.post("/v2/images/%s/import" % img["id"], json={
        "method": {"name": "web-download", "uri": url}})
    assert resp.status_code == 202, resp.text
    done = wait_for(lambda: _settled(api, img["id"]), timeout=30,
                    message="the import")
    assert done["status"] == "active", done
    assert done["os_hash_value"] == hashlib.sha512(DATA).hexdigest()


def _settled(api, image_id):
    image = api.image(image_id)
    failed = image.get("os_glance_failed_import")
    return image if image["status"] == "active" or failed else None


BAD_VALUES = [
    ("import_filtering_opts", "allowed_ports", "[80, http]", "'http'"),
    ("import_filtering_opts", "allowed_ports", "[80, 70000]", "65535"),
    ("import_filtering_opts", "allowed_hosts", "[10.0.0.0/8]",
     "10.0.0.0/8"),
    ("import_filtering_opts", "disallowed_hosts", "[a, b", "]"),
    ("image_import_opts", "image_import_plugins", "['image_convert']",
     "image_convert"),
    ("DEFAULT", "enabled_import_methods", "[glance-direct, "
     "glance-upload]", "glance-upload"),
]


@pytest.mark.parametrize("group, name, value, detail", BAD_VALUES,
                         ids=["%s=%s" % (b[1], b[2]) for b in BAD_VALUES])
def test_a_value_that_does_not_parse_stops_start_up(glance_server, group,
                                                    name, value, detail):
    srv = glance_server(wait=False, workers=1, conf={group: {name: value}})
    assert srv.wait_for_exit(30) == 2
    lines = srv.output_file.read_text().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("glance-api: configuration error: [%s] %s"
                               % (group, name)), lines
    assert str(srv.conf_file) in lines[0] and detail in lines[0], lines
