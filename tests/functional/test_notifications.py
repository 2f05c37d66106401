"""Notifications of the real glance-api, read from the real RabbitMQ.

A consumer on its own exchange and queue (``tests/functional/rabbit.py``)
checks every event of a create-upload-download-update-share-delete cycle
and of a glance-direct import: their order, Glance's payload fields,
priority and publisher. Without a reachable broker requests still
succeed at once (the events are queued, then dropped with a warning).
"""
import hashlib
import os
import time

import pytest

from tests.functional.apiclient import Api, MEMBER, OCTET, new_project
from tests.functional.rabbit import rabbit  # noqa: F401 (fixture)
from tests.functional.server import free_port

DATA = os.urandom(256 * 1024 + 7)
IMAGE_FIELDS = {"id", "name", "status", "created_at", "updated_at",
                "min_disk", "min_ram", "protected", "checksum", "owner",
                "disk_format", "container_format", "size", "virtual_size",
                "is_public", "visibility", "properties", "tags", "deleted",
                "deleted_at", "os_hash_algo", "os_hash_value", "os_hidden"}
TASK_FIELDS = {"id", "type", "status", "result", "owner", "message",
               "expires_at", "created_at", "updated_at", "deleted",
               "deleted_at"}


def _server(glance_server, conf):
    return glance_server(flavor="trusted-auth", workers=1, conf=conf)


def _types(consumer, image_id):
    return [e["event_type"] for e in consumer.events
            if e["payload"].get("id") == image_id
            or e["payload"].get("image_id") == image_id]


def test_image_lifecycle_events(glance_server, rabbit):  # noqa: F811
    srv = _server(glance_server, rabbit.conf())
    owner = Api(srv.url, new_project("own"), MEMBER)
    other = Api(srv.url, new_project("oth"), MEMBER)
    img = owner.create(name="cirros", disk_format="raw",
                       container_format="bare", distro="cirros")
    iid = img["id"]
    r = owner.put("/v2/images/%s/file" % iid, data=DATA,
                  headers={"Content-Type": OCTET})
    assert r.status_code == 204, r.text
    assert owner.get("/v2/images/%s/file" % iid).content == DATA
    r = owner.patch(iid, [{"op": "replace", "path": "/name",
                           "value": "cirros-2"},
                          {"op": "replace", "path": "/visibility",
                           "value": "shared"}])
    assert r.status_code == 200, r.text
    r = owner.post("/v2/images/%s/members" % iid,
                   json={"member": other.project})
    assert r.status_code == 200, r.text
    r = other.put("/v2/images/%s/members/%s" % (iid, other.project),
                  json={"status": "accepted"})
    assert r.status_code == 200, r.text
    r = owner.delete("/v2/images/%s/members/%s" % (iid, other.project))
    assert r.status_code == 204, r.text
    assert owner.delete("/v2/images/%s" % iid).status_code == 204

    expected = ["image.create", "image.prepare", "image.upload",
                "image.activate", "image.send", "image.update",
                "image.member.create", "image.member.update",
                "image.member.delete", "image.delete"]
    rabbit.settle(owner)
    assert _types(rabbit, iid) == expected
    for event in rabbit.events:
        assert event["publisher_id"] == "image.localhost"
        assert event["priority"] == "INFO"
        assert event["envelope"] == "2.0"   # messagingv2
        assert "locations" not in event["payload"]

    md5 = hashlib.md5(DATA).hexdigest()
    sha512 = hashlib.sha512(DATA).hexdigest()
    create = rabbit.of("image.create")[0]["payload"]
    assert set(create) == IMAGE_FIELDS
    assert create["id"] == iid and create["name"] == "cirros"
    assert create["status"] == "queued"
    assert create["owner"] == owner.project
    assert create["properties"] == {"distro": "cirros"}
    assert create["size"] is None and create["deleted"] is False
    assert create["created_at"].endswith("Z")
    prepare = rabbit.of("image.prepare")[0]["payload"]
    assert prepare["status"] == "saving"
    assert prepare["os_glance_importing_to_stores"] == []
    for name in ("image.upload", "image.activate"):
        payload = rabbit.of(name)[0]["payload"]
        assert payload["status"] == "active", name
        assert payload["size"] == len(DATA)
        assert payload["checksum"] == md5
        assert payload["os_hash_algo"] == "sha512"
        assert payload["os_hash_value"] == sha512
    send = rabbit.of("image.send")[0]["payload"]
    assert send == {"image_id": iid, "owner_id": owner.project,
                    "receiver_tenant_id": owner.project,
                    "receiver_user_id": "u-" + owner.project,
                    "destination_ip": "127.0.0.1",
                    "bytes_sent": len(DATA)}
    update = rabbit.of("image.update")[0]["payload"]
    assert update["name"] == "cirros-2"
    assert update["visibility"] == "shared" and update["is_public"] is False
    members = [rabbit.of("image.member." + n)[0]["payload"]
               for n in ("create", "update", "delete")]
    assert [m["status"] for m in members] == ["pending", "accepted",
                                              "accepted"]
    assert {m["member_id"] for m in members} == {other.project}
    assert members[2]["deleted"] is True and members[2]["deleted_at"]
    delete = rabbit.of("image.delete")[0]["payload"]
    assert delete["id"] == iid and delete["status"] == "deleted"
    assert delete["deleted"] is True and delete["deleted_at"].endswith("Z")


def test_failed_requests_send_nothing(glance_server, rabbit):  # noqa: F811
    srv = _server(glance_server, rabbit.conf())
    api = Api(srv.url, new_project("own"), MEMBER)
    img = api.create(name="x")  # no formats: the upload is refused
    r = api.put("/v2/images/%s/file" % img["id"], data=b"abc",
                headers={"Content-Type": OCTET})
    assert r.status_code == 400
    r = api.patch(img["id"], [{"op": "replace", "path": "/status",
                               "value": "active"}])
    assert r.status_code == 403
    marker = rabbit.settle(api)
    assert [e["event_type"] for e in rabbit.events] == ["image.create",
                                                        "image.create"]
    assert _types(rabbit, marker) == ["image.create"]


def test_import_events(glance_server, rabbit):  # noqa: F811
    srv = _server(glance_server, rabbit.conf())
    api = Api(srv.url, new_project("imp"), MEMBER)
    img = api.create(name="imp", disk_format="raw", container_format="bare")
    iid = img["id"]
    r = api.put("/v2/images/%s/stage" % iid, data=DATA,
                headers={"Content-Type": OCTET})
    assert r.status_code == 204, r.text
    r = api.post("/v2/images/%s/import" % iid,
                 json={"method": {"name": "glance-direct"}})
    assert r.status_code == 202, r.text
    expected = ["image.create", "image.update", "task.create",
                "task.processing", "image.prepare", "image.upload",
                "image.activate", "image.update", "task.success",
                "task.run"]
    task_events = {}

    def about_import(events):
        task_ids = {e["payload"]["id"] for e in events
                    if e["event_type"] == "task.create"}
        task_events.update((e["event_type"], e) for e in events
                           if e["payload"].get("id") in task_ids)
        return [e["event_type"] for e in events
                if e["payload"].get("id") in task_ids | {iid}]
    rabbit.wait_for(lambda ev: len(about_import(ev)) >= len(expected),
                    message=", ".join(expected))
    assert about_import(rabbit.events) == expected
    staged = rabbit.of("image.update")[0]["payload"]
    assert staged["status"] == "uploading" and staged["size"] == len(DATA)
    for name in ("task.create", "task.processing", "task.success",
                 "task.run"):
        payload = task_events[name]["payload"]
        assert set(payload) == TASK_FIELDS, name
        assert payload["type"] == "api_image_import"
        assert payload["owner"] == api.project
        # Glance never sends a task's input, result or message
        assert payload["result"] is None and payload["message"] is None
    assert task_events["task.create"]["payload"]["status"] == "pending"
    assert task_events["task.processing"]["payload"]["status"] == \
        "processing"
    assert task_events["task.success"]["payload"]["status"] == "success"
    assert task_events["task.success"]["payload"]["expires_at"]
    upload = rabbit.of("image.upload", iid)[0]["payload"]
    assert upload["status"] == "active"
    assert upload["checksum"] == hashlib.md5(DATA).hexdigest()
    assert "os_glance_failed_import" in upload
    final = rabbit.of("image.update", iid)[-1]["payload"]
    assert "os_glance_import_task" not in final["properties"]


def test_disabled_notifications_and_v1_driver(glance_server,
                                              rabbit):  # noqa: F811
    conf = rabbit.conf(driver="messaging")
    conf["DEFAULT"]["disabled_notifications"] = "image.update,image.member"
    conf["DEFAULT"]["default_publisher_id"] = "image.node-7"
    srv = _server(glance_server, conf)
    api = Api(srv.url, new_project("dis"), MEMBER)
    img = api.create(name="a", visibility="shared")
    api.patch(img["id"], [{"op": "replace", "path": "/name", "value": "b"}])
    api.post("/v2/images/%s/members" % img["id"], json={"member": "p2"})
    assert api.delete("/v2/images/%s" % img["id"]).status_code == 204
    marker = rabbit.settle(api)
    assert [e["event_type"] for e in rabbit.events] == [
        "image.create", "image.delete", "image.create"]
    assert _types(rabbit, marker) == ["image.create"]
    assert all("envelope" not in e for e in rabbit.events)  # messaging v1
    assert rabbit.events[0]["publisher_id"] == "image.node-7"


def test_unreachable_broker_does_not_hold_requests(glance_server):
    """No broker on the port: each request answers at once (the events
    wait in the queue, then are dropped with a warning)."""
    url = "rabbit://guest:guest@127.0.0.1:%d/" % free_port()
    srv = _server(glance_server, {
        "DEFAULT": {"notification_queue_size": 3},
        "oslo_messaging_notifications": {"driver": "messagingv2",
                                         "transport_url": url}})
    api = Api(srv.url, new_project("down"), MEMBER)
    slowest = 0.0
    for _ in range(5):
        started = time.monotonic()
        img = api.create(name="x", disk_format="raw",
                         container_format="bare")
        r = api.put("/v2/images/%s/file" % img["id"], data=DATA,
                    headers={"Content-Type": OCTET})
        assert r.status_code == 204
        assert api.get("/v2/images/%s/file" % img["id"]).content == DATA
        assert api.delete("/v2/images/%s" % img["id"]).status_code == 204
        slowest = max(slowest, time.monotonic() - started)
    # a request that waited for the broker would wait for its retries
    # (seconds each, forever); these answer as without notifications
    assert slowest < 5, slowest
    log = srv.log_text()
    assert "Notification queue full" in log, srv.tail()


@pytest.mark.parametrize("driver", ["log"])
def test_log_driver(glance_server, driver):
    srv = _server(glance_server, {
        "oslo_messaging_notifications": {"driver": driver}})
    api = Api(srv.url, new_project("log"), MEMBER)
    img = api.create(name="logged")

    def logged():
        return [line for line in srv.log_text().splitlines()
                if "image.create" in line and img["id"] in line]
    deadline = time.monotonic() + 10
    while not logged() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert logged(), srv.tail()
