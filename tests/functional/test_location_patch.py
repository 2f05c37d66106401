"""``show_multiple_locations``: an image's locations changed by JSON-patch
(``PATCH /v2/images/{id}`` on ``/locations``), store weights, and the
locations API with ``do_secure_hash = False``.

One multi-store server (two file stores with weights, the read-only http
store ``web``) and a local HTTP server on 127.0.0.1 for the data of the
http locations. What is checked is what Glance 33 answers: the image goes
``queued -> active`` with no hashing when a location is added, validation
data fills in the hashes (409 on a mismatch), only metadata may change by
``replace``, the last location cannot be removed (403), and removing a
file store's location deletes its data.
"""
import hashlib
import os

import pytest

from tests.functional.apiclient import ADMIN, MEMBER, OCTET, Api, \
    new_project
from tests.functional.server import GlanceServer, wait_for
from tests.functional.test_http_store import publish, web  # noqa: F401

KiB = 1024
DATA = os.urandom(64 * KiB + 1)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    base = tmp_path_factory.mktemp("location-patch")
    server = GlanceServer(base, flavor="trusted-auth", workers=1, conf={
        "DEFAULT": {"show_multiple_locations": True,
                    "enabled_backends": {"light": "file", "heavy": "file",
                                         "web": "http"},
                    "image_location_quota": 3,
                    "enabled_import_methods": ["glance-direct",
                                               "copy-image"]},
        "glance_store": {"default_backend": "light"},
        "light": {"filesystem_store_datadir": base / "light",
                  "weight": 10},
        "heavy": {"filesystem_store_datadir": base / "heavy",
                  "weight": 90}})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def data_url(web):  # noqa: F811 - the fixture imported above
    return publish(web, "patch.raw", DATA)


@pytest.fixture
def api(srv):
    return Api(srv.url, new_project("lp"), MEMBER)


def admin_of(api):
    return Api(api.base_url, api.project, ADMIN)


def add(url, metadata=None, position="-", **validation_data):
    value = {"url": url, "metadata": metadata or {}}
    if validation_data:
        value["validation_data"] = validation_data
    return [{"op": "add", "path": "/locations/%s" % position,
             "value": value}]


def new_image(api):
    return api.create(disk_format="raw", container_format="bare")


def test_add_makes_a_queued_image_active_without_hashing(srv, api,
                                                         data_url):
    img = new_image(api)
    assert img["locations"] == []
    r = api.patch(img["id"], add(data_url, {"foo": "bar"}))
    assert r.status_code == 200, (r.text, srv.tail())
    got = api.image(img["id"])
    assert got["status"] == "active"
    assert got["size"] == len(DATA)     # asked of the http store
    assert got["checksum"] is None and got["os_hash_algo"] is None
    assert got["locations"] == [
        {"url": data_url, "metadata": {"foo": "bar", "store": "web"}}]
    assert got["stores"] == "web"
    assert api.get("/v2/images/%s/file" % img["id"]).content == DATA
    # a second location, then the same one again: 400
    second = data_url + "#2"
    assert api.patch(img["id"], add(second, {"n": "2"})).status_code == 200
    assert api.patch(img["id"], add(second, {"n": "2"})).status_code == 400
    urls = [loc["url"] for loc in api.image(img["id"])["locations"]]
    assert urls == [data_url, second]


def test_bad_locations_are_400(api, data_url, web):  # noqa: F811
    img = new_image(api)
    for url in ("gopher://info.cern.ch", "file:///etc/passwd",
                web[0] + "/missing.raw"):
        r = api.patch(img["id"], add(url))
        assert r.status_code == 400, (url, r.text)
        assert "Invalid location" in r.text
    assert api.patch(img["id"], add(data_url, position="x")) \
        .status_code == 400
    r = api.patch(img["id"], add(data_url, {"n": 1}))
    assert r.status_code == 400 and "invalid type" in r.text
    assert api.image(img["id"])["status"] == "queued"


def test_validation_data(api, data_url):
    img = new_image(api)
    given = {"checksum": "1" * 32, "os_hash_algo": "sha512",
             "os_hash_value": "deadbeef" * 16}
    r = api.patch(img["id"], add(data_url, **given))
    assert r.status_code == 200, r.text
    got = api.image(img["id"])
    assert got["status"] == "active"
    assert {k: got[k] for k in given} == given
    assert "validation_data" not in got["locations"][0]
    # the same values again: fine; other ones: 409 each, nothing changes
    r = api.patch(img["id"], add(data_url + "#same", **given))
    assert r.status_code == 200, r.text
    for key, other in (("checksum", "2" * 32), ("os_hash_algo", "sha256"),
                       ("os_hash_value", "beefdead" * 16)):
        r = api.patch(img["id"], add(data_url + "#other",
                                     **dict(given, **{key: other})))
        assert r.status_code == 409, (key, r.text)
    assert len(api.image(img["id"])["locations"]) == 2
    # a new image: the algorithm must be the configured one (409)
    img = new_image(api)
    r = api.patch(img["id"], add(data_url, os_hash_algo="sha256",
                                 os_hash_value="ab" * 32))
    assert r.status_code == 409 and "must be sha512" in r.text
    assert api.image(img["id"])["status"] == "queued"


def test_replace_changes_metadata_only(api, data_url):
    img = new_image(api)
    api.patch(img["id"], add(data_url, {"a": "1"}))
    api.patch(img["id"], add(data_url + "#b", {"b": "2"}))
    locs = api.image(img["id"])["locations"]
    locs[0]["metadata"]["date"] = "2015-10-15"
    r = api.patch(img["id"], [{"op": "replace", "path": "/locations",
                               "value": locs}])
    assert r.status_code == 200, r.text
    assert api.image(img["id"])["locations"] == locs
    # dropping or changing a URL by replace: 400; empty: 403
    for value in ([locs[0]], [locs[0], dict(locs[1], url=data_url + "#c")]):
        r = api.patch(img["id"], [{"op": "replace", "path": "/locations",
                                   "value": value}])
        assert r.status_code == 400, r.text
    r = api.patch(img["id"], [{"op": "replace", "path": "/locations",
                               "value": []}])
    assert r.status_code == 403
    assert api.image(img["id"])["locations"] == locs


def test_replace_on_a_queued_image_sets_the_locations(api, data_url):
    img = new_image(api)
    r = api.patch(img["id"], [{"op": "replace", "path": "/locations",
                               "value": [{"url": data_url,
                                          "metadata": {}}]}])
    assert r.status_code == 200, r.text
    got = api.image(img["id"])
    assert got["status"] == "active" and got["size"] == len(DATA)


def test_remove_is_admin_only_and_keeps_the_last(srv, api, data_url):
    img = new_image(api)
    api.patch(img["id"], add(data_url, {"a": "1"}))
    api.patch(img["id"], add(data_url + "#b", {"b": "2"}))
    remove = [{"op": "remove", "path": "/locations/0"}]
    assert api.patch(img["id"], remove).status_code == 403   # policy
    admin = admin_of(api)
    assert admin.patch(img["id"], [{"op": "remove", "path":
                                    "/locations/5"}]).status_code == 400
    r = admin.patch(img["id"], remove)
    assert r.status_code == 200, (r.text, srv.tail())
    locs = api.image(img["id"])["locations"]
    assert [loc["url"] for loc in locs] == [data_url + "#b"]
    r = admin.patch(img["id"], remove)
    assert r.status_code == 403 and "last location" in r.text
    # not on a queued image (409)
    queued = new_image(api)
    assert admin.patch(queued["id"], remove).status_code == 409


def in_light_and_heavy(api):
    """An image uploaded to ``light``, then copied to ``heavy``."""
    img = new_image(api)
    r = api.put("/v2/images/%s/file" % img["id"], data=DATA,
                headers={"Content-Type": OCTET, "X-Image-Meta-Store":
                         "light"})
    assert r.status_code == 204, r.text
    r = admin_of(api).post("/v2/images/%s/import" % img["id"], json={
        "method": {"name": "copy-image"}, "stores": ["heavy"]})
    assert r.status_code == 202, r.text
    wait_for(lambda: len(api.image(img["id"])["locations"]) == 2,
             timeout=30, message="copy to heavy")
    return img


def test_remove_deletes_file_store_data(srv, api):
    img = in_light_and_heavy(api)
    got = api.image(img["id"])
    # the heavier store first, in "stores" and "locations"
    assert got["stores"] == "heavy,light"
    assert [loc["metadata"]["store"] for loc in got["locations"]] == \
        ["heavy", "light"]
    light = got["locations"][1]["url"]
    assert os.path.exists(light[len("file://"):])
    r = admin_of(api).patch(img["id"], [{"op": "remove",
                                         "path": "/locations/1"}])
    assert r.status_code == 200, (r.text, srv.tail())
    assert api.image(img["id"])["stores"] == "heavy"
    assert not os.path.exists(light[len("file://"):])
    assert api.get("/v2/images/%s/file" % img["id"]).content == DATA


def test_download_reads_the_heaviest_store_first(srv, api):
    """Uploaded to ``light``, copied to ``heavy``: the download reads
    ``heavy`` (the bytes left in ``light`` are overwritten here with
    others of the same size, which a read of ``light`` would return)."""
    img = in_light_and_heavy(api)
    light = srv.base_dir / "light" / img["id"]
    light.write_bytes(bytes(len(DATA)))
    assert api.get("/v2/images/%s/file" % img["id"]).content == DATA


def test_location_quota(api, data_url):
    img = new_image(api)
    for n in range(3):
        r = api.patch(img["id"], add("%s#%d" % (data_url, n)))
        assert r.status_code == 200, r.text
    assert api.patch(img["id"], add(data_url + "#4")).status_code == 413


def test_weights_in_stores_detail(srv):
    admin = Api(srv.url, new_project("w"), ADMIN)
    stores = admin.get("/v2/info/stores/detail").json()["stores"]
    assert {s["id"]: s["weight"] for s in stores} == \
        {"light": 10, "heavy": 90, "web": 0}


def test_locations_api_without_secure_hash(glance_server, web):  # noqa: F811
    server = glance_server(flavor="trusted-auth", workers=1, conf={
        "DEFAULT": {"do_secure_hash": False}})
    api = Api(server.url, new_project("nsh"), MEMBER)
    url = publish(web, "nohash.raw", DATA)
    # no validation data: active with the size the server tells, no hashes
    img = new_image(api)
    r = api.post("/v2/images/%s/locations" % img["id"], json={"url": url})
    assert r.status_code == 202, (r.text, server.tail())
    got = api.image(img["id"])
    assert got["status"] == "active" and got["size"] == len(DATA)
    assert got["checksum"] is None and got["os_hash_value"] is None
    # validation data: taken as given, unchecked
    img = new_image(api)
    value = hashlib.sha256(b"not the data").hexdigest()
    r = api.post("/v2/images/%s/locations" % img["id"], json={
        "url": url, "validation_data": {"os_hash_algo": "sha256",
                                        "os_hash_value": value}})
    assert r.status_code == 202, r.text
    got = api.image(img["id"])
    assert got["status"] == "active" and got["os_hash_value"] == value
    assert got["os_hash_algo"] == "sha256" and got["checksum"] is None
    tasks = api.get("/v2/images/%s/tasks" % img["id"]).json()["tasks"]
    assert [t["status"] for t in tasks] == ["success"]


def test_single_store_and_storage_quota(glance_server, web):  # noqa: F811
    server = glance_server(flavor="trusted-auth", workers=1, conf={
        "DEFAULT": {"show_multiple_locations": True,
                    "user_storage_quota": "100KB"}})
    api = Api(server.url, new_project("sq"), MEMBER)
    small = publish(web, "small.raw", b"s" * KiB)
    img = new_image(api)
    r = api.patch(img["id"], add(small, {"k": "v"}))
    assert r.status_code == 200, (r.text, server.tail())
    got = api.image(img["id"])
    assert got["locations"] == [{"url": small, "metadata": {"k": "v"}}]
    assert got["status"] == "active" and got["size"] == KiB
    big = publish(web, "big.raw", os.urandom(200 * KiB))
    img = new_image(api)
    r = api.patch(img["id"], add(big))
    assert r.status_code == 413, r.text
    assert api.image(img["id"])["status"] == "queued"
