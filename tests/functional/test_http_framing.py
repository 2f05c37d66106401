"""Request framing against the real daemon, over raw sockets.

A request whose length two parties could read differently (two
Content-Length headers, Transfer-Encoding with Content-Length, folded or
bare-CR header lines...) is answered 400 with the reason in the body and
the connection is closed, so the bytes after it are never served as a
second request (request smuggling). Normal framing, chunked bodies and
keep-alive keep working.
"""
import re
import socket
import time

import pytest
import requests

from tests.functional import slowapp
from tests.functional.server import GlanceServer

STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
# Served if the bytes after a refused head were taken for a request.
SMUGGLED = b"GET /versions HTTP/1.1\r\nHost: x\r\n\r\n"
DEADLINE = 10


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = GlanceServer(tmp_path_factory.mktemp("framing"), workers=1,
                          paste_ini=slowapp.PASTE_INI)
    server.start()
    yield server
    server.stop()


def exchange(srv, data):
    """Send ``data`` on a new connection; (everything read, closed?).

    Reads until the server closes, or DEADLINE seconds pass (closed is
    then False).
    """
    with socket.create_connection((srv.host, srv.port), timeout=2) as s:
        s.sendall(data)
        chunks, deadline = [], time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
        return b"".join(chunks), False


def head(*lines, method="POST", version="HTTP/1.1"):
    """A request head: the request line, Host, ``lines``, the empty line."""
    start = "%s /slow HTTP/%s" % (method, version.split("/")[1])
    text = "\r\n".join((start, "Host: x") + lines) + "\r\n\r\n"
    return text.encode("latin-1")


def assert_refused(srv, data, reason, status=400):
    answer, closed = exchange(srv, data + SMUGGLED)
    statuses = STATUS_LINE.findall(answer)
    assert statuses == [b"%d" % status], answer
    assert closed, "the connection stayed open: %r" % answer
    body = answer.split(b"\r\n\r\n", 1)[1]
    assert reason.encode() in body, body
    assert b"Connection: close" in answer
    return body


# --- Content-Length -------------------------------------------------------

@pytest.mark.parametrize("lines,reason", [
    (("Content-Length: 5", "Content-Length: 40"),
     "More than one Content-Length"),
    # equal values are refused too: no real client sends two
    (("Content-Length: 5", "Content-Length: 5"),
     "More than one Content-Length"),
    (("Content-Length: 5, 5",), "Invalid Content-Length"),
    (("Content-Length: +5",), "Invalid Content-Length"),
    (("Content-Length: -5",), "Invalid Content-Length"),
    (("Content-Length: 0x5",), "Invalid Content-Length"),
    (("Content-Length: 5_0",), "Invalid Content-Length"),
    (("Content-Length: 5 0",), "Invalid Content-Length"),
    (("Content-Length:",), "Invalid Content-Length"),
])
def test_conflicting_or_malformed_content_length(srv, lines, reason):
    assert_refused(srv, head(*lines) + b"hello", reason)


def test_transfer_encoding_with_content_length(srv):
    data = head("Content-Length: 5", "Transfer-Encoding: chunked")
    assert_refused(srv, data + b"0\r\n\r\n",
                   "Transfer-Encoding and Content-Length are not allowed")
    data = head("Transfer-Encoding: chunked", "Content-Length: 5")
    assert_refused(srv, data + b"0\r\n\r\n",
                   "Transfer-Encoding and Content-Length are not allowed")


# --- Transfer-Encoding -----------------------------------------------------

@pytest.mark.parametrize("lines", [
    ("Transfer-Encoding: gzip",),
    ("Transfer-Encoding: identity",),
    ("Transfer-Encoding: chunked, gzip",),
    ("Transfer-Encoding: chunked", "Transfer-Encoding: gzip"),
    ("Transfer-Encoding: chunked,",),
    ("Transfer-Encoding:",),
])
def test_transfer_encoding_not_ending_with_chunked(srv, lines):
    assert_refused(srv, head(*lines) + b"5\r\nhello\r\n0\r\n\r\n",
                   "Transfer-Encoding must end with chunked")


@pytest.mark.parametrize("lines", [
    ("Transfer-Encoding: gzip, chunked",),
    ("Transfer-Encoding: gzip", "Transfer-Encoding: chunked"),
    ("Transfer-Encoding: chunked", "Transfer-Encoding: chunked"),
])
def test_other_codings_before_chunked_are_not_implemented(srv, lines):
    assert_refused(srv, head(*lines) + b"5\r\nhello\r\n0\r\n\r\n",
                   "Transfer-Encoding other than chunked", status=501)


def test_transfer_encoding_in_http_1_0(srv):
    data = head("Transfer-Encoding: chunked", version="HTTP/1.0")
    assert_refused(srv, data + b"0\r\n\r\n", "not allowed in an HTTP/1.0")


# --- header lines ------------------------------------------------------------

@pytest.mark.parametrize("data,reason", [
    (b"POST /slow HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n Content-Length: 5"
     b"\r\n\r\nhello", "Obsolete line folding"),
    (b"POST /slow HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n\tb\r\n"
     b"Content-Length: 5\r\n\r\nhello", "Obsolete line folding"),
    (b"POST /slow HTTP/1.1\r\n Content-Length: 5\r\nHost: x\r\n\r\nhello",
     "Obsolete line folding"),
    (b"POST /slow HTTP/1.1\r\nHost: x\r\nX-Note: a\nContent-Length: 5"
     b"\r\n\r\nhello", "Bare LF in a header line"),
    (b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\nhello",
     "Bare LF in the end of the header section"),
    (b"POST /slow HTTP/1.1\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
     "Bare LF in the request line"),
    (b"POST /slow HTTP/1.1\rHost: x\r\nContent-Length: 5\r\n\r\nhello",
     "Bare CR in the request line"),
    (b"POST /slow\r HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
     "Bare CR in the request line"),
    (b"POST /slow HTTP/1.1\r\nHost: x\r\nX-Note: a\rContent-Length: 5"
     b"\r\n\r\nhello", "Bare CR in a header line"),
    (b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\r\n\r\nhello",
     "Bare CR in a header line"),
    (b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
     "Invalid header field name"),
    (b"POST /slow HTTP/1.1\r\nHost: x\r\nX-Note\r\nContent-Length: 5"
     b"\r\n\r\nhello", "Invalid header field name"),
    (b"POST /slow HTTP/1.1\r\nHost: x\r\nX-Note: a\0b\r\n"
     b"Content-Length: 5\r\n\r\nhello", "NUL in the value"),
])
def test_ambiguous_header_lines(srv, data, reason):
    assert_refused(srv, data, reason)


def test_refusal_is_logged(srv):
    assert_refused(srv, head("Content-Length: 5", "Content-Length: 6")
                   + b"hello", "More than one Content-Length")
    log = srv.log_text()
    assert "Refused a request from 127.0.0.1: More than one " \
        "Content-Length header." in log
    assert '"POST /slow HTTP/1.1" 400 ' in log
    assert "Traceback" not in log


# --- chunk lines -----------------------------------------------------------
# The body's lines are checked too: eventlet alone would take each of these
# bodies as ending where a proxy in front could read on, and then serve the
# request that follows (SMUGGLED). The app here does not read the body, so
# the check happens when the server discards it: the answer has gone, and
# the connection is closed instead of serving what follows.

@pytest.mark.parametrize("body", [
    b"5\nhello\r\n0\r\n\r\n",            # bare LF after the size
    b"+5\r\nhello\r\n0\r\n\r\n",         # a sign int() accepts
    b" 5\r\nhello\r\n0\r\n\r\n",         # leading whitespace
    b"5\r\nhelloXX\r\n0\r\n\r\n",        # data longer than its size
    b"5\r\nhello\n0\r\n\r\n",             # bare LF after the data
    b"5\r\nhello\r\n0\r\nX-T: a\nb\r\n\r\n",  # bare LF in a trailer
])
def test_malformed_chunk_lines_end_the_connection(srv, body):
    data = head("Transfer-Encoding: chunked") + body
    answer, closed = exchange(srv, data + SMUGGLED)
    assert len(STATUS_LINE.findall(answer)) <= 1, answer
    assert closed, "the connection stayed open: %r" % answer
    assert srv.log_text().count("chunked encoding error") >= 1


# --- what must keep working --------------------------------------------------

def test_keep_alive_serves_requests_in_a_row(srv):
    data = (head("Content-Length: 5") + b"hello"
            + head("Transfer-Encoding: Chunked")
            + b"5\r\nhello\r\n0\r\n\r\n"
            + head("Content-Length:  3 ", "Connection: close") + b"abc")
    answer, closed = exchange(srv, data)
    assert STATUS_LINE.findall(answer) == [b"200"] * 3, answer
    assert closed


def test_chunked_body_with_trailer_and_extensions(srv):
    data = (head("Transfer-Encoding: chunked", "Connection: close")
            + b"5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n")
    answer, closed = exchange(srv, data)
    assert STATUS_LINE.findall(answer) == [b"200"], answer
    assert closed


def test_normal_clients(srv):
    with requests.Session() as session:
        for _i in range(3):   # one kept-alive connection
            resp = session.post(srv.url + "/slow", data=b"x" * 1000,
                                timeout=10)
            assert resp.status_code == 200, resp.text
        resp = session.post(srv.url + "/slow", timeout=10,
                            data=(b"y" * 100 for _i in range(10)))
        assert resp.status_code == 200, resp.text
        assert session.get(srv.url + "/versions",
                           timeout=10).status_code == 200


# --- the request head, as http.server reads it -------------------------------
# (heads of the common shape are parsed by glance.common.request_head, the
# others by http.server: either way the connection is handled alike)

def test_http_1_0_closes_unless_kept_alive(srv):
    answer, closed = exchange(srv, head("Content-Length: 0",
                                        version="HTTP/1.0") + SMUGGLED)
    assert STATUS_LINE.findall(answer) == [b"200"], answer
    assert closed
    kept = head("Content-Length: 0", "Connection: keep-alive",
                version="HTTP/1.0")
    answer, closed = exchange(srv, kept + head("Content-Length: 0",
                                               "Connection: close"))
    assert STATUS_LINE.findall(answer) == [b"200", b"200"], answer
    assert closed


def test_connection_close_in_any_case_ends_the_connection(srv):
    answer, closed = exchange(srv, head("Content-Length: 0",
                                        "Connection: CLOSE") + SMUGGLED)
    assert STATUS_LINE.findall(answer) == [b"200"], answer
    assert closed


def test_expect_100_continue_without_reading_the_body(srv):
    # eventlet sends 100 Continue when the application reads the body;
    # this one answers without reading it
    answer, closed = exchange(srv, head("Content-Length: 5",
                                        "Expect: 100-continue",
                                        "Connection: close") + b"hello")
    assert STATUS_LINE.findall(answer) == [b"200"], answer
    assert closed


@pytest.mark.parametrize("request_line,answer_has", [
    (b"POST  /slow  HTTP/1.1", b"HTTP/1.1 200 OK"),   # split on runs
    (b"POST /slow HTTP/1.2", b"HTTP/1.1 200 OK"),
    # http.server's errors before the version is known come without a
    # status line (as to an HTTP/0.9 client)
    (b"POST /slow HTTP/2.0", b"Error code: 505"),
    (b"POST /slow HTTP/1.x", b"Error code: 400"),
    (b"POST /slow /more HTTP/1.1", b"HTTP/1.1 400 Bad request syntax"),
])
def test_request_lines_answer_as_http_server_does(srv, request_line,
                                                  answer_has):
    data = request_line + b"\r\nHost: x\r\nContent-Length: 0\r\n" \
        b"Connection: close\r\n\r\n"
    answer, closed = exchange(srv, data)
    assert answer_has in answer, answer
    assert len(STATUS_LINE.findall(answer)) <= 1, answer
    assert closed


def test_header_values_reach_the_application_as_sent(srv):
    # slowapp answers echo=headers with the WSGI environ's HTTP_ keys
    data = (b"GET /slow?echo=headers HTTP/1.1\r\nHost: x\r\n"
            b"X-Spaced:   a b  \r\nX-Dup: 1\r\nx-dup: 2\r\n"
            b"X-Latin: caf\xe9\r\nConnection: close\r\n\r\n")
    answer, closed = exchange(srv, data)
    assert STATUS_LINE.findall(answer) == [b"200"], answer
    body = answer.split(b"\r\n\r\n", 1)[1]
    assert b"HTTP_X_SPACED=a b\n" in body, body
    assert b"HTTP_X_DUP=1,2\n" in body, body
    assert b"HTTP_X_LATIN=caf\xc3\xa9\n" in body, body
