"""glance.notifier: which events go, their payloads, the queue."""
import datetime
import logging

from glance import notifier

NOW = datetime.datetime(2024, 5, 1, 12, 0, 0, 123456)
IMAGE = {"id": "i1", "name": "n", "status": "active", "created_at": NOW,
         "updated_at": NOW, "min_disk": 0, "min_ram": 0, "protected": False,
         "checksum": "c", "os_hash_algo": "sha512", "os_hash_value": "h",
         "owner": "p", "disk_format": "raw", "container_format": "bare",
         "size": 3, "virtual_size": 3, "visibility": "public",
         "os_hidden": False, "properties": {"os_glance_failed_import": "a,b"},
         "tags": ["t"], "locations": [{"url": "swift://user:secret@x"}],
         "deleted": False, "deleted_at": None}


class Recorder:
    def __init__(self):
        self.sent = []

    def put(self, priority, event_type, payload):
        self.sent.append((priority, event_type, payload))


def record(monkeypatch):
    rec = Recorder()
    monkeypatch.setattr(notifier, "get_notifier", lambda: rec)
    return rec


def test_off_by_default(monkeypatch):
    rec = record(monkeypatch)
    assert not notifier.enabled("image.create")
    notifier.image_event("image.create", IMAGE)
    assert rec.sent == []


def test_noop_is_off(conf):
    conf(driver=["noop"], group="oslo_messaging_notifications")
    assert not notifier.enabled()


def test_disabled_types_and_groups(conf):
    conf(driver=["messagingv2"], group="oslo_messaging_notifications")
    conf(disabled_notifications=["image.update", "task", "image.member"])
    assert notifier.enabled("image.create")
    assert not notifier.enabled("image.update")
    assert not notifier.enabled("task.success")
    assert not notifier.enabled("image.member.create")
    conf(disabled_notifications=["image"])
    assert not notifier.enabled("image.send")
    assert notifier.enabled("task.run")


def test_image_payload_is_glances(conf, monkeypatch):
    conf(driver=["log"], group="oslo_messaging_notifications")
    rec = record(monkeypatch)
    notifier.image_uploaded(IMAGE)
    assert [e[1] for e in rec.sent] == ["image.upload", "image.activate"]
    upload = rec.sent[0][2]
    assert "locations" not in upload
    assert upload["created_at"] == "2024-05-01T12:00:00Z"
    assert upload["is_public"] is True
    assert upload["os_glance_failed_import"] == ["a", "b"]
    assert upload["os_glance_importing_to_stores"] == []
    assert "os_glance_failed_import" not in rec.sent[1][2]
    notifier.image_deleted(dict(IMAGE, status="deleted"))
    assert rec.sent[-1][2]["deleted"] is True
    assert rec.sent[-1][2]["deleted_at"].endswith("Z")


def test_task_payload_hides_input_result_message(conf, monkeypatch):
    conf(driver=["log"], group="oslo_messaging_notifications")
    rec = record(monkeypatch)
    task = {"id": "t", "type": "import", "status": "failure",
            "owner": "p", "input": {"import_from": "http://u:pw@h/"},
            "result": {"x": 1}, "message": "secret", "expires_at": NOW,
            "created_at": NOW, "updated_at": NOW}
    notifier.task_event("task.failure", task)
    payload = rec.sent[0][2]
    assert payload["result"] is None and payload["message"] is None
    assert "input" not in payload
    assert payload["expires_at"] == "2024-05-01T12:00:00Z"


class Region:
    """A body that can also be sent by sendfile (as FileRegion)."""

    def __init__(self, data):
        self.data = data
        self.closed = 0

    def __iter__(self):
        return iter([self.data[:2]])

    def sendfile(self, send):
        send(0, 2, len(self.data) - 2)

    def close(self):
        self.closed += 1


def test_image_send_counts_iterated_and_sendfile_bytes(conf, monkeypatch):
    conf(driver=["log"], group="oslo_messaging_notifications")
    rec = record(monkeypatch)
    ctx = type("Ctx", (), {"project_id": "r", "user_id": "u",
                           "remote_address": "10.0.0.1"})()
    body = Region(b"abcdef")
    counted = notifier.image_send(ctx, IMAGE, body, 6)
    assert next(iter(counted)) == b"ab"
    counted.sendfile(lambda fd, offset, count: count)
    counted.close()
    counted.close()
    assert body.closed == 1
    assert rec.sent == [("info", "image.send", {
        "image_id": "i1", "owner_id": "p", "receiver_tenant_id": "r",
        "receiver_user_id": "u", "destination_ip": "10.0.0.1",
        "bytes_sent": 6})]
    # a plain iterator: no sendfile; a short body is an error
    short = notifier.image_send(ctx, IMAGE, iter([b"ab"]), 6)
    assert not hasattr(short, "sendfile")
    assert list(short) == [b"ab"]   # notified at the end, once
    short.close()
    assert rec.sent[1][0] == "error" and rec.sent[1][2]["bytes_sent"] == 2
    assert len(rec.sent) == 2


def test_full_queue_drops_with_a_warning(caplog):
    n = notifier.Notifier.__new__(notifier.Notifier)
    n.queue = notifier.queue.Queue(maxsize=2)
    n.dropped, n.last_warning = 0, 0.0
    caplog.set_level(logging.WARNING)
    for _ in range(5):
        n.put("info", "image.create", {})
    assert n.queue.qsize() == 2
    warnings = [r for r in caplog.records if "queue full" in r.getMessage()]
    assert len(warnings) == 1   # one warning a minute, with a count
    assert "dropped 1" in warnings[0].getMessage()


def test_sending_thread_survives_errors(conf, monkeypatch):
    conf(driver=["log"], group="oslo_messaging_notifications")
    sent = []

    class Fake:
        def info(self, ctxt, event_type, payload):
            if event_type == "bad":
                raise RuntimeError("boom")
            sent.append(event_type)
    n = notifier.Notifier(10)
    monkeypatch.setattr(n, "_oslo_notifier", lambda: Fake())
    n.put("info", "bad", {})
    n.put("info", "good", {})
    assert n.flush(5)
    assert sent == ["good"]
