"""The legacy cache routes under /v1 that the old CacheClient speaks."""
import urllib.parse

from tests.functional.apiclient import ADMIN, Api, new_project


def test_v1_cached_and_queued_images(glance_server):
    srv = glance_server(workers=1, flavor="trusted-auth+cachemanagement")
    admin = Api(srv.url, new_project("a"), ADMIN)
    img = admin.create(disk_format="raw", container_format="bare")
    resp = admin.put("/v2/images/%s/file" % img["id"], data=b"legacy",
                     headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 204
    assert admin.get("/v1/cached_images").json() == {"cached_images": []}
    assert admin.get("/v1/queued_images").status_code == 200
    member = Api(srv.url, admin.project)
    assert member.get("/v1/cached_images").status_code == 403
    assert Api(srv.url, "x").get("/v1/images").status_code == 300

    from glance.image_cache import client
    parsed = urllib.parse.urlsplit(srv.url)
    legacy = client.CacheClient(parsed.hostname, parsed.port,
                                doc_root="/v1")
    legacy.session.headers.update({
        "X-Identity-Status": "Confirmed", "X-Project-Id": admin.project,
        "X-User-Id": "u", "X-Roles": ADMIN})
    assert legacy.get_cached_images() == []
    assert legacy.get_queued_images() == []


def test_odd_cache_paths_are_4xx(glance_server):
    srv = glance_server(workers=1, flavor="trusted-auth+cachemanagement")
    admin = Api(srv.url, new_project("a"), ADMIN)
    for method, path in (("GET", "/v2/cache/"), ("DELETE", "/v2/cache//"),
                         ("PUT", "/v2/cache/..%2f..%2fetc"),
                         ("DELETE", "/v2/cache/%2F")):
        resp = admin.request(method, path)
        assert 400 <= resp.status_code < 500, (method, path,
                                               resp.status_code)
    resp = admin.post("/v2/tasks", json={"type": "import", "input": None})
    assert resp.status_code == 400
