"""The cache console scripts behave as Glance's do where cron jobs and
scripts depend on it: the cron tools refuse to run without a usable
image cache directory, and glance-cache-manage takes Glance's flags."""
import os
import pathlib
import subprocess
import sys
import threading
import uuid

import pytest

from tests.functional import apiclient
from tests.functional.server import wait_for
from tests.functional.test_cache_client_keystone import (
    ADMIN_PASSWORD, ADMIN_USER, SERVICE_PASSWORD, SERVICE_USER, FakeKeystone)

BIN = pathlib.Path(sys.executable).parent
CRON_TOOLS = ("glance-cache-pruner", "glance-cache-cleaner",
              "glance-cache-prefetcher")


def run(script, *args, home=None, env=None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    clean.update(env or {})
    if home is not None:
        clean["HOME"] = str(home)
        clean.pop("XDG_DATA_HOME", None)
    return subprocess.run([str(BIN / script), *args], env=clean, cwd=home,
                          capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def one_line(result, prog):
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(prog + ": "), lines
    return lines[0]


@pytest.mark.parametrize("tool", CRON_TOOLS)
def test_cron_tool_without_cache_dir_exits_1(tmp_path, tool):
    home = tmp_path / "home"
    home.mkdir()
    conf = tmp_path / "glance-cache.conf"
    conf.write_text("[DEFAULT]\nimage_cache_max_size = 1000\n")
    for args in ((), ("--config-file", str(conf))):
        r = run(tool, *args, home=home)
        assert r.returncode == 1, (args, r.stderr)
        assert "image_cache_dir is not set" in one_line(r, tool)
        assert r.stdout == ""
    assert list(home.iterdir()) == []  # no cache made under $HOME


@pytest.mark.parametrize("tool", CRON_TOOLS[:2])
def test_cron_tool_with_unusable_cache_dir_exits_1(tmp_path, tool):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    conf = tmp_path / "glance-cache.conf"
    conf.write_text("[DEFAULT]\nimage_cache_dir = %s\n" % (not_a_dir / "c"))
    r = run(tool, "--config-file", str(conf), home=tmp_path)
    assert r.returncode == 1
    line = one_line(r, tool)
    assert str(not_a_dir / "c") in line and "not usable" in line


def test_cron_tool_with_a_cache_dir_runs(tmp_path):
    conf = tmp_path / "glance-cache.conf"
    conf.write_text("[DEFAULT]\nimage_cache_dir = %s\n" % (tmp_path / "c"))
    r = run("glance-cache-pruner", "--config-file", str(conf), "-v",
            home=tmp_path)
    assert (r.returncode, r.stderr) == (0, "")
    assert "Pruned 0 image(s)" in r.stdout


def test_manage_version_and_help(tmp_path):
    from glance import version
    r = run("glance-cache-manage", "--version", home=tmp_path)
    assert (r.returncode, r.stdout.strip()) == (0, version.version_string)
    r = run("glance-cache-manage", "help", home=tmp_path)
    assert r.returncode == 0
    for flag in ("-d, --debug", "-S", "--os-project-id",
                 "--os-user-domain-id", "--os-project-domain-id",
                 "--os-domain-id", "delete-all-queued-images"):
        assert flag in r.stdout, flag
    r = run("glance-cache-manage", "help", "queue-image", home=tmp_path)
    assert r.returncode == 0 and "queue-image IMAGE_ID" in r.stdout
    r = run("glance-cache-manage", "queue-image", home=tmp_path)
    assert r.returncode == 2 and "takes one IMAGE_ID" in r.stderr


def test_manage_glance_flags_against_the_server(glance_server, tmp_path):
    srv = glance_server(workers=1, flavor="cachemanagement",
                        conf={"DEFAULT": {"cache_prefetcher_interval": 1}})
    api = apiclient.Api(srv.url, apiclient.new_project("m"), apiclient.ADMIN)
    img = api.create(disk_format="raw", container_format="bare")
    assert api.put("/v2/images/%s/file" % img["id"], data=b"x" * 10,
                   headers={"Content-Type": apiclient.OCTET}
                   ).status_code == 204
    where = ("-H", "127.0.0.1", "-p", str(srv.port))
    # Glance's order: options after the command, -S, -d, -v
    r = run("glance-cache-manage", "queue-image", img["id"], *where, "-f",
            "-S", "noauth", "-d", "-v", home=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Queued image %s" % img["id"] in r.stdout
    assert "DEBUG" in r.stderr and "PUT " in r.stderr  # -d: debug log
    # queued images are cached by the node's periodic prefetcher
    wait_for(lambda: img["id"] in run("glance-cache-manage", "list-cached",
                                      *where, home=tmp_path).stdout,
             timeout=15, message="the image cached")
    r = run("glance-cache-manage", "delete-queued-image", "not-a-uuid",
            *where, "-f", home=tmp_path)
    assert r.returncode == 1
    assert "not a valid UUID" in one_line(r, "glance-cache-manage")


@pytest.fixture(scope="module")
def keystone():
    fake = FakeKeystone()
    thread = threading.Thread(target=fake.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.shutdown()
    fake.server_close()
    thread.join(5)


def test_manage_domain_and_project_ids(glance_server, keystone, tmp_path):
    authtoken = {"auth_type": "password", "auth_url": keystone.url + "/v3",
                 "www_authenticate_uri": keystone.url,
                 "username": SERVICE_USER, "password": SERVICE_PASSWORD,
                 "project_name": "service", "user_domain_name": "Default",
                 "project_domain_name": "Default"}
    srv = glance_server(workers=1, flavor="keystone+cachemanagement",
                        conf={"keystone_authtoken": authtoken})
    project_id = uuid.uuid4().hex
    r = run("glance-cache-manage", "-H", "127.0.0.1", "-p", str(srv.port),
            "-I", ADMIN_USER, "-K", ADMIN_PASSWORD, "-N", keystone.url,
            "--os-project-id", project_id, "--os-domain-id", "dom",
            "--os-user-domain-id", "users", "-S", "keystone", "list-cached",
            home=tmp_path)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    (login,) = [a for a in keystone.logins
                if a["identity"]["password"]["user"]["name"] == ADMIN_USER]
    assert login["identity"]["password"]["user"]["domain"] == {"id": "users"}
    assert login["scope"] == {"project": {"id": project_id}}
