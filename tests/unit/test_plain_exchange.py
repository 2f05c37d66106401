"""glance.common.plain_exchange: the environ and the answers eventlet.wsgi
would make, compared with eventlet.wsgi's own on real connections."""
import gc
import socket
import weakref
from unittest import mock

import eventlet
import eventlet.wsgi
import pytest

from glance.common import connections
from glance.common import plain_exchange
from glance.common.worker import Worker
from tests.unit import test_request_head

BODY = b'{"id": "x", "name": "caf\xc3\xa9"}'


class _Eventlets(connections.make_protocol()):
    """glance-api's protocol with every answer made by eventlet.wsgi."""

    def handle_one_response(self):
        self.plain = False
        super().handle_one_response()


def _exchange(protocol, app, data, keepalive=True):
    """Serve ``data`` (sent whole, then the sending side shut) on one
    real loopback connection; (the bytes received, the server's log)."""
    listener = eventlet.listen(("127.0.0.1", 0))
    log = mock.Mock()
    http = eventlet.wsgi.Server(listener, listener.getsockname(), app,
                                protocol=protocol, log=log, debug=False,
                                keepalive=keepalive)
    client = eventlet.connect(listener.getsockname())
    conn, addr = listener.accept()
    served = eventlet.spawn(http.process_request,
                            [addr, conn, eventlet.wsgi.STATE_IDLE])
    client.sendall(data)
    client.shutdown(socket.SHUT_WR)
    received = b""
    with eventlet.Timeout(10):
        while True:
            chunk = client.recv(65536)
            if not chunk:
                break
            received += chunk
        served.wait()
    client.close()
    listener.close()
    return received, log


def _undated(data):
    return b"\r\n".join(line for line in data.split(b"\r\n")
                        if not line.startswith(b"Date: "))


def _both(app, data, keepalive=True, metered=True):
    """The bytes of both paths' answers (Date lines left out) and, for a
    metered application (the worker's entry point), the access lines'
    status and size, which must be equal."""
    ours, our_log = _exchange(connections.make_protocol(), app, data,
                              keepalive)
    theirs, their_log = _exchange(_Eventlets, app, data, keepalive)
    assert _undated(ours) == _undated(theirs)
    if metered:
        assert _access(our_log) == _access(their_log)
    return ours


def _access(log):
    return [_status_and_size(call) for call in log.info.call_args_list]


def _status_and_size(call):
    line = call.args[0]
    if '" ' not in line:
        return line.splitlines()[-1]   # a traceback: its last line
    return line.rsplit('" ', 1)[1].split()[:2]


# --- the applications -------------------------------------------------------

def _answering(status, headers, chunks):
    def app(environ, start_response):
        start_response(status, list(headers))
        return list(chunks)
    return app


def _generator(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"streamed"
    yield b" body"


def _fails_before_starting(environ, start_response):
    raise RuntimeError("broken application")


def _fails_after_starting(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    raise RuntimeError("broken application")


def _times_out(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    raise eventlet.Timeout(None)   # (never started)


def _bad_chunk(environ, start_response):
    start_response("200 OK", [])
    return [b"ok", None]


def _writes(environ, start_response):
    write = start_response("200 OK", [("Content-Length", "10")])
    write(b"written ")
    return [b"ok"]


def _replaces_its_head(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    try:
        raise ValueError("late")
    except ValueError:
        import sys
        start_response("500 Internal Server Error",
                       [("Content-Length", "4")], sys.exc_info())
    return [b"fail"]


def _latin1_only(environ, start_response):
    start_response("200 OK", [("X-Name", "\u20ac")])
    return [b"ok"]


APPS = {
    "json": _answering("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(BODY))),
                                  ("x-openstack-request-id", "req-1")],
                       [BODY]),
    "no length": _answering("201 Created", [("Location", "/v2/x")],
                            [b"one", b"", b"two", "three"]),
    "empty": _answering("200 OK", [], []),
    "204": _answering("204 No Content", [("x-a", "1")], []),
    "304": _answering("304 Not Modified", [("ETag", '"e"')], []),
    "404": _answering("404 Not Found", [("content-type", "text/plain"),
                                        ("content-length", "9")],
                      [b"not found"]),
    "own date": _answering("200 OK", [("Date", "Thu, 01 Jan 2026 "
                                               "00:00:00 GMT"),
                                      ("Content-Length", "2")], [b"ok"]),
    "generator": _generator,
    "fails before starting": _fails_before_starting,
    "fails after starting": _fails_after_starting,
    "times out": _times_out,
    "bad chunk": _bad_chunk,
    "write()": _writes,
    "replaced head": _replaces_its_head,
    "not latin-1": _latin1_only,
}

REQUESTS = {
    "1.1": b"GET /v2/images/x HTTP/1.1\r\nHost: a\r\n\r\n",
    "1.1 close": b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n",
    "1.1 keep-alive": b"GET /x HTTP/1.1\r\nConnection: keep-alive\r\n\r\n",
    "1.0": b"GET /x HTTP/1.0\r\n\r\n",
    "1.0 keep-alive": b"GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    "HEAD": b"HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n",
    "DELETE, Content-Length 0":
        b"DELETE /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
}


@pytest.mark.parametrize("metered", [False, True], ids=["app", "worker"])
@pytest.mark.parametrize("request_name", sorted(REQUESTS))
@pytest.mark.parametrize("app_name", sorted(APPS))
def test_an_answer_is_the_one_eventlet_wsgi_makes(app_name, request_name,
                                                  metered):
    app = APPS[app_name]
    if metered:   # the worker's entry point: file wrapper, metered body
        app = Worker(None, app).dispatch
    _both(app, REQUESTS[request_name] * 2, metered=metered)


@pytest.mark.parametrize("keepalive", [False, 7, 0.5])
def test_the_servers_keepalive_setting_is_eventlets(keepalive):
    for data in REQUESTS.values():
        _both(Worker(None, APPS["json"]).dispatch, data * 2,
              keepalive=keepalive)


def test_a_request_with_a_body_is_left_to_eventlet_wsgi():
    seen = []

    def app(environ, start_response):
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    with mock.patch.object(connections.plain_exchange, "answer") as answer:
        received = _both(app, b"PUT /x HTTP/1.1\r\nContent-Length: 4\r\n\r\n"
                         b"data" + b"POST /x HTTP/1.1\r\nTransfer-Encoding: "
                         b"chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert answer.call_count == 0
    assert seen == [b"data", b"abc"] * 2
    assert received.count(b"HTTP/1.1 200 OK") == 2


def test_a_plain_request_is_answered_here():
    with mock.patch.object(connections.plain_exchange, "answer",
                           wraps=connections.plain_exchange.answer) as answer:
        received, _log = _exchange(connections.make_protocol(),
                                   APPS["json"], REQUESTS["1.1"] * 3)
    assert answer.call_count == 3
    assert received.count(BODY) == 3


def test_the_access_line_counts_the_body_sent():
    _received, log = _exchange(connections.make_protocol(),
                               Worker(None, APPS["json"]).dispatch,
                               REQUESTS["1.1"])
    assert _status_and_size(log.info.call_args) == ["200", str(len(BODY))]


@pytest.mark.parametrize("app_name", sorted(APPS))
def test_no_answer_leaves_the_protocol_in_a_cycle(app_name):
    # what is freed here is freed by reference counting, not waiting for
    # the garbage collector (whose collections pause the whole worker)
    watched = []

    class Watched(connections.make_protocol()):
        def setup(self):
            watched.append(weakref.ref(self))
            super().setup()

    app = Worker(None, APPS[app_name]).dispatch
    gc.collect()
    gc.disable()
    try:
        _exchange(Watched, app, REQUESTS["1.1"] * 2)
        alive = [ref for ref in watched if ref() is not None]
    finally:
        gc.enable()
    assert len(watched) == 1 and alive == []


def test_header_lines_are_encoded_as_eventlet_wsgi_encodes_them():
    encode = getattr(eventlet.wsgi, "_encode_header_line", None)
    if encode is None:
        pytest.skip("this eventlet has no _encode_header_line")
    for header in (("X-A", "1"), ("Content-Type", "caf\xe9"),
                   ("x-b", " spaced\t")):
        assert plain_exchange._latin1_header_line(header) == encode(header)


# --- the environ ------------------------------------------------------------

def _comparable(environ):
    """The environ without the per-request objects, which are described."""
    environ = dict(environ)
    environ.pop(connections.METER_KEY, None)
    body = environ.pop("wsgi.input")
    assert environ.pop("eventlet.input") is body
    assert callable(environ.pop("eventlet.set_idle"))
    environ["body"] = (type(body), body.content_length, body.chunked_input,
                       body.wfile_line, body.wfile is not None)
    return environ


class _Recording(connections.make_protocol()):
    environs = []

    def get_environ(self):
        ours = super().get_environ()
        theirs = eventlet.wsgi.HttpProtocol.get_environ(self)
        self.environs.append((_comparable(ours), _comparable(theirs)))
        return ours


HEADS = test_request_head.PLAIN_HEADS + test_request_head.OTHER_HEADS + [
    b"GET /a%2Fb%C3%A9?x=1?y HTTP/1.1\r\nX_Underscore: dropped\r\n"
    b"X-Forwarded-For: 10.0.0.1\r\nx-forwarded-for: 10.0.0.2\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Type: \r\n\r\n",
    b"PUT /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n",
]


@pytest.mark.parametrize("head", HEADS)
def test_the_environ_is_the_one_eventlet_wsgi_makes(head):
    _Recording.environs = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    _exchange(_Recording, app, head + b"abcdefghijklmnopq")
    for ours, theirs in _Recording.environs:
        assert ours == theirs


def test_the_environ_is_compared_for_most_heads():
    compared = 0
    for head in HEADS:
        _Recording.environs = []
        _exchange(_Recording, APPS["json"], head)
        compared += bool(_Recording.environs)
    assert compared >= len(test_request_head.PLAIN_HEADS) + 3
