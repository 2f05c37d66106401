"""Answers worded and headed as Glance 33's (see doc/differences.rst)."""
import datetime

import pytest
import webob

from glance.api.v2 import image_data
from glance.api.v2 import image_views
from glance.common import exception
from glance.common import wsgi
from glance.services import discovery


def _page(exc):
    return webob.Request.blank("/").get_response(
        wsgi.exception_response(exc)).text


def test_errors_shown_after_webobs_sentence_or_alone():
    assert "Access was denied to this resource." in _page(
        exception.AccessDenied("Property name may not be removed."))
    assert "Access was denied" not in _page(exception.Forbidden("no"))
    page = _page(exception.PropertyNotFound(name="nope"))
    assert "There was a conflict when trying to complete your request." \
        in page and "Property nope does not exist." in page
    page = _page(exception.ResourceNotFound("Tag x not found"))
    assert "The resource could not be found." in page
    assert "Tag x" not in page
    assert "The Range requested is not available." in _page(
        exception.RequestedRangeNotSatisfiable("Invalid Range header."))


def test_empty_response_is_headed_as_webobs_default():
    resp = wsgi.empty_response(204)
    assert resp.status_int == 204
    assert resp.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert resp.headers["Content-Length"] == "0"


@pytest.mark.parametrize("header,expected", [
    ("bytes 0-9/*", (0, 9)), ("bytes 0-9/1024", (0, 9)),
    ("bytes 1000-1023/*", (1000, 1023))])
def test_content_range_request_header(header, expected):
    assert image_data.parse_content_range(header) == expected


@pytest.mark.parametrize("header", ["bogus", "bytes 5-2/*", "bytes 0-9/5",
                                    "bytes */1024"])
def test_bad_content_range_request_header_416(header):
    with pytest.raises(exception.RequestedRangeNotSatisfiable) as info:
        image_data.parse_content_range(header)
    assert "Invalid Content-Range header." in str(info.value)


def _image(status="active"):
    now = datetime.datetime(2026, 1, 2, 3, 4, 5)
    return {"id": "i", "name": None, "status": status,
            "visibility": "shared", "protected": False, "os_hidden": False,
            "checksum": None, "os_hash_algo": None, "os_hash_value": None,
            "owner": "p", "size": 1, "virtual_size": 1, "min_ram": 0,
            "min_disk": 0, "disk_format": "raw", "container_format": "bare",
            "created_at": now, "updated_at": now, "tags": [],
            "properties": {"os_glance_stage_host": "http://x", "k": "v"},
            "locations": [{"url": "file:///a", "metadata": {"store": "a"}},
                          {"url": "file:///b", "metadata": {"store": "b"}}]}


class _Ctx:
    def __init__(self, is_admin):
        self.is_admin = is_admin


def test_image_view_hides_import_bookkeeping():
    doc = image_views.render_image(_image())
    assert "os_glance_stage_host" not in doc and doc["k"] == "v"


def test_deactivated_image_locations_shown_to_admins_only():
    image = _image("deactivated")
    assert "stores" not in image_views.render_image(image, _Ctx(False))
    assert image_views.render_image(image, _Ctx(True))["stores"] == "a,b"


def test_stores_heaviest_first(monkeypatch):
    weights = {"a": 0, "b": 5}
    monkeypatch.setattr(discovery, "enabled_backends",
                        lambda: {"a": "file", "b": "file"})
    monkeypatch.setattr(discovery, "store_weight", weights.get)
    assert image_views.render_image(_image())["stores"] == "b,a"


def test_view_options_are_read_once_and_shape_every_image(monkeypatch):
    from oslo_config import cfg
    reads = []
    monkeypatch.setattr(discovery, "enabled_backends",
                        lambda: reads.append("backends") or {})
    cfg.CONF.set_override("show_image_direct_url", True)
    cfg.CONF.set_override("show_multiple_locations", True)
    try:
        options = image_views.ViewOptions()
    finally:
        cfg.CONF.clear_override("show_image_direct_url")
        cfg.CONF.clear_override("show_multiple_locations")
    docs = [image_views.render_image(_image(), None, options)
            for _ in range(3)]
    assert reads == ["backends"]
    for doc in docs:
        assert doc["direct_url"] == "file:///a"
        assert [loc["url"] for loc in doc["locations"]] == ["file:///a",
                                                             "file:///b"]
    # without options given, the current configuration (both off)
    doc = image_views.render_image(_image())
    assert "direct_url" not in doc and "locations" not in doc
