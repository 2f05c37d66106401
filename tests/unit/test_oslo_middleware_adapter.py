"""oslo.middleware's filters: our pass-through and the remembered argspec."""
import contextlib
import inspect
import pathlib
from unittest import mock

import pytest
import webob
import webob.exc
from oslo_middleware import base
from oslo_middleware import cors
from oslo_middleware import healthcheck
from oslo_middleware import http_proxy_to_wsgi

from glance.common import config
from glance.common import filter_adoption
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


def _health(accept="text/plain", detailed=False):
    app = healthcheck.Healthcheck(None, {
        "backends": "disable_by_file", "disable_by_file_path": "/nonexistent",
        "detailed": str(detailed)})
    req = webob.Request.blank("/healthcheck", headers={"Accept": accept})
    return req.get_response(app)


@pytest.mark.parametrize("accept,detailed", [
    ("text/plain", False), ("text/html", False), ("text/html", True),
    ("application/json", True)])
def test_healthcheck_answers_as_oslo_s_own_with_one_compile(accept,
                                                            detailed):
    oslo_own = healthcheck._expand_template
    with mock.patch.object(healthcheck, "_expand_template", oslo_own):
        expected = _health(accept, detailed)
        assert adapter.install_template_cache() is True
        adapter._compiled.cache_clear()
        answers = [_health(accept, detailed) for _ in range(3)]
    assert healthcheck._expand_template is oslo_own
    for answer in answers:
        assert answer.status == expected.status == "200 OK"
        assert answer.content_type == expected.content_type
        if not detailed:   # a detailed one shows the moment it was made
            assert answer.body == expected.body
    assert b"OK" in answers[0].body
    info = adapter._compiled.cache_info()
    if accept != "application/json":   # oslo's JSON answer uses none
        assert (info.misses, info.hits) == (1, 2)


def test_a_changed_healthcheck_is_left_alone():
    with mock.patch.object(healthcheck, "_expand_template", None):
        assert adapter.install_template_cache() is False
        assert healthcheck._expand_template is None


ORIGIN = "http://allowed.example"


def _location_app(status="201 Created", location="/v2/images/x"):
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/raise":
            raise webob.exc.HTTPNotFound("no such thing")
        start_response(status, [("Content-Type", "text/plain"),
                                ("Location", location),
                                ("X-Scheme", environ["wsgi.url_scheme"])])
        return [b"body"]
    return app


def _pair(ours, theirs, **conf):
    """Our filter and oslo's, each around the same app."""
    app = _location_app()
    return (ours.factory(None, **conf)(app),
            theirs.factory(None, **conf)(app))


def _answer(app, path, **kwargs):
    resp = webob.Request.blank(path, **kwargs).get_response(app)
    return resp.status, sorted(resp.headerlist), resp.body


@contextlib.contextmanager
def _oslo_path():
    """Record the requests answered by oslo's own ``__call__``."""
    calls = []

    def oslo_call(self, environ, start_response):
        calls.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b""]

    with mock.patch.object(base.ConfigurableMiddleware, "__call__",
                           oslo_call):
        yield calls


CORS_REQUESTS = [
    ("/v2/images", {}),
    ("/v2/images", {"method": "HEAD"}),
    ("/v2/images", {"method": "POST", "body": b"{}"}),
    ("/raise", {}),
    ("/v2/images", {"headers": {"Origin": ORIGIN}}),
    ("/v2/images", {"headers": {"Origin": "http://other.example"}}),
    ("/v2/images", {"method": "OPTIONS"}),
    ("/v2/images", {"method": "OPTIONS", "headers": {
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET"}}),
]


@pytest.mark.parametrize("path,kwargs", CORS_REQUESTS)
def test_cors_answers_as_oslo_does(path, kwargs):
    ours, theirs = _pair(adapter.CORS, cors.CORS, allowed_origin=ORIGIN)
    assert _answer(ours, path, **kwargs) == _answer(theirs, path, **kwargs)


def test_cors_answers_from_a_response_only_for_cors_requests():
    ours, _theirs = _pair(adapter.CORS, cors.CORS, allowed_origin=ORIGIN)
    with _oslo_path() as calls:
        for path, kwargs in CORS_REQUESTS:
            _answer(ours, path, **kwargs)
    # the two with an Origin and the two OPTIONS take oslo's path
    assert len(calls) == 4
    status, headers, body = _answer(ours, "/v2/images", method="HEAD")
    assert (status, body) == ("201 Created", b"")
    assert ("Location", "http://localhost/v2/images/x") in headers


@pytest.mark.parametrize("headers", [
    {}, {"X-Forwarded-Proto": "https"},
    {"Forwarded": "for=1.2.3.4;proto=https;host=glance.example"},
    {"X-Forwarded-Host": "glance.example:8443",
     "X-Forwarded-Prefix": "/image"}])
def test_proxy_headers_answer_as_oslo_does(headers):
    ours, theirs = _pair(adapter.HTTPProxyToWSGI,
                         http_proxy_to_wsgi.HTTPProxyToWSGI)
    for app in (ours, theirs):
        app.oslo_conf.set_override("enable_proxy_headers_parsing", True,
                                   group="oslo_middleware")
    with _oslo_path() as calls:
        answer = _answer(ours, "/v2/images", headers=headers)
    assert calls == []
    assert answer == _answer(theirs, "/v2/images", headers=headers)
    if headers:
        assert ("X-Scheme", "https") in answer[1] or \
            "glance.example" in dict(answer[1])["Location"]


class _Layer:
    """A filter of ours: the next layer is its ``application``."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        return self.application(environ, start_response)


class _OsloSubclass(cors.CORS):
    pass


def test_adoption_gives_oslo_filters_the_pass_through():
    app = _location_app()
    chain = cors.CORS.factory(None, allowed_origin=ORIGIN)(_Layer(
        http_proxy_to_wsgi.HTTPProxyToWSGI.factory(None)(_Layer(
            _OsloSubclass.factory(None, allowed_origin=ORIGIN)(app)))))
    expected = _answer(chain, "/v2/images", method="HEAD")
    assert filter_adoption.adopt_filters(chain) == 2
    assert type(chain) is adapter.CORS
    assert type(chain.application.application) is adapter.HTTPProxyToWSGI
    assert type(chain.application.application.application.application) \
        is _OsloSubclass
    assert _answer(chain, "/v2/images", method="HEAD") == expected
    with _oslo_path() as calls:
        _answer(chain, "/v2/images")
    assert calls == ["/v2/images"]   # only the subclass took oslo's path


def hello_app_factory(global_conf, **local_conf):
    return _location_app()


def test_a_loaded_glance_style_paste_file_gets_the_pass_through(tmp_path):
    # Glance's paste files (and ours) name oslo's factories
    paste = tmp_path / "glance-api-paste.ini"
    paste.write_text(
        "[pipeline:glance-api]\n"
        "pipeline = cors http_proxy_to_wsgi hello\n"
        "[filter:cors]\n"
        "paste.filter_factory = oslo_middleware.cors:filter_factory\n"
        "allowed_origin = %s\n"
        "[filter:http_proxy_to_wsgi]\n"
        "paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory\n"
        "[app:hello]\n"
        "paste.app_factory = %s:hello_app_factory\n" % (ORIGIN, __name__))
    with mock.patch.object(config, "setup_profiler"):
        app = config.load_paste_app("glance-api", flavor="",
                                    conf_file=str(paste))
    assert type(app) is adapter.CORS
    assert type(app.application) is adapter.HTTPProxyToWSGI
    status, headers, _body = _answer(app, "/v2/images")
    assert status == "201 Created"
    assert ("Location", "http://localhost/v2/images/x") in headers


def test_our_paste_file_names_oslo_factories_as_glance_does():
    text = (pathlib.Path(config.__file__).parents[2] / "etc" /
            "glance-api-paste.ini").read_text()
    assert "paste.filter_factory = oslo_middleware.cors:filter_factory" \
        in text
    assert "oslo_middleware:HTTPProxyToWSGI.factory" in text
