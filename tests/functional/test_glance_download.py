"""glance-download between two real daemons: "RegionTwo" (no auth, holds
the source images) and the local one (trusted-auth), which finds
RegionTwo's endpoint in the caller's X-Service-Catalog header."""
import html
import json
import os
import uuid

import pytest

from tests.functional.apiclient import Api, MEMBER, OCTET, new_project
from tests.functional.server import GlanceServer
from tests.functional.test_import import md5, sha512, wait_done

KiB = 1024
CAP = 256 * KiB
DATA = os.urandom(100 * KiB)


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    server = GlanceServer(tmp_path_factory.mktemp("region-two"), workers=1)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def local(tmp_path_factory, remote):
    server = GlanceServer(
        tmp_path_factory.mktemp("region-one"), flavor="trusted-auth",
        workers=1, conf={
            "DEFAULT": {"enabled_import_methods":
                        "[glance-direct, web-download, glance-download]",
                        "image_size_cap": CAP},
            "import_filtering_opts": {"allowed_hosts": ["127.0.0.1"],
                                      "allowed_ports": [remote.port]}})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(local):
    return Api(local.url, new_project("gd"), MEMBER)


def catalog(remote):
    """A service catalog as keystonemiddleware passes it."""
    return json.dumps([
        {"type": "identity", "endpoints": [
            {"region": "RegionTwo", "publicURL": "http://127.0.0.1:1"}]},
        {"type": "image", "name": "glance", "endpoints": [
            {"region": "RegionTwo", "publicURL": remote.url,
             "internalURL": remote.url + "/"},
            # not in [import_filtering_opts] allowed_hosts
            {"region": "Filtered",
             "publicURL": "http://127.0.0.2:%d" % remote.port}]}])


def remote_image(remote, data=None, **props):
    """An image in RegionTwo: active with ``data``, else queued."""
    body = dict({"disk_format": "raw", "container_format": "bare",
                 "name": "source"}, **props)
    r = remote.request("POST", "/v2/images", json=body)
    assert r.status_code == 201, r.text
    image = r.json()
    if data is not None:
        r = remote.request("PUT", "/v2/images/%s/file" % image["id"],
                           data=data, headers={"Content-Type": OCTET})
        assert r.status_code == 204, r.text
    return remote.request("GET", "/v2/images/%s" % image["id"]).json()


def import_from(api, remote, image_id, region="RegionTwo", expect=202,
                headers=None, **fields):
    method = dict({"name": "glance-download", "glance_region": region},
                  **fields)
    all_headers = {"X-Service-Catalog": catalog(remote),
                   "X-Auth-Token": "token-of-" + api.project}
    all_headers.update(headers or {})
    r = api.post("/v2/images/%s/import" % image_id,
                 json={"method": method}, headers=all_headers)
    assert r.status_code == expect, r.text
    return r


def local_image(api, **props):
    body = dict({"disk_format": "iso", "container_format": "ovf"}, **props)
    return api.create(**body)


def staged(server):
    path = server.state_path / "staging"
    return sorted(os.listdir(path)) if path.is_dir() else []


def user_props(image):
    skip = {"os_glance_importing_to_stores", "os_glance_failed_import",
            "os_glance_import_task", "stores", "direct_url", "file",
            "schema", "self", "updated_at", "status"}
    return {k: v for k, v in image.items() if k not in skip}


def test_advertised_in_info_import(api):
    r = api.get("/v2/info/import")
    assert "glance-download" in r.json()["import-methods"]["value"]


def test_import_from_other_region(local, remote, api):
    src = remote_image(remote, DATA, hw_cpu_cores="5",
                       **{"trait:STORAGE_DISK_SSD": "required",
                          "os_distro": "rhel", "speed": "88mph"})
    assert src["status"] == "active"
    dst = local_image(api, hw_cpu_cores="1", os_distro="windows")
    import_from(api, remote, dst["id"], glance_image_id=src["id"])
    got, task = wait_done(api, dst["id"])
    assert task["status"] == "success", task["message"]
    assert got["status"] == "active"
    assert got["size"] == len(DATA) == src["size"]
    assert got["checksum"] == md5(DATA) == src["checksum"]
    assert got["os_hash_value"] == sha512(DATA) == src["os_hash_value"]
    assert api.get("/v2/images/%s/file" % dst["id"]).content == DATA
    # the remote's formats and the default extra_properties
    assert (got["disk_format"], got["container_format"]) == ("raw", "bare")
    assert got["hw_cpu_cores"] == "5"
    assert got["trait:STORAGE_DISK_SSD"] == "required"
    assert got["os_distro"] == "rhel"
    assert "speed" not in got
    assert got["name"] is None and got["id"] == dst["id"]
    assert "os_glance_import_task" not in got
    assert staged(local) == []
    method = task["input"]["import_req"]["method"]
    assert method["glance_service_interface"] == "public"


def test_internal_interface(remote, api):
    src = remote_image(remote, b"x" * 512)
    dst = local_image(api, disk_format="raw", container_format="bare")
    import_from(api, remote, dst["id"], glance_image_id=src["id"],
                glance_service_interface="internal")
    got, task = wait_done(api, dst["id"])
    assert task["status"] == "success", task["message"]
    assert got["checksum"] == md5(b"x" * 512)


@pytest.mark.parametrize("case", ["queued", "absent", "region", "filtered",
                                  "too big"])
def test_failures_put_the_image_back(local, remote, api, case):
    source_id, region, reason = str(uuid.uuid4()), "RegionTwo", None
    if case == "queued":
        source_id = remote_image(remote)["id"]
        reason = "Source image status should be active instead of queued"
    elif case == "absent":
        reason = "HTTP status 404"
    elif case == "region":
        region = "RegionThree"
        reason = "public glance endpoint not found for region RegionThree"
    elif case == "filtered":
        source_id = remote_image(remote, b"y" * 1024)["id"]
        region, reason = "Filtered", "does not pass filtering"
    else:
        source_id = remote_image(remote, os.urandom(CAP + 1))["id"]
        reason = "image_size_cap"
    dst = local_image(api, hw_cpu_cores="1", os_distro="windows")
    import_from(api, remote, dst["id"], region=region,
                glance_image_id=source_id)
    got, task = wait_done(api, dst["id"])
    assert task["status"] == "failure"
    assert reason in task["message"], task["message"]
    assert got["status"] == "queued"
    assert user_props(got) == user_props(dst)    # formats, properties
    assert "os_glance_import_task" not in got
    assert staged(local) == []


@pytest.mark.parametrize("fields, message", [
    ({"glance_image_id": str(uuid.uuid4()), "glance_region": None},
     "'glance_region' must be a string"),
    ({"glance_region": "RegionTwo"}, "'glance_image_id' needs to be set"),
    ({"glance_image_id": "foo"},
     "Remote image id does not look like a UUID: foo"),
])
def test_bad_requests_400(remote, api, fields, message):
    dst = local_image(api)
    r = import_from(api, remote, dst["id"], expect=400, **fields)
    assert message in html.unescape(r.text)
    got = api.image(dst["id"])
    assert got["status"] == "queued" and "os_glance_import_task" not in got


def test_missing_region_400(remote, api):
    dst = local_image(api)
    r = api.post("/v2/images/%s/import" % dst["id"], json={"method": {
        "name": "glance-download", "glance_image_id": str(uuid.uuid4())}})
    assert r.status_code == 400
    assert "'glance_region' needs to be set for glance-download import " \
        "method" in html.unescape(r.text)


def test_catalog_that_is_not_json_400(remote, api):
    dst = local_image(api)
    r = import_from(api, remote, dst["id"], expect=400,
                    headers={"X-Service-Catalog": "[{"},
                    glance_image_id=str(uuid.uuid4()))
    assert "Invalid service catalog json." in r.text


def test_image_not_queued_409(remote, api):
    dst = local_image(api, disk_format="raw", container_format="bare")
    api.put("/v2/images/%s/file" % dst["id"], data=b"z" * 10,
            headers={"Content-Type": OCTET})
    r = import_from(api, remote, dst["id"], expect=409,
                    glance_image_id="foo")    # the status is checked first
    assert "Image with status active cannot be target for import" in r.text
