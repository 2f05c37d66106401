"""The WSGI toolkit of glance.common.wsgi: routing, negotiation, bodies,
and the one place exceptions become HTTP responses (Resource)."""
import dataclasses
import gc
import datetime
import io
import json
import re
import uuid

import pytest
import webob
import webob.exc

from glance.common import exception
from glance.common import wsgi

REQUEST_ID = re.compile(r"req-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")


class Controller:
    """Actions echoing what they got, or raising what they are told."""

    def index(self, req):
        return {"action": "index"}

    def show(self, req, item_id):
        return {"action": "show", "id": item_id}

    def create(self, req, body):
        return {"action": "create", "body": body}

    def update(self, req, item_id, body=None):
        return {"action": "update", "id": item_id, "body": body}

    def delete(self, req, item_id):
        return webob.Response(status=204)

    def fail(self, req, kind):
        raise ERRORS[kind]


ERRORS = {
    "notfound": exception.ImageNotFound(image_id="abc"),
    "forbidden": exception.Forbidden(action="fly"),
    "conflict": exception.Duplicate(),
    "toolarge": exception.RequestEntityTooLarge(limit=10),
    "range": exception.RequestedRangeNotSatisfiable(),
    "webob": webob.exc.HTTPPreconditionFailed(explanation="precondition"),
    "glance500": exception.GlanceException("secret internal detail"),
    "bug": KeyError("secret-key-name"),
    "broken": ZeroDivisionError("secret division"),
}


def make_app():
    mapper = wsgi.APIMapper()
    resource = wsgi.Resource(Controller())
    mapper.connect_methods("/items", resource,
                           {"GET": "index", "POST": "create"})
    mapper.connect_methods("/items/{item_id}", resource,
                           {"GET": "show", "PATCH": "update",
                            "DELETE": "delete"})
    mapper.connect("/fail/{kind}", controller=resource, action="fail",
                   conditions={"method": ["GET"]})
    # the context middleware sets the request id header (as Glance's)
    from glance.api.middleware import context
    return context.UnauthenticatedContextMiddleware(wsgi.Router(mapper))


def call(path, method="GET", body=None, headers=None, app=None):
    req = webob.Request.blank(path, method=method, headers=headers or {})
    if body is not None:
        req.body = body if isinstance(body, bytes) else body.encode()
    return req.get_response(app or make_app())


# --- routing -----------------------------------------------------------------

def test_routes_to_actions_with_arguments():
    assert call("/items").json == {"action": "index"}
    assert call("/items/42").json == {"action": "show", "id": "42"}
    assert call("/items/42", "DELETE").status_int == 204


def test_unknown_path_is_404():
    assert call("/nothing/here").status_int == 404


def test_the_empty_path_redirects_to_the_root():
    req = webob.Request.blank("/v2", script_name="/v2")
    req.path_info = ""
    resp = req.get_response(make_app())
    assert resp.status_int == 302
    assert resp.location.endswith("/v2/")


@pytest.mark.parametrize("path,method,allowed", [
    ("/items", "PUT", "GET, POST"),
    ("/items", "DELETE", "GET, POST"),
    ("/items/1", "POST", "GET, PATCH, DELETE"),
])
def test_other_methods_get_405_with_allow(path, method, allowed):
    resp = call(path, method)
    assert resp.status_int == 405
    assert resp.headers["Allow"] == allowed
    assert REQUEST_ID.fullmatch(resp.headers["x-openstack-request-id"])


def test_bad_utf8_url_is_400():
    resp = call("/items/%ff%fe")
    assert resp.status_int == 400


# --- request helpers ---------------------------------------------------------

@pytest.mark.parametrize("accept,expected", [
    (None, "application/json"),
    ("application/json", "application/json"),
    ("application/octet-stream", "application/octet-stream"),
    ("application/octet-stream;q=0.5, application/json", "application/json"),
    ("text/html", "application/json"),
])
def test_best_match_content_type(accept, expected):
    headers = {"Accept": accept} if accept else {}
    req = wsgi.Request.blank("/", headers=headers)
    assert req.best_match_content_type() == expected


def test_get_content_type():
    req = wsgi.Request.blank("/", headers={"Content-Type": "text/plain"})
    with pytest.raises(exception.InvalidContentType):
        req.get_content_type(("application/json",))
    with pytest.raises(exception.InvalidContentType):
        wsgi.Request.blank("/").get_content_type(("application/json",))
    req = wsgi.Request.blank(
        "/", headers={"Content-Type": "application/json; charset=UTF-8"})
    assert req.get_content_type(("application/json",)) == "application/json"


def test_params_never_read_the_body():
    req = wsgi.Request.blank("/?a=1", method="POST", body=b"b=2",
                             content_type="application/x-www-form-"
                                          "urlencoded")
    assert dict(req.params) == {"a": "1"}


# --- request bodies ----------------------------------------------------------

def test_json_body_reaches_the_action():
    resp = call("/items", "POST", json.dumps({"name": "x"}),
                {"Content-Type": "application/json"})
    assert resp.json == {"action": "create", "body": {"name": "x"}}


@pytest.mark.parametrize("body", ["{not json", "[1, 2", b"\xff\xfe",
                                  "[" * 50000 + "]" * 50000])
def test_malformed_json_is_400(body):
    resp = call("/items", "POST", body,
                {"Content-Type": "application/json"})
    assert resp.status_int == 400
    assert "Traceback" not in resp.text


@pytest.mark.parametrize("value", ["\\ud800", "x\\uDFFFy",
                                   "\\ude00\\ud83d"])
def test_a_lone_surrogate_is_400(value):
    resp = call("/items", "POST", '{"name": "%s"}' % value,
                {"Content-Type": "application/json"})
    assert resp.status_int == 400
    assert "lone surrogate" in resp.text


@pytest.mark.parametrize("value,decoded", [
    ("\\ud83d\\ude00", "\U0001f600"),    # a pair: one character
    ("\\\\ud800", "\\ud800"),          # an escaped backslash, then text
])
def test_surrogate_pairs_and_lookalikes_pass(value, decoded):
    resp = call("/items", "POST", '{"name": "%s"}' % value,
                {"Content-Type": "application/json"})
    assert resp.json == {"action": "create", "body": {"name": decoded}}


def test_body_of_a_get_is_ignored():
    resp = call("/items/1", "GET", "{not json")
    assert resp.status_int == 200


def test_read_body_limit_declared_length(conf):
    conf(max_request_body_size=10)
    resp = call("/items", "POST", json.dumps({"name": "x" * 20}),
                {"Content-Type": "application/json"})
    assert resp.status_int == 413
    assert "10" in resp.text


def _chunked(body):
    req = webob.Request.blank("/items", method="POST", headers={
        "Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    req.environ.pop("CONTENT_LENGTH", None)
    req.environ["wsgi.input"] = io.BytesIO(body)
    req.environ["wsgi.input_terminated"] = True   # a server that dechunks
    return req.get_response(make_app())


def test_read_body_limit_chunked(conf):
    conf(max_request_body_size=10)
    resp = _chunked(b'{"a": "' + b"x" * 50 + b'"}')
    assert resp.status_int == 413
    resp = _chunked(b'{"a": 1}')
    assert resp.json == {"action": "create", "body": {"a": 1}}


def test_read_body_within_limit():
    req = wsgi.Request.blank("/", method="POST", body=b"12345")
    assert wsgi.read_body(req, limit=5) == b"12345"
    with pytest.raises(exception.RequestEntityTooLarge):
        wsgi.read_body(req, limit=4)


# --- responses and exceptions ------------------------------------------------

def test_serializer_handles_dates_sets_and_objects():
    class Thing:
        def to_dict(self):
            return {"thing": True}

    when = datetime.datetime(2024, 1, 2, 3, 4, 5, 678)
    out = json.loads(wsgi.JSONResponseSerializer().to_json(
        {"when": when, "tags": {"b", "a"}, "obj": Thing()}))
    assert out == {"when": "2024-01-02T03:04:05", "tags": ["a", "b"],
                   "obj": {"thing": True}}


def _as_json_writes_it(data):
    expected = json.dumps(data, default=wsgi.JSONResponseSerializer()
                          ._sanitizer)
    body = wsgi.JSONResponseSerializer().to_json(data)
    assert isinstance(body, bytes)
    assert json.loads(body) == json.loads(expected)
    return body


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize("data", [
    {"name": "caf\u00e9 \U0001f600", "size": 2 ** 63 - 1, "min": -1,
     "ratio": 0.1, "flags": [True, False, None], "nested": {"a": [1, {}]}},
    {"id": uuid.UUID("3b0c6c8e-7f1e-4c47-9d3e-3f0f7a1b2c3d"),
     "point": Point(1), "when": datetime.datetime(2024, 1, 2, 3, 4, 5)},
    {"big": 2 ** 64},              # past 64 bits: json writes it
    {1: "one"},                    # a key that is not a string
    {"lone": "\ud800"},            # a lone surrogate
])
def test_serializer_writes_the_json_value_json_writes(data):
    _as_json_writes_it(data)


def test_serializer_writes_compact_utf8():
    body = _as_json_writes_it({"name": "caf\u00e9", "tags": ["a"]})
    assert body == '{"name":"caf\u00e9","tags":["a"]}'.encode("utf-8")


@pytest.mark.parametrize("kind,status,text", [
    ("notfound", 404, "No image found with ID abc"),
    ("forbidden", 403, "fly"),
    ("conflict", 409, "already exists"),
    ("toolarge", 413, "10 bytes"),
    ("range", 416, "not satisfiable"),
    ("webob", 412, "precondition"),
])
def test_exceptions_become_their_status(kind, status, text):
    resp = call("/fail/" + kind)
    assert resp.status_int == status
    assert text in resp.text
    assert REQUEST_ID.fullmatch(resp.headers["x-openstack-request-id"])


@pytest.mark.parametrize("kind", ["glance500", "bug", "broken"])
def test_unknown_errors_are_500_with_request_id_only(kind, caplog):
    resp = call("/fail/" + kind)
    assert resp.status_int == 500
    rid = resp.headers["x-openstack-request-id"]
    assert rid in resp.text
    for leak in ("Traceback", "secret", "KeyError", "ZeroDivision"):
        assert leak not in resp.text
    assert rid in caplog.text and "secret" in caplog.text


def test_exception_headers_are_sent():
    class Moved(exception.GlanceException):
        code = 409
        headers = {"X-Why": "because"}

    ERRORS["moved"] = Moved("moved away")
    try:
        resp = call("/fail/moved")
    finally:
        del ERRORS["moved"]
    assert resp.status_int == 409 and resp.headers["X-Why"] == "because"


def test_middleware_makes_request_id_and_can_short_circuit():
    seen = []

    class Stop(wsgi.Middleware):
        def process_request(self, req):
            seen.append(req.environ[wsgi.REQUEST_ID_ENV])
            if req.path == "/stop":
                return webob.Response(status=418)
            return None

    app = Stop(make_app())
    resp = call("/stop", app=app)
    assert resp.status_int == 418
    assert REQUEST_ID.fullmatch(seen[0])
    # only the context middleware answers with it, as in Glance
    assert "x-openstack-request-id" not in resp.headers
    assert call("/items", app=app).json == {"action": "index"}


def _raw_app(body=b"raw body"):
    iterable = [body]

    def app(environ, start_response):
        start_response("203 Non-Authoritative Information",
                       [("X-From", "app"), ("Content-Length",
                                            str(len(body)))])
        return iterable
    return app, iterable


def test_a_layer_that_keeps_responses_passes_the_app_answer_through():
    app, iterable = _raw_app()
    started = []
    environ = webob.Request.blank("/x").environ
    out = wsgi.Middleware(app)(environ, lambda *a: started.append(a))
    # the app's own iterable and head, not a copy made by webob
    assert out is iterable
    assert started == [("203 Non-Authoritative Information",
                        [("X-From", "app"), ("Content-Length", "8")])]
    assert wsgi.REQUEST_ID_ENV in environ


def test_a_layer_with_process_response_sees_every_answer():
    seen = []

    class Stamp(wsgi.Middleware):
        def process_request(self, req):
            if req.path == "/deny":
                raise webob.exc.HTTPForbidden(explanation="no")
            return None

        def process_response(self, response):
            seen.append((response.request.path, response.status_int))
            response.headers["X-Stamp"] = "yes"
            return response

    app = Stamp(_raw_app()[0])
    resp = call("/x", app=app)
    assert resp.status_int == 203 and resp.body == b"raw body"
    assert resp.headers["X-Stamp"] == "yes"
    # an HTTP error raised by process_request is the answer, as webob's
    # wsgify made it, and process_response does not see it
    denied = call("/deny", app=app)
    assert denied.status_int == 403 and "no" in denied.text
    assert seen == [("/x", 203)]


def test_a_layer_refuses_a_url_that_is_not_utf8():
    app = wsgi.Middleware(_raw_app()[0])
    req = webob.Request.blank("/")
    req.environ["PATH_INFO"] = "/\xff\xfe"
    assert req.get_response(app).status_int == 400


def test_request_id_is_made_once_per_request():
    environ = {}
    rid = wsgi.request_id_for(environ)
    assert REQUEST_ID.fullmatch(rid) and wsgi.request_id_for(environ) == rid
    assert wsgi.request_id_for({}) != rid


def test_a_new_request_id_is_a_random_version_4_uuid():
    ids = [wsgi.new_request_id() for _ in range(200)]
    assert len(set(ids)) == 200
    for rid in ids:
        assert REQUEST_ID.fullmatch(rid)
        value = uuid.UUID(rid[len("req-"):])
        assert value.version == 4 and value.variant == uuid.RFC_4122
        assert str(value) == rid[len("req-"):]
    # every one of the 122 random bits takes both values
    bits = [uuid.UUID(rid[4:]).int for rid in ids]
    mask = (1 << 128) - 1 ^ (0xF << 76) ^ (0x3 << 62)
    assert all_or(bits) & mask == mask and all_and(bits) & mask == 0


def all_or(values):
    result = 0
    for value in values:
        result |= value
    return result


def all_and(values):
    result = (1 << 128) - 1
    for value in values:
        result &= value
    return result


def test_the_toolkit_leaves_the_server_out():
    # the WSGI application imports this module, and must not import
    # eventlet through the server
    assert not hasattr(wsgi, "PosixServer")
    assert wsgi.list_opts() == [(None, wsgi.body_opts)]


def test_bad_chunked_body_anywhere_is_400():
    import eventlet.wsgi

    class Reads:
        def upload(self, req):
            raise eventlet.wsgi.ChunkReadError("invalid literal")

        def stage(self, req):
            raise OSError("unexpected end of file while parsing chunked "
                          "data")

    res = wsgi.Resource(Reads())
    for action in ("upload", "stage"):
        req = wsgi.Request.blank("/")
        req.environ["wsgiorg.routing_args"] = ((), {"action": action})
        resp = req.get_response(res)
        assert resp.status_int == 400, action
        assert b"Malformed or incomplete request body" in resp.body


def test_the_context_layer_heads_the_answer_with_its_request_id():
    from glance.api.middleware import context as context_mw

    def app(environ, start_response):
        start_response("200 OK", [("X-OpenStack-Request-ID", "stale"),
                                  ("Content-Length", "2")])
        return [b"ok"]

    layer = context_mw.ContextMiddleware(app)
    identity = {"X-Identity-Status": "Confirmed", "X-Project-Id": "p",
                "X-User-Id": "u", "X-Roles": "member"}
    resp = webob.Request.blank("/", headers=identity).get_response(layer)
    rid = resp.headers.getall("x-openstack-request-id")
    assert len(rid) == 1 and REQUEST_ID.fullmatch(rid[0])
    assert resp.body == b"ok"
    # a client's own id, prefixed as Glance does
    resp = webob.Request.blank("/", headers=dict(
        identity, **{"X-Openstack-Request-ID": "abc"})).get_response(layer)
    assert resp.headers.getall("x-openstack-request-id") == ["req-abc"]
    # refused before a context exists: no request id, as in Glance
    resp = webob.Request.blank("/", headers={
        "X-Identity-Status": "Invalid"}).get_response(layer)
    assert resp.status_int == 401
    assert "x-openstack-request-id" not in resp.headers


# --- what a routed request leaves behind -------------------------------------

class QueryController:
    def index(self, req):
        return {"query": dict(req.GET)}


def test_a_routed_request_leaves_no_reference_cycle():
    mapper = wsgi.APIMapper()
    mapper.connect_methods("/items/{item_id}", wsgi.Resource(Controller()),
                           {"GET": "show"})
    mapper.connect_methods("/query", wsgi.Resource(QueryController()),
                           {"GET": "index"})
    from glance.api.middleware import context
    app = context.UnauthenticatedContextMiddleware(wsgi.Router(mapper))

    def get(path, query=""):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path,
                   "QUERY_STRING": query, "SERVER_NAME": "localhost",
                   "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                   "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO()}
        statuses = []
        body = b"".join(app(environ, lambda status, headers, exc_info=None:
                            statuses.append(status)))
        return statuses[0], body

    get("/items/1")
    get("/query", "a=1")    # what is made once per process is made now
    gc.collect()
    gc.disable()   # what the requests leave, only the collector would free
    try:
        answers = [get("/items/1"), get("/query", "a=1&b=2"),
                   get("/nothing")]
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert [status for status, _ in answers] == [
        "200 OK", "200 OK", "404 Not Found"]
    assert json.loads(answers[1][1]) == {"query": {"a": "1", "b": "2"}}
    assert unreachable == 0


# --- the routes' union ------------------------------------------------------

V2_PATHS = ["/images/{image_id}", "/images/{image_id}/members/{member_id}",
            "/images/{image_id}/tags/{tag_value}", "/images",
            "/metadefs/namespaces/{namespace}/objects/{object_name}",
            "/schemas/image", "/tasks/{task_id}", "/info/import"]


def _mapper_of(paths, keep_union):
    mapper = wsgi.APIMapper()
    for path in paths:
        mapper.connect_methods(path, "c", {"GET": "show", "PUT": "update"})
    mapper.create_regs()
    if keep_union:   # what plain routes matches with
        mapper._master_regexp = re.compile(mapper._master_reg)
    return mapper


def _urls():
    for path in V2_PATHS:
        url = re.sub(r"\{[^}]*\}", "x-1", path)
        yield url
        yield url + "/"
        yield url + "/more"
        yield url[:-1]
        yield "/v3" + url
    yield from ("", "/", "/images//members", "/images/x/members/",
                "/nothing", "/images/caf%C3%A9/tags/t")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_routing_without_the_union_matches_as_routes_does(method):
    ours = _mapper_of(V2_PATHS, keep_union=False)
    plain = _mapper_of(V2_PATHS, keep_union=True)
    matched = 0
    for url in _urls():
        environ = {"REQUEST_METHOD": method, "PATH_INFO": url}
        got = ours.routematch(url, environ) or (None, None)
        want = plain.routematch(url, environ) or (None, None)
        assert (got[0], got[1] and got[1].routepath) == \
            (want[0], want[1] and want[1].routepath), url
        matched += got[0] is not None
    assert matched >= len(V2_PATHS)


def test_routing_hands_re_no_compiled_pattern(monkeypatch):
    # re looks a compiled pattern up in its cache by hashing its whole
    # program, and never finds it there
    mapper = _mapper_of(V2_PATHS, keep_union=False)
    handed = []
    real = re._compile

    def recording(pattern, flags):
        handed.append(pattern)
        return real(pattern, flags)

    monkeypatch.setattr(re, "_compile", recording)
    for url in _urls():
        mapper.routematch(url, {"REQUEST_METHOD": "GET", "PATH_INFO": url})
    assert not [p for p in handed if isinstance(p, re.Pattern)]
