"""glance.common.connections: the framing rules, the response meter
behind the access log, and the server's WSGI entry point that feeds it,
without sockets; what a request served over a real connection leaves
behind. The real daemon is exercised by tests/functional/test_http_framing.py
and test_access_log.py."""
import gc
import io
import random
import socket
import weakref
from unittest import mock

import eventlet.greenio
import eventlet.wsgi
import pytest

from glance.common import connections
from glance.common import file_body
from glance.common import request_head
from glance.common.worker import Worker

OK_LINE = b"POST /x HTTP/1.1\r\n"


def lines(*headers):
    """Raw header lines as the protocol records them, with the end."""
    return [h + b"\r\n" for h in headers] + [b"\r\n"]


# --- framing ---------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    (),
    (b"Host: x", b"Content-Length: 5"),
    (b"Content-Length:   007  ",),
    (b"Transfer-Encoding: chunked",),
    (b"Transfer-Encoding:\tCHUNKED ",),
    (b"X-Value: a\tb: c, \x80\xff",),     # tab and obs-text are fine
    (b"Content_Length: 5", b"Content-Length: 6"),  # eventlet drops "_"
])
def test_unambiguous_heads_pass(headers):
    connections.check_framing(OK_LINE, lines(*headers), "HTTP/1.1")


@pytest.mark.parametrize("request_line,headers,reason,status", [
    (OK_LINE, (b"Content-Length: 1", b"Content-Length: 2"),
     "More than one Content-Length", 400),
    (OK_LINE, (b"Content-Length: 1", b"content-length: 1"),
     "More than one Content-Length", 400),
    (OK_LINE, (b"Content-Length: 1,1",), "Invalid Content-Length", 400),
    (OK_LINE, (b"Content-Length: +1",), "Invalid Content-Length", 400),
    (OK_LINE, (b"Content-Length: \xd9\xa1",), "Invalid Content-Length",
     400),   # an Arabic-Indic digit, which int() would take
    (OK_LINE, (b"Transfer-Encoding: chunked", b"Content-Length: 1"),
     "not allowed together", 400),
    (OK_LINE, (b"Transfer-Encoding: gzip",), "must end with chunked", 400),
    (OK_LINE, (b"Transfer-Encoding: chunked, identity",),
     "must end with chunked", 400),
    (OK_LINE, (b"Transfer-Encoding: gzip, chunked",),
     "other than chunked", 501),
    (OK_LINE, (b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"),
     "other than chunked", 501),
    (OK_LINE, (b"X-A: 1", b" folded"), "Obsolete line folding", 400),
    (OK_LINE, (b"\tX-A: 1",), "Obsolete line folding", 400),
    (OK_LINE, (b"X-A: 1\rContent-Length: 5",), "Bare CR in a header", 400),
    (OK_LINE, (b"X-A : 1",), "Invalid header field name", 400),
    (OK_LINE, (b": 1",), "Invalid header field name", 400),
    (OK_LINE, (b"X-A",), "Invalid header field name", 400),
    (OK_LINE, (b"X-A: \x00",), "NUL in the value of header X-A", 400),
    (b"POST /x HTTP/1.1\n", (), "Bare LF in the request line", 400),
    (b"POST /x\r HTTP/1.1\r\n", (), "Bare CR in the request line", 400),
])
def test_ambiguous_heads_are_refused(request_line, headers, reason, status):
    with pytest.raises(connections.BadFraming) as info:
        connections.check_framing(request_line, lines(*headers), "HTTP/1.1")
    assert reason in info.value.reason
    assert info.value.status == status
    assert info.value.phrase in ("Bad Request", "Not Implemented")


def test_header_lines_must_end_with_crlf():
    check = connections.check_framing
    with pytest.raises(connections.BadFraming, match="Bare LF in a header"):
        check(OK_LINE, [b"X-A: 1\n", b"\r\n"], "HTTP/1.1")
    with pytest.raises(connections.BadFraming,
                       match="Bare LF in the end of the header section"):
        check(OK_LINE, [b"X-A: 1\r\n", b"\n"], "HTTP/1.1")
    with pytest.raises(connections.BadFraming, match="ended inside"):
        check(OK_LINE, [b"X-A: 1\r\n", b""], "HTTP/1.1")


def test_transfer_encoding_needs_http_1_1():
    head = lines(b"Transfer-Encoding: chunked")
    connections.check_framing(OK_LINE, head, "HTTP/1.1")
    with pytest.raises(connections.BadFraming, match="HTTP/1.0"):
        connections.check_framing(OK_LINE, head, "HTTP/1.0")


def _random_head(rng):
    """Header lines as the protocol reads them from bytes a client might
    send, odd ones often."""
    pieces = [b"X-A", b"Host", b"x", b":", b": ", b" ", b"\t", b"\r",
              b"\n", b"\r\n", b"\x00", b"\xff", b"_", b"(", b"v,1",
              b"Content-Length", b"transfer-encoding", b"5", b"chunked",
              b"X-B :", b" X-C:", b"\tX-D:", b"X-E\t:", b"X-F:\x00"]
    stream = b"".join(rng.choice(pieces) for _ in range(rng.randrange(12)))
    return request_head.read_lines(io.BytesIO(
        stream + rng.choice([b"\r\n\r\n", b"\r\n", b"\n", b""])))


def _verdict(head, fast):
    with mock.patch.object(connections, "_plain_fields",
                           connections._plain_fields if fast
                           else lambda lines: False):
        try:
            connections.check_framing(OK_LINE, head, "HTTP/1.1")
        except connections.BadFraming as e:
            return e.reason, e.status
    return None


def test_the_one_match_check_agrees_with_the_field_by_field_one():
    rng = random.Random(20261206)
    taken = 0
    for _ in range(5000):
        head = _random_head(rng)
        taken += connections._plain_fields(head)
        assert _verdict(head, fast=True) == _verdict(head, fast=False), head
    assert taken > 100   # the one-match check was taken, and agreed


# --- the response meter ------------------------------------------------------

def send(body, fail_at=None):
    """Iterate ``body`` as eventlet.wsgi does with a write chunk size of
    0: each chunk is written (here: appended) before the next is asked
    for; writing chunk number ``fail_at`` fails (the client is gone)."""
    written = []
    try:
        for chunk in body:
            if len(written) == fail_at:
                raise BrokenPipeError()
            written.append(chunk)
    except BrokenPipeError:
        pass
    finally:
        body.close()
    return written


def test_meter_counts_the_chunks_written():
    meter = connections.ResponseMeter()
    meter.started("200 OK")
    body = connections.MeteredBody.wrap(iter([b"ab", b"", b"cde"]), meter)
    assert not hasattr(body, "__len__")
    assert send(body) == [b"ab", b"", b"cde"]
    assert (meter.status_code, meter.sent) == (200, 5)


def test_meter_counts_nothing_unwritten():
    meter = connections.ResponseMeter()
    meter.started("200 OK")
    body = connections.MeteredBody.wrap(iter([b"ab", b"cde", b"f"]), meter)
    assert send(body, fail_at=1) == [b"ab"]
    assert meter.sent == 2 and meter.status_code == 200


def test_meter_keeps_the_length_and_counts_the_sending_pass():
    meter = connections.ResponseMeter()
    meter.started("200 OK")
    chunks = [b"abc", b"de"]
    body = connections.MeteredBody.wrap(chunks, meter)
    assert len(body) == 2
    assert sum(map(len, body)) == 5   # eventlet measures a list first...
    assert send(body, fail_at=1) == [b"abc"]   # ...then sends it
    assert meter.sent == 3


def test_meter_reports_eventlets_500():
    def failing():
        yield b""
        raise ValueError("boom")

    meter = connections.ResponseMeter()
    meter.started("200 OK")
    with pytest.raises(ValueError):
        list(connections.MeteredBody.wrap(failing(), meter))
    assert meter.failed and meter.status_code == 500 and meter.sent == 0
    assert connections.ResponseMeter().status_code == 500  # no start


def test_meter_keeps_the_status_once_the_head_went():
    def failing():
        yield b"abc"
        raise ValueError("boom")

    meter = connections.ResponseMeter()
    meter.started("206 Partial Content")
    with pytest.raises(ValueError):
        list(connections.MeteredBody.wrap(failing(), meter))
    assert meter.status_code == 206 and meter.sent == 3


class Region:
    """A FileRegion stand-in: yields a first chunk, then "sends" the rest
    itself when asked for more, as file_body's sendfile body does."""

    def __init__(self, first, rest, fail=False):
        self.first, self.rest, self.fail = first, rest, fail
        self.sent = 0

    def chunks(self):
        self.sent += self.first
        yield b"x" * self.first
        self.sent += self.rest
        if self.fail:
            raise ConnectionResetError()


def test_meter_counts_bytes_sent_by_the_region_itself():
    meter = connections.ResponseMeter()
    meter.started("200 OK")
    region = Region(1000, 5000000)
    body = connections.MeteredBody.wrap(region.chunks(), meter, region)
    assert send(body) == [b"x" * 1000]
    assert meter.sent == 5001000


def test_meter_counts_what_the_region_sent_before_a_hang_up():
    meter = connections.ResponseMeter()
    meter.started("200 OK")
    region = Region(1000, 4000, fail=True)
    with pytest.raises(ConnectionResetError):
        list(connections.MeteredBody.wrap(region.chunks(), meter, region))
    assert meter.sent == 5000 and meter.status_code == 200
    region = Region(1000, 4000)
    body = connections.MeteredBody.wrap(region.chunks(), meter, region)
    assert send(body, fail_at=0) == []   # even the first chunk failed
    assert meter.sent == 0


def test_metered_body_closes_the_body():
    inner = mock.MagicMock()
    inner.__iter__.return_value = iter([b"a"])
    body = connections.MeteredBody.wrap(inner, connections.ResponseMeter())
    send(body)
    inner.close.assert_called_once_with()


# --- the server's WSGI entry point -------------------------------------------

def dispatch(app, environ):
    worker = Worker(mock.Mock(), app)
    started = []
    result = worker.dispatch(environ, lambda *args: started.append(args))
    return result, started


def test_dispatch_feeds_the_meter():
    meter = connections.ResponseMeter()
    environ = {connections.METER_KEY: meter}

    def app(environ, start):
        start("404 Not Found", [("Content-Length", "3")])
        return [b"abc"]

    result, started = dispatch(app, environ)
    assert started[0][0] == "404 Not Found"
    assert environ["eventlet.minimum_write_chunk_size"] == 0
    assert environ["wsgi.file_wrapper"] is file_body.FileWrapper
    assert len(result) == 1 and send(result) == [b"abc"]
    assert (meter.status_code, meter.sent) == (404, 3)


def test_dispatch_marks_an_application_failure():
    meter = connections.ResponseMeter()

    def app(environ, start):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        dispatch(app, {connections.METER_KEY: meter})
    assert meter.failed and meter.status_code == 500


def test_dispatch_without_a_meter_passes_the_body():
    body = [b"abc"]
    result, _started = dispatch(lambda env, start: body, {})
    assert result is body


# --- the protocol's access log line ------------------------------------------

def test_access_line_has_eventlets_format_and_the_body_bytes():
    proto = object.__new__(connections.make_protocol())
    proto.server = mock.Mock(log_format=eventlet.wsgi.
                             DEFAULT_LOG_FORMAT, log_x_forwarded_for=False)
    proto.client_address = ("10.0.0.1", 4321)
    proto.requestline = "GET /v2/images/x/file HTTP/1.1"
    proto.log_access(200, 3158073, 0.25)
    line = proto.server.log.info.call_args.args[0]
    assert line.startswith("10.0.0.1 - - [")
    assert line.endswith('] "GET /v2/images/x/file HTTP/1.1" 200 3158073 '
                         '0.250000')


@pytest.mark.parametrize("now", [1793511000.25, 1793511000.75,
                                 1793511001.0, 1700000000.999])
def test_access_date_is_http_servers(monkeypatch, now):
    import http.server
    monkeypatch.setattr(connections.time, "time", lambda: now)
    proto = object.__new__(connections.make_protocol())
    expected = http.server.BaseHTTPRequestHandler.log_date_time_string(proto)
    assert proto.log_date_time_string() == expected


def test_date_header_is_eventlets():
    original = connections._EVENTLET_HTTP_DATE
    for now in (1793511000.25, 1793511000.75, 1793511001.0, 1700000000.5,
                1700000059.999, 1700000060.0):
        assert connections.http_date(now) == original(now)


def test_a_connection_answers_its_local_address_from_memory():
    # what a worker's connections are: green sockets
    sock = eventlet.greenio.GreenSocket(socket.socket())
    sock.bind(("127.0.0.1", 0))
    address = sock.getsockname()
    connections.remember_local_address(sock)
    sock.close()
    # asked once, before the close: a closed socket would raise
    assert sock.getsockname() == address
    # a socket whose class takes no attribute is left to ask
    plain = socket.socket()
    plain.bind(("127.0.0.1", 0))
    connections.remember_local_address(plain)
    assert plain.getsockname() == plain.getsockname()
    plain.close()
    with pytest.raises(OSError):
        plain.getsockname()


# --- what a served request leaves behind ------------------------------------

class _HoldsEnviron:
    """What routes' URLGenerator is: kept in the environ, holding it."""

    def __init__(self, environ):
        self.environ = environ


def _serve_on_one_connection(app, requests):
    """Serve ``requests`` (raw bytes, keep-alive) with glance-api's
    protocol on one real loopback connection; the responses' bytes."""
    listener = eventlet.listen(("127.0.0.1", 0))
    http = eventlet.wsgi.Server(listener, listener.getsockname(), app,
                                protocol=connections.make_protocol(),
                                log=mock.Mock(), keepalive=True)
    client = eventlet.connect(listener.getsockname())
    conn, addr = listener.accept()
    served = eventlet.spawn(http.process_request,
                            [addr, conn, eventlet.wsgi.STATE_IDLE])
    client.sendall(b"".join(requests))
    received = b""
    while received.count(b"HTTP/1.1 200") < len(requests) or \
            not received.endswith(b"ok"):
        received += client.recv(65536)
    client.close()
    served.wait()
    listener.close()
    return received


def test_a_served_request_leaves_no_reference_cycle():
    held = []

    def app(environ, start_response):
        environ["test.holder"] = holder = _HoldsEnviron(environ)
        held.append(weakref.ref(holder))
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    request = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
    gc.collect()
    gc.disable()   # what is freed below is freed by reference counting
    try:
        received = _serve_on_one_connection(app, [request] * 3)
        alive = [ref for ref in held if ref() is not None]
    finally:
        gc.enable()
    assert received.count(b"HTTP/1.1 200 OK") == 3
    assert len(held) == 3 and alive == []
