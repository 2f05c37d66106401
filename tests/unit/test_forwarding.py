"""glance.services.forwarding: who the stage host is, what is sent there
with the caller's identity, and how its answers (or silence) come back."""
import pytest
import requests

from glance import context
from glance.common import wsgi
from glance.services import forwarding

HOST = "http://10.0.0.1:9292"


class FakeResponse:
    def __init__(self, status, body=b"", json_doc=None, reason="R"):
        self.status_code = status
        self.text = body.decode() if isinstance(body, bytes) else body
        self._json = json_doc
        self.reason = reason
        self.headers = {}

    def json(self):
        if self._json is None:
            raise ValueError("no JSON")
        return self._json


class Calls(list):
    answer = None


@pytest.fixture
def sent(monkeypatch):
    calls = Calls()
    answer = {"value": FakeResponse(202)}

    def request(method, url, **kwargs):
        calls.append((method, url, kwargs))
        value = answer["value"]
        if isinstance(value, Exception):
            raise value
        return value
    monkeypatch.setattr(forwarding.requests, "request", request)
    calls.answer = answer
    return calls


def caller():
    return context.RequestContext(
        auth_token="tok", user_id="u1", project_id="p1",
        roles=["member", "reader"], request_id="req-abc")


def image(host=HOST):
    return {"id": "11111111-2222-3333-4444-555555555555",
            "properties": {"os_glance_stage_host": host} if host else {}}


def test_stage_host_is_another_node(conf):
    conf(worker_self_reference_url="http://10.0.0.2:9292")
    assert forwarding.stage_host(image()) == HOST
    assert forwarding.stage_host(image(None)) is None
    conf(worker_self_reference_url=HOST + "/")
    assert forwarding.stage_host(image()) is None


def test_public_endpoint_is_the_fallback(conf):
    conf(worker_self_reference_url=None, public_endpoint=HOST)
    assert forwarding.self_url() == HOST
    assert forwarding.stage_host(image()) is None


def test_import_sent_with_the_callers_identity(conf, sent):
    conf(worker_self_reference_url="http://10.0.0.2:9292")
    body = {"method": {"name": "glance-direct"}}
    assert forwarding.import_elsewhere(caller(), image(), body, "fast")
    method, url, kwargs = sent[0]
    assert method == "POST"
    assert url == HOST + "/v2/images/%s/import" % image()["id"]
    assert kwargs["json"] == body
    headers = kwargs["headers"]
    assert headers["X-Auth-Token"] == "tok"
    assert headers["X-Identity-Status"] == "Confirmed"
    assert headers["X-User-Id"] == "u1" and headers["X-Project-Id"] == "p1"
    assert headers["X-Roles"] == "member,reader"
    assert headers["X-Openstack-Request-ID"] == "req-abc"
    assert headers["X-Image-Meta-Store"] == "fast"
    assert not kwargs["allow_redirects"]


def test_not_sent_when_staged_here(conf, sent):
    conf(worker_self_reference_url=HOST)
    assert not forwarding.import_elsewhere(caller(), image(), {})
    assert not forwarding.delete_elsewhere(caller(), image())
    assert sent == []


def test_remote_error_relayed(conf, sent):
    conf(worker_self_reference_url="http://10.0.0.2:9292")
    sent.answer["value"] = FakeResponse(
        409, json_doc={"message": "Image is busy"})
    with pytest.raises(forwarding.ForwardedError) as e:
        forwarding.import_elsewhere(caller(), image(), {})
    assert e.value.code == 409 and str(e.value) == "Image is busy"
    sent.answer["value"] = FakeResponse(403, b"403 Forbidden\n\nno")
    with pytest.raises(forwarding.ForwardedError) as e:
        forwarding.delete_elsewhere(caller(), image())
    assert e.value.code == 403 and "no" in str(e.value)


@pytest.mark.parametrize("error, code", [
    (requests.exceptions.ConnectionError("refused"), 504),
    (requests.exceptions.ReadTimeout("slow"), 504),
    (requests.exceptions.InvalidURL("bad"), 502)])
def test_unreachable_stage_host(conf, sent, error, code):
    conf(worker_self_reference_url="http://10.0.0.2:9292")
    sent.answer["value"] = error
    with pytest.raises(forwarding.StageHostUnreachable) as e:
        forwarding.import_elsewhere(caller(), image(), {})
    assert e.value.code == code
    # shown with its reason, as Glance answers, though a 5xx
    resp = wsgi.exception_response(e.value)
    assert resp.status_int == code and "Stage host is unavailable" in \
        resp.detail


def test_delete_goes_on_here_when_the_stage_host_is_gone(conf, sent):
    conf(worker_self_reference_url="http://10.0.0.2:9292")
    sent.answer["value"] = requests.exceptions.ConnectionError("refused")
    assert not forwarding.delete_elsewhere(caller(), image())
    sent.answer["value"] = FakeResponse(204)
    assert forwarding.delete_elsewhere(caller(), image())


def test_clean_staging_keeps_live_images(tmp_path, conf, monkeypatch):
    conf(node_staging_uri="file://%s" % tmp_path)
    live, gone = ("11111111-2222-3333-4444-%012d" % i for i in (1, 2))
    for name in (live, gone, gone + ".qcow2", "not-an-image"):
        (tmp_path / name).write_bytes(b"x")
    monkeypatch.setattr(forwarding, "_image_exists",
                        lambda image_id: image_id == live)
    assert forwarding.clean_staging() == (2, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        live, "not-an-image"]
