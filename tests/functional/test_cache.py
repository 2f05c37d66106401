"""The image cache through the real glance-api (2 workers): the caching
middleware and the cache management API."""
import concurrent.futures
import hashlib
import os
import pathlib
import uuid

import pytest
import requests

from tests.functional import apiclient
from tests.functional.server import GlanceServer, wait_for

OCTET = "application/octet-stream"


def md5(data):
    return hashlib.md5(data).hexdigest()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = GlanceServer(tmp_path_factory.mktemp("cache-server"),
                          flavor="trusted-auth+cachemanagement", workers=2,
                          conf={"DEFAULT": {
                              "cache_prefetcher_interval": 1}})
    server.start()
    yield server
    server.stop()


def cache_dir(server):
    return pathlib.Path(server.state_path) / "image-cache"


@pytest.fixture
def p1(srv):
    return apiclient.Api(srv.url, apiclient.new_project("p1"))


@pytest.fixture
def admin(p1):
    return p1.as_role(apiclient.ADMIN)


def cached(admin):
    r = admin.get("/v2/cache")
    assert r.status_code == 200, r.text
    return {e["image_id"]: e for e in r.json()["cached_images"]}


def queued(admin):
    return admin.get("/v2/cache").json()["queued_images"]


def test_tee_on_first_download_then_hit(p1, admin, srv):
    data = os.urandom(200 * 1024)
    image_id = p1.active(data)
    assert image_id not in cached(admin)
    r = p1.get("/v2/images/%s/file" % image_id)
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-MD5"] == md5(data)
    entry = wait_for(lambda: cached(admin).get(image_id), timeout=5)
    assert entry["size"] == len(data) and entry["hits"] == 0
    assert (cache_dir(srv) / image_id).read_bytes() == data
    for _ in range(2):
        r = p1.get("/v2/images/%s/file" % image_id)
        assert r.status_code == 200 and r.content == data
        assert r.headers["Content-Length"] == str(len(data))
        assert r.headers["Content-MD5"] == md5(data)
    assert cached(admin)[image_id]["hits"] == 2
    r = p1.get("/v2/images/%s/file" % image_id,
               headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["Content-Range"] == "bytes 10-19/%d" % len(data)
    r = p1.get("/v2/images/%s/file" % image_id,
               headers={"Range": "bytes=%d-" % len(data)})
    assert r.status_code == 416
    assert cached(admin)[image_id]["hits"] == 3


def test_served_from_cache_not_store(p1, admin, srv):
    image_id = p1.active(b"original")
    p1.get("/v2/images/%s/file" % image_id)
    wait_for(lambda: image_id in cached(admin), timeout=5)
    # the store's copy is gone: the cache still answers
    for path in pathlib.Path(srv.state_path).rglob(image_id):
        if "image-cache" not in str(path):
            path.unlink()
    r = p1.get("/v2/images/%s/file" % image_id)
    assert r.status_code == 200 and r.content == b"original"


def test_authorization_through_the_cache(p1, admin, srv):
    image_id = p1.active(b"secret")
    p1.get("/v2/images/%s/file" % image_id)
    wait_for(lambda: image_id in cached(admin), timeout=5)
    other = apiclient.Api(srv.url, apiclient.new_project("p2"))
    assert other.get("/v2/images/%s/file" % image_id).status_code == 404
    assert other.as_role(apiclient.ADMIN).get(
        "/v2/images/%s/file" % image_id).status_code == 200
    assert admin.post("/v2/images/%s/actions/deactivate"
                      % image_id).status_code == 204
    r = p1.get("/v2/images/%s/file" % image_id)
    assert r.status_code == 403
    assert "deactivated" in r.text
    assert admin.post("/v2/images/%s/actions/reactivate"
                      % image_id).status_code == 204
    assert p1.get("/v2/images/%s/file" % image_id).content == b"secret"


def test_policy_denial_through_the_cache(p1, admin, srv):
    image_id = p1.active(b"reader-may-not")
    reader = p1.as_role(apiclient.READER)
    uncached = reader.get("/v2/images/%s/file" % image_id)
    p1.get("/v2/images/%s/file" % image_id)
    wait_for(lambda: image_id in cached(admin), timeout=5)
    hit = reader.get("/v2/images/%s/file" % image_id)
    assert (hit.status_code, uncached.status_code) == (403, 403)
    assert "download_image" in hit.text
    anonymous = requests.get(srv.url + "/v2/images/%s/file" % image_id)
    assert anonymous.status_code in (401, 403, 404)
    assert cached(admin)[image_id]["hits"] == 0


def test_checksum_mismatch_is_not_cached(p1, admin, srv):
    data = b"will-be-corrupted"
    image_id = p1.active(data)
    # corrupt the store's copy (same length): the checksum fails
    [stored] = [p for p in pathlib.Path(srv.state_path).rglob(image_id)
                if "image-cache" not in str(p)]
    stored.write_bytes(b"X" * len(data))
    r = p1.get("/v2/images/%s/file" % image_id)
    assert r.status_code == 200
    invalid = cache_dir(srv) / "invalid" / image_id
    wait_for(invalid.exists, timeout=5)
    assert image_id not in cached(admin)
    assert not (cache_dir(srv) / image_id).exists()


def test_cut_off_download_leaves_cache_consistent(p1, admin, srv):
    # several tee chunks: the tee commits a complete file before it sends
    # the last one, so a one-chunk image would be cached all the same
    data = os.urandom(32 * 1024 * 1024)
    image_id = p1.active(data)
    with p1.get("/v2/images/%s/file" % image_id, stream=True) as r:
        assert r.status_code == 200
        next(r.iter_content(65536))
    wait_for(lambda: not list((cache_dir(srv) / "incomplete").iterdir()),
             timeout=10, message="the incomplete file to go")
    assert image_id not in cached(admin)
    r = p1.get("/v2/images/%s/file" % image_id)
    assert r.content == data
    wait_for(lambda: image_id in cached(admin), timeout=5)
    assert p1.get("/v2/images/%s/file" % image_id).content == data


def test_cut_off_hit_counts_no_hit_and_keeps_the_file(p1, admin, srv):
    data = os.urandom(64 * 1024 * 1024)
    image_id = p1.active(data)
    assert p1.get("/v2/images/%s/file" % image_id).content == data
    wait_for(lambda: image_id in cached(admin), timeout=10)
    with p1.get("/v2/images/%s/file" % image_id, stream=True) as r:
        assert r.status_code == 200
        next(r.iter_content(65536))    # then the client goes away
    entry = cached(admin)[image_id]
    assert entry["hits"] == 0 and entry["size"] == len(data)
    r = p1.get("/v2/images/%s/file" % image_id)
    assert r.content == data and r.headers["Content-MD5"] == md5(data)
    assert cached(admin)[image_id]["hits"] == 1
    assert (cache_dir(srv) / image_id).stat().st_size == len(data)
    # other tests here count what the cache holds
    assert p1.delete("/v2/images/" + image_id).status_code == 204
    assert image_id not in cached(admin)


def test_concurrent_first_downloads(p1, admin, srv):
    data = os.urandom(4 * 1024 * 1024)
    image_id = p1.active(data)

    def fetch(_):
        api = apiclient.Api(srv.url, p1.project)
        return api.get("/v2/images/%s/file" % image_id).content
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        bodies = list(pool.map(fetch, range(6)))
    assert all(body == data for body in bodies)
    wait_for(lambda: image_id in cached(admin), timeout=5)
    assert (cache_dir(srv) / image_id).read_bytes() == data
    assert list((cache_dir(srv) / "incomplete").iterdir()) == []
    names = [p.name for p in cache_dir(srv).iterdir()]
    assert names.count(image_id) == 1


def test_deleting_image_drops_it_from_cache(p1, admin, srv):
    image_id = p1.active(b"cached-data")
    p1.get("/v2/images/%s/file" % image_id)
    wait_for(lambda: image_id in cached(admin), timeout=5)
    assert p1.delete("/v2/images/%s" % image_id).status_code == 204
    assert image_id not in cached(admin)
    assert not (cache_dir(srv) / image_id).exists()


# --- the cache management API ---

def test_cache_list_shape_and_admin_only(p1, admin):
    r = admin.get("/v2/cache")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert set(r.json()) == {"cached_images", "queued_images"}
    for method, path, action in [("GET", "/v2/cache", "cache_list"),
                                 ("DELETE", "/v2/cache", "cache_delete")]:
        r = p1.request(method, path)
        assert r.status_code == 403 and action in r.text
    image_id = p1.active(b"cached-data")
    for method, action in [("PUT", "cache_image"), ("DELETE",
                                                    "cache_delete")]:
        r = p1.request(method, "/v2/cache/" + image_id)
        assert r.status_code == 403 and action in r.text
    assert p1.put("/v2/cache/%s" % uuid.uuid4()).status_code == 404


def test_queue_then_prefetched(p1, admin):
    image_id = p1.active(b"x" * 33)
    r = admin.put("/v2/cache/" + image_id)
    assert r.status_code == 202 and r.content == b""
    entry = wait_for(lambda: cached(admin).get(image_id), timeout=15)
    assert entry["size"] == 33 and isinstance(entry["hits"], int)
    assert set(entry) >= {"image_id", "last_accessed", "last_modified",
                          "size", "hits"}
    assert image_id not in queued(admin)
    # the nodes caching an image: every node with the centralized_db
    # driver (tests/functional/test_multinode.py), this one with SQLite
    nodes = admin.get("/v2/cache/nodes/" + image_id)
    assert nodes.status_code == 200 and len(nodes.json()) == 1, nodes.text
    assert p1.get("/v2/cache/nodes/" + image_id).status_code == 403
    assert admin.delete("/v2/cache/" + image_id).status_code == 204
    assert image_id not in cached(admin)
    assert admin.delete("/v2/cache/" + image_id).status_code == 204
    assert admin.get("/v2/cache/nodes/" + image_id).json() == []


def test_queue_errors(p1, admin):
    img = p1.create(disk_format="raw", container_format="bare")
    r = admin.put("/v2/cache/" + img["id"])
    assert r.status_code == 400
    assert "Only images with status active" in r.text
    for method in ("PUT", "DELETE"):
        assert admin.request(method, "/v2/cache/%s"
                             % uuid.uuid4()).status_code == 404
        assert admin.request(method,
                             "/v2/cache/not-a-uuid").status_code == 404


def test_clear_targets(p1, admin):
    r = admin.delete("/v2/cache",
                     headers={"x-image-cache-clear-target": "bogus"})
    assert r.status_code == 400 and "x-image-cache-clear-target" in r.text
    image_id = p1.active(b"cached-data")
    p1.get("/v2/images/%s/file" % image_id)
    wait_for(lambda: image_id in cached(admin), timeout=5)
    r = admin.delete("/v2/cache",
                     headers={"x-image-cache-clear-target": "queue"})
    assert r.status_code == 204 and queued(admin) == []
    assert image_id in cached(admin)
    r = admin.delete("/v2/cache",
                     headers={"x-image-cache-clear-target": "cache"})
    assert r.status_code == 204 and image_id not in cached(admin)
    assert admin.delete("/v2/cache").status_code == 204


def test_methods_not_allowed(admin):
    r = admin.post("/v2/cache")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, DELETE"
    r = admin.get("/v2/cache/%s" % uuid.uuid4())
    assert r.status_code == 405 and r.headers["Allow"] == "DELETE, PUT"


def test_prune_and_clean_endpoints(p1, admin):
    r = admin.post("/v2/cache/prune")
    assert r.status_code == 200
    assert set(r.json()) == {"total_files_pruned", "total_bytes_pruned"}
    r = admin.post("/v2/cache/clean")
    assert (r.status_code, r.content) == (200, b"")  # as Glance
    for action in ("prune", "clean"):
        r = p1.post("/v2/cache/" + action)
        assert r.status_code == 403
        assert "cache_%s action" % action in r.text  # its own policy


def test_legacy_routes(p1, admin):
    image_id = p1.active(b"cached-data")
    assert admin.put("/v2/queued_images/" + image_id).status_code == 200
    wait_for(lambda: image_id in cached(admin), timeout=15)
    r = admin.get("/v2/cached_images")
    assert image_id in [e["image_id"] for e in r.json()["cached_images"]]
    assert admin.get("/v2/queued_images").json() == {"queued_images": []}
    # 200, as Glance answers
    assert admin.delete("/v2/cached_images/" + image_id).status_code == 200
    # other tests on this server may have left images in the cache
    assert admin.delete("/v2/cached_images").status_code == 200
    assert admin.delete("/v2/cached_images").json() == {"num_deleted": 0}
    assert cached(admin) == {}
    assert p1.get("/v2/cached_images").status_code == 403
