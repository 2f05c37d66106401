"""Where image data lands when the configuration names no directory."""
import os

from tests.functional.apiclient import Api, new_project


def test_multi_store_defaults_live_under_state_path(glance_server):
    srv = glance_server(workers=1, flavor="trusted-auth", conf={
        "DEFAULT": {"enabled_backends": "fast:file, slow:file"},
        "glance_store": {"default_backend": "fast"}})
    api = Api(srv.url, new_project("s"))
    img = api.create(disk_format="raw", container_format="bare")
    resp = api.put("/v2/images/%s/file" % img["id"], data=b"x" * 100,
                   headers={"Content-Type": "application/octet-stream",
                            "X-Image-Meta-Store": "slow"})
    assert resp.status_code == 204, resp.text
    slow_dir = srv.state_path / "images" / "slow"
    assert os.listdir(slow_dir) == [img["id"]]
    assert not (srv.state_path / "images" / "fast").exists() or \
        os.listdir(srv.state_path / "images" / "fast") == []
    assert api.image(img["id"])["stores"] == "slow"
    stores = api.get("/v2/info/stores").json()["stores"]
    assert [s["id"] for s in stores] == ["fast", "slow"]
    assert stores[0]["default"] == "true"


def test_create_names_store_ids_once(glance_server):
    srv = glance_server(workers=1, flavor="trusted-auth", conf={
        "DEFAULT": {"enabled_backends": "fast:file"},
        "glance_store": {"default_backend": "fast"}})
    resp = Api(srv.url, new_project("s")).post("/v2/images", json={})
    assert resp.headers["OpenStack-image-store-ids"] == \
        "fast,os_glance_staging_store,os_glance_tasks_store"
