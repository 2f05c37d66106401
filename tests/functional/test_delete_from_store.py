"""DELETE /v2/stores/{store_id}/{image_id} (API 2.10) on a real glance-api:
remove one store's copy of an image's data, as Glance answers it."""
import pytest

from tests.functional.apiclient import ADMIN
from tests.functional.apiclient import Api
from tests.functional.apiclient import MEMBER
from tests.functional.apiclient import new_project
from tests.functional.apiclient import OCTET
from tests.functional.server import GlanceServer
from tests.functional.server import wait_for

DATA = b"two stores" * 1000


@pytest.fixture(scope="module")
def stores_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("stores")
    srv = GlanceServer(base, flavor="trusted-auth", workers=1, conf={
        "DEFAULT": {"enabled_backends": {"fast": "file", "slow": "file",
                                         "cold": "file"}},
        "glance_store": {"default_backend": "fast"},
        "fast": {"filesystem_store_datadir": base / "fast"},
        "slow": {"filesystem_store_datadir": base / "slow"},
        "cold": {"filesystem_store_datadir": base / "cold"}})
    srv.store_dirs = {"fast": base / "fast", "slow": base / "slow"}
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def owner(stores_server):
    return Api(stores_server.url, new_project("ds"), MEMBER)


def _active_in_both(srv, api):
    image = api.create(name="copies", disk_format="raw",
                       container_format="bare")
    resp = api.put("/v2/images/%s/file" % image["id"], data=DATA,
                   headers={"Content-Type": OCTET})
    assert resp.status_code == 204, resp.text
    admin = api.as_role(ADMIN)
    resp = admin.post("/v2/images/%s/import" % image["id"], json={
        "method": {"name": "copy-image"}, "stores": ["slow"]})
    assert resp.status_code == 202, resp.text
    wait_for(lambda: api.image(image["id"]).get("stores") == "fast,slow",
             timeout=30, message="the copy into 'slow'")
    return image["id"]


def _files(srv, store, image_id):
    return list(srv.store_dirs[store].glob("%s*" % image_id))


def test_admin_removes_one_copy_and_the_other_stays(stores_server, owner):
    image_id = _active_in_both(stores_server, owner)
    assert _files(stores_server, "slow", image_id)
    admin = owner.as_role(ADMIN)
    resp = admin.delete("/v2/stores/cold/%s" % image_id)
    assert resp.status_code == 404
    assert "is not stored in store cold" in resp.text
    resp = admin.delete("/v2/stores/slow/%s" % image_id)
    assert resp.status_code == 204, resp.text
    assert owner.image(image_id)["stores"] == "fast"
    assert not _files(stores_server, "slow", image_id)
    assert owner.get("/v2/images/%s/file" % image_id).content == DATA
    resp = admin.delete("/v2/stores/fast/%s" % image_id)
    assert resp.status_code == 403
    assert "only store" in resp.text
    assert owner.get("/v2/images/%s/file" % image_id).content == DATA


def test_refusals(stores_server, owner):
    image_id = _active_in_both(stores_server, owner)
    resp = owner.delete("/v2/stores/slow/%s" % image_id)
    assert resp.status_code == 403
    assert "delete_image_location" in resp.text
    admin = owner.as_role(ADMIN)
    resp = admin.delete("/v2/stores/nowhere/%s" % image_id)
    assert resp.status_code == 409
    assert "nowhere is not available" in resp.text
    queued = owner.create(name="q", disk_format="raw",
                          container_format="bare")["id"]
    resp = admin.delete("/v2/stores/fast/%s" % queued)
    assert resp.status_code == 409
    assert "status is not" in resp.text
    other = Api(stores_server.url, new_project("other"), ADMIN)
    resp = other.delete(
        "/v2/stores/fast/00000000-0000-0000-0000-000000000000")
    assert resp.status_code == 404
    resp = admin.post("/v2/stores/slow/%s" % image_id)
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "DELETE"
    assert owner.image(image_id)["stores"] == "fast,slow"


def test_single_store_deployment_has_no_such_route(api_server):
    resp = Api(api_server.url, new_project("single"), ADMIN).delete(
        "/v2/stores/file/00000000-0000-0000-0000-000000000000")
    assert resp.status_code == 404
