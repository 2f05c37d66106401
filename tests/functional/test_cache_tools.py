"""The cache console scripts against the real glance-api (2 workers):
glance-cache-pruner, -cleaner, -prefetcher (cron, reading
glance-cache.conf) and glance-cache-manage (over HTTP)."""
import os
import pathlib
import subprocess
import sys
import time
import uuid

import pytest

from tests.functional import apiclient
from tests.functional.server import GlanceServer, format_conf, free_port, \
    wait_for

OCTET = "application/octet-stream"
BIN = pathlib.Path(sys.executable).parent


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = GlanceServer(tmp_path_factory.mktemp("cache-tools"),
                          flavor="cachemanagement", workers=2)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(srv):
    return apiclient.Api(srv.url, apiclient.new_project("p"),
                         apiclient.ADMIN)


def cache_dir(server):
    return pathlib.Path(server.state_path) / "image-cache"


def tool_conf(server, tmp_path, **defaults):
    conf = {"DEFAULT": dict({"state_path": str(server.state_path),
                             "log_file": str(tmp_path / "cache.log")},
                            **defaults),
            "database": {"connection": "sqlite:///%s"
                         % (pathlib.Path(server.state_path)
                            / "glance.sqlite")}}
    path = tmp_path / "glance-cache.conf"
    path.write_text(format_conf(conf))
    return str(path)


def run(script, *args, stdin=None):
    return subprocess.run([str(BIN / script), *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def cached(api):
    return {e["image_id"]: e for e in
            api.get("/v2/cache").json()["cached_images"]}


def download_into_cache(api, image_id):
    assert api.get("/v2/images/%s/file" % image_id).status_code == 200
    wait_for(lambda: image_id in cached(api), timeout=5)


def hit_after(api, image_id, other):
    """Download ``image_id`` from the cache; whether the cache now has it
    used after ``other`` (another hit is needed if the clock did not
    move on)."""
    assert api.get("/v2/images/%s/file" % image_id).status_code == 200
    entries = cached(api)
    return entries[image_id]["last_accessed"] > \
        entries[other]["last_accessed"]


def test_pruner_evicts_least_recently_used(srv, api, tmp_path):
    api.delete("/v2/cache")
    ids = [api.active(os.urandom(1000)) for _ in range(3)]
    for image_id in ids:
        download_into_cache(api, image_id)
    # ids[1] is now the LRU
    wait_for(lambda: hit_after(api, ids[0], ids[2]), timeout=5,
             message="the cache to record the hit after the last write")
    conf = tool_conf(srv, tmp_path, image_cache_max_size=2500)
    r = run("glance-cache-pruner", "--config-file", conf)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert set(cached(api)) == {ids[0], ids[2]}
    r = run("glance-cache-pruner", "--config-file", conf, "--verbose")
    assert r.returncode == 0 and "Pruned 0 image(s)" in r.stdout


def test_cleaner_removes_stalled_and_invalid(srv, api, tmp_path):
    incomplete = cache_dir(srv) / "incomplete"
    old, fresh = incomplete / str(uuid.uuid4()), incomplete / str(
        uuid.uuid4())
    old.write_bytes(b"stalled")
    fresh.write_bytes(b"in progress")
    past = time.time() - 3600
    os.utime(old, (past, past))
    invalid = cache_dir(srv) / "invalid" / str(uuid.uuid4())
    invalid.write_bytes(b"bad")
    conf = tool_conf(srv, tmp_path, image_cache_stall_time=600)
    r = run("glance-cache-cleaner", "--config-file", conf, "-v")
    assert r.returncode == 0, r.stderr
    assert "Cleaned 2 file(s)" in r.stdout
    assert not old.exists() and not invalid.exists() and fresh.exists()
    fresh.unlink()


def test_prefetcher_fetches_queued_images(srv, api, tmp_path):
    data = [os.urandom(5000), os.urandom(7000)]
    ids = [api.active(d) for d in data]
    for image_id in ids:  # queued behind the daemon's back
        (cache_dir(srv) / "queue" / image_id).touch()
    conf = tool_conf(srv, tmp_path)
    r = run("glance-cache-prefetcher", "--config-file", conf)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", ""), r.stderr
    now = cached(api)
    assert {i: now[i]["size"] for i in ids} == {ids[0]: 5000, ids[1]: 7000}
    assert api.get("/v2/cache").json()["queued_images"] == []
    assert api.get("/v2/images/%s/file" % ids[1]).content == data[1]


def test_tools_bad_config_exit_2(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("[DEFAULT]\nimage_cache_max_size = lots\n")
    for script in ("glance-cache-pruner", "glance-cache-cleaner"):
        r = run(script, "--config-file", str(bad))
        assert r.returncode in (1, 2), (script, r.stderr)
        assert r.stderr.strip()
    r = run("glance-cache-pruner", "--config-file", str(tmp_path / "nope"))
    assert r.returncode == 2 and "configuration error" in r.stderr


def manage(srv, *args, stdin=None):
    return run("glance-cache-manage", "--host", "127.0.0.1", "--port",
               str(srv.port), *args, stdin=stdin)


def test_manage_commands(srv, api, tmp_path):
    api.delete("/v2/cache")
    r = manage(srv, "list-cached")
    assert r.returncode == 0 and "No cached images" in r.stdout
    r = manage(srv, "list-queued")
    assert r.returncode == 0 and "No queued images" in r.stdout
    a, b = api.active(b"a" * 10), api.active(b"b" * 20)
    r = manage(srv, "--force", "queue-image", a)
    assert r.returncode == 0, r.stderr
    # queued images wait for the prefetcher (cron, or the daemon's own
    # every cache_prefetcher_interval), as in Glance
    assert a in manage(srv, "list-queued").stdout
    r = run("glance-cache-prefetcher", "--config-file",
            tool_conf(srv, tmp_path))
    assert r.returncode == 0, r.stderr
    wait_for(lambda: a in cached(api), timeout=15)
    download_into_cache(api, b)
    r = manage(srv, "list-cached")
    assert r.returncode == 0 and "Found 2 cached images" in r.stdout
    assert a in r.stdout and b in r.stdout and "Hits" in r.stdout
    # confirmation declined: nothing happens
    r = manage(srv, "delete-cached-image", a, stdin="n\n")
    assert r.returncode == 0 and a in cached(api)
    r = manage(srv, "delete-cached-image", a, stdin="y\n")
    assert r.returncode == 0 and a not in cached(api)
    r = manage(srv, "-f", "-v", "delete-all-cached-images")
    assert r.returncode == 0 and "Deleted 1 cached images" in r.stdout
    assert cached(api) == {}
    (cache_dir(srv) / "queue" / a).touch()
    r = manage(srv, "list-queued")
    assert r.returncode == 0 and a in r.stdout
    r = manage(srv, "-f", "delete-queued-image", a)
    assert r.returncode == 0
    (cache_dir(srv) / "queue" / b).touch()
    r = manage(srv, "-f", "-v", "delete-all-queued-images")
    assert r.returncode == 0 and "Deleted 1 queued images" in r.stdout


def test_manage_errors(srv, glance_server):
    r = run("glance-cache-manage", "--port", str(free_port()),
            "--host", "127.0.0.1", "list-cached")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "cannot reach" in r.stderr
    r = manage(srv, "-f", "queue-image", str(uuid.uuid4()))
    assert r.returncode == 1 and "not found" in r.stderr
    r = manage(srv, "bogus-command")
    assert r.returncode == 2
    locked = glance_server(flavor="trusted-auth+cachemanagement", workers=1)
    r = manage(locked, "list-cached")
    assert r.returncode == 1 and "refused" in r.stderr
