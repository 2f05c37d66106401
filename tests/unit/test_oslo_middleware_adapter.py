"""The remembered argspec of oslo.middleware's filters."""
import inspect
from unittest import mock

import webob
from oslo_middleware import base

from glance.common import oslo_middleware_adapter as adapter


class WithRequest(base.ConfigurableMiddleware):
    def process_response(self, response, request=None):
        response.headers["X-Request-Path"] = request.path
        return response


class WithoutRequest(base.ConfigurableMiddleware):
    def process_response(self, response):
        response.headers["X-Seen"] = "1"
        return response


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_oslo_middleware_is_what_the_adapter_relies_on():
    # fails when an oslo.middleware upgrade stops looking the function
    # up in its module: the adapter then leaves it alone
    adapter.check_internals()
    assert adapter.install_argspec_cache() is True
    assert base.getfullargspec is adapter.remembered_getfullargspec
    assert adapter.install_argspec_cache() is True


def test_filters_get_the_request_as_they_ask_with_one_lookup_each():
    assert adapter.install_argspec_cache()
    adapter._SPECS.clear()
    with mock.patch.object(inspect, "getfullargspec",
                           wraps=inspect.getfullargspec) as spec:
        with_request = WithRequest(_app)
        without = WithoutRequest(_app)
        for _ in range(3):
            resp = webob.Request.blank("/a/path").get_response(with_request)
            assert resp.headers["X-Request-Path"] == "/a/path"
            resp = webob.Request.blank("/").get_response(without)
            assert resp.headers["X-Seen"] == "1"
    assert spec.call_count == 2


def test_the_answer_is_inspect_s():
    spec = adapter.remembered_getfullargspec(WithRequest(None)
                                             .process_response)
    assert spec == inspect.getfullargspec(WithRequest.process_response)
    # callables other than functions are answered, not remembered
    before = dict(adapter._SPECS)
    adapter.remembered_getfullargspec(len)
    assert adapter._SPECS == before


def test_the_adapter_leaves_a_changed_oslo_middleware_alone():
    with mock.patch.object(base, "getfullargspec", lambda f: None):
        assert adapter.install_argspec_cache() is False
        assert base.getfullargspec(None) is None
