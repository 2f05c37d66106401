"""glance.common.request_head: the common head parsed as http.server
parses it; every other head left to http.server."""
import http.client
import http.server
import io

import pytest

from glance.common import connections
from glance.common import request_head

BODY = b"after-the-head"


class StandardParser(http.server.BaseHTTPRequestHandler):
    """http.server's parse_request on bytes, without a socket."""

    protocol_version = "HTTP/1.1"   # eventlet's

    def __init__(self, data):   # no socket, no handle()
        self.rfile = io.BytesIO(data)
        self.wfile = io.BytesIO()
        self.client_address = ("127.0.0.1", 1)
        self.raw_requestline = self.rfile.readline(65537)
        self.ok = self.parse_request()

    def log_message(self, *args):
        pass


def ours(data):
    rfile = io.BytesIO(data)
    raw_requestline = rfile.readline(65537)
    lines = request_head.read_lines(rfile)
    head = request_head.parse_plain(raw_requestline, lines,
                                    http.client.HTTPMessage)
    if head is not None:
        connections.check_framing(raw_requestline, lines, head.version)
    return head, rfile.read()


def undated(wfile):
    """An error answer without its Date line (the clock moves)."""
    return [line for line in wfile.getvalue().split(b"\r\n")
            if not line.startswith(b"Date: ")]


def message_state(message):
    payload = message.get_payload()
    if isinstance(payload, list):   # parts of a message/ or multipart/
        payload = [message_state(part) for part in payload]
    return (message.items(), payload,
            [type(defect).__name__ for defect in message.defects],
            message.get_content_type(), message.get_default_type(),
            message.get_unixfrom(), message.preamble, message.epilogue)


PLAIN_HEADS = [
    b"GET /v2/images HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v2/images?limit=25&marker=a%20b HTTP/1.1\r\n"
    b"Host: 127.0.0.1:9292\r\nAccept: */*\r\nUser-Agent: wrk\r\n"
    b"X-Auth-Token: abc\r\nX-Roles: admin,member\r\n\r\n",
    b"PUT /v2/images/x/file HTTP/1.1\r\nContent-Type: "
    b"application/octet-stream\r\nContent-Length: 14\r\n\r\n",
    b"POST /v2/images HTTP/1.0\r\nContent-Length: 14\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.1\r\nConnection: Keep-Alive, Upgrade\r\n\r\n",
    b"GET / HTTP/1.1\r\n\r\n",
    b"get /lower HTTP/1.1\r\nHost: x\r\n\r\n",
    # whitespace around values, empty values, tabs
    b"GET / HTTP/1.1\r\nX-A:value  \r\nX-B:\t\t tabbed\t\r\nX-C:\r\n"
    b"X-D: \r\n\r\n",
    # duplicates in order, any case, latin-1 bytes, colons in values
    b"GET / HTTP/1.1\r\nX-Dup: 1\r\nx-dup: 2\r\nX-DUP: 3\r\n"
    b"X-Latin: caf\xe9 \xff\r\nX-Colon: a:b::c\r\n\r\n",
    b"DELETE /v2/images/1 HTTP/1.1\r\nContent-Type: application/json\r\n"
    b"Content-Type: text/plain\r\n\r\n",
    b"PATCH /v2/images/1 HTTP/1.1\r\nContent-Type: application/"
    b"openstack-images-v2.1-json-patch\r\n\r\n",
    b"GET /%00?q=\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /v2/images HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
]


@pytest.mark.parametrize("data", PLAIN_HEADS)
def test_a_plain_head_parses_as_http_server_parses_it(data):
    head, rest = ours(data + BODY)
    assert head is not None
    standard = StandardParser(data + BODY)
    assert standard.ok
    assert (head.requestline, head.command, head.path, head.version) == (
        standard.requestline, standard.command, standard.path,
        standard.request_version)
    assert type(head.headers) is type(standard.headers)
    assert message_state(head.headers) == message_state(standard.headers)
    for name in ("content-length", "CONNECTION", "x-dup", "Host", "no"):
        assert head.headers.get(name) == standard.headers.get(name)
        assert head.headers.get_all(name) == standard.headers.get_all(name)
    assert rest == standard.rfile.read() == BODY


OTHER_HEADS = [
    b"GET  /two-spaces HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET\t/tab HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
    b"GET /\x85 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.2\r\nHost: x\r\n\r\n",
    b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
    b"GET / HTTP/01.1\r\nHost: x\r\n\r\n",
    b"GET / http/1.1\r\nHost: x\r\n\r\n",
    b"GET /\r\n",
    b"GET //evil.example/x HTTP/1.1\r\nHost: x\r\n\r\n",
    b"PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
    b"POST /x HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b"
    b"\r\n\r\n",
    b"POST /x HTTP/1.1\r\nContent-Type:  Message/rfc822\r\n\r\n",
    b"GET / HTTP/1.1\r\nX-Form-Feed: a\x0cb\r\n\r\n",
    b"GET / HTTP/1.1\r\nX-Vertical-Tab: a\x0bb\r\n\r\n",
    b"GET / HTTP/1.1\r\nX-Separator: a\x1cb\x1eb\r\n\r\n",
    b"GET / HTTP/1.1\r\nX-Next-Line: a\x85b\r\n\r\n",
]


@pytest.mark.parametrize("data", OTHER_HEADS)
def test_any_other_head_is_left_to_http_server(data):
    rfile = io.BytesIO(data)
    raw_requestline = rfile.readline(65537)
    lines = request_head.read_lines(rfile)
    assert request_head.parse_plain(raw_requestline, lines,
                                    http.client.HTTPMessage) is None


@pytest.mark.parametrize("max_headers", [100, 256])
def test_read_lines_stops_where_http_client_stops(monkeypatch, max_headers):
    # python-swiftclient raises http.client's limit when imported
    monkeypatch.setattr(http.client, "_MAXHEADERS", max_headers)
    long_line = b"X-Long: " + b"a" * 70000 + b"\r\n"
    many = b"".join(b"X-%d: v\r\n" % i for i in range(300))
    for data in (b"A: 1\r\n\r\n" + BODY, long_line + b"B: 2\r\n\r\n",
                 many + b"\r\n", b"A: 1\r\n", b"A: 1\nB: 2\n\n" + BODY):
        ours_file, theirs_file = io.BytesIO(data), io.BytesIO(data)
        lines = request_head.read_lines(ours_file)
        try:
            http.client.parse_headers(theirs_file)
        except http.client.HTTPException:
            pass
        assert ours_file.tell() == theirs_file.tell()
        assert b"".join(lines) == data[:ours_file.tell()]


@pytest.mark.parametrize("data", PLAIN_HEADS + OTHER_HEADS + [
    b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i
                                     for i in range(150)) + b"\r\n",
])
def test_a_replayed_head_parses_as_if_read_from_the_socket(data):
    rfile = io.BytesIO(data + BODY)
    raw_requestline = rfile.readline(65537)
    replay = request_head.Replay(request_head.read_lines(rfile), rfile)
    replayed = StandardParser.__new__(StandardParser)
    replayed.rfile, replayed.wfile = replay, io.BytesIO()
    replayed.client_address = ("127.0.0.1", 1)
    replayed.raw_requestline = raw_requestline
    ok = replayed.parse_request()
    direct = StandardParser(data + BODY)
    assert ok == direct.ok
    assert undated(replayed.wfile) == undated(direct.wfile)
    if ok:
        assert message_state(replayed.headers) == \
            message_state(direct.headers)
    assert replay.readline(65537) == direct.rfile.readline(65537)
