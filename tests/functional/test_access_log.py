"""The access log's byte count against the real daemon: the body bytes
actually sent, whether they went by sendfile (a download from the file
store, a cache hit), chunk by chunk (a teed first download) or were cut
short by a client hanging up."""
import datetime
import os
import re
import socket

import pytest

from tests.functional import apiclient
from tests.functional.server import GlanceServer, wait_for

MiB = 1024 * 1024
OCTET = "application/octet-stream"
BIG = 24 * MiB     # more than the socket buffers hold on loopback


def start_server(tmp_path_factory, flavor):
    server = GlanceServer(tmp_path_factory.mktemp("access-log"),
                          flavor=flavor, workers=1,
                          conf={"DEFAULT": {"image_size_cap": 2 * BIG}})
    return server.start()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = start_server(tmp_path_factory, "trusted-auth")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def caching(tmp_path_factory):
    server = start_server(tmp_path_factory, "trusted-auth+cachemanagement")
    yield server
    server.stop()


def api(server):
    return apiclient.Api(server.url, apiclient.new_project("logs"))


def logged(server, method, path, count=1):
    """(status, bytes) of the first ``count`` access lines for the
    request, waiting for them (a line is written once the response
    is over)."""
    line = re.compile(r'"%s %s HTTP/1\.1" (\d{3}) (\d+) '
                      % (method, re.escape(path)))

    def lines():
        found = line.findall(server.log_text())
        return found if len(found) >= count else None

    found = wait_for(lines, timeout=15, message="the access log line of %s"
                     % path)
    return [(int(status), int(sent)) for status, sent in found[:count]]


def test_sendfile_download_logs_the_body_length(srv):
    client = api(srv)
    data = os.urandom(3 * MiB + 12345)
    image_id = client.active(data)
    path = "/v2/images/%s/file" % image_id
    resp = client.get(path)
    assert resp.status_code == 200 and resp.content == data
    assert logged(srv, "GET", path) == [(200, len(data))]


def test_range_download_logs_the_range_length(srv):
    client = api(srv)
    data = os.urandom(3 * MiB)
    image_id = client.active(data)
    path = "/v2/images/%s/file" % image_id
    resp = client.get(path, headers={"Range": "bytes=1000-2500999"})
    assert resp.status_code == 206 and resp.content == data[1000:2501000]
    assert logged(srv, "GET", path) == [(206, 2500000)]


def test_json_and_error_responses_log_their_body(srv):
    client = api(srv)
    image = client.create(disk_format="raw", container_format="bare")
    path = "/v2/images/%s" % image["id"]
    resp = client.get(path)
    missing = "/v2/images/%s/members/nobody" % image["id"]
    gone = client.get(missing)
    assert resp.status_code == 200 and gone.status_code == 404
    assert logged(srv, "GET", path) == [(200, len(resp.content))]
    assert logged(srv, "GET", missing) == [(404, len(gone.content))]


def test_teed_then_cached_downloads_log_the_body_length(caching):
    client = api(caching)
    data = os.urandom(2 * MiB + 777)
    image_id = client.active(data)
    path = "/v2/images/%s/file" % image_id
    first = client.get(path)     # chunk by chunk, through the cache tee
    assert first.status_code == 200 and first.content == data
    admin = client.as_role(apiclient.ADMIN)
    wait_for(lambda: cache_hits(admin, image_id) == 0,
             message="the image in the cache")
    second = client.get(path)    # a cache hit, by sendfile
    assert second.status_code == 200 and second.content == data
    assert cache_hits(admin, image_id) == 1
    assert logged(caching, "GET", path, count=2) == [(200, len(data))] * 2


def cache_hits(admin, image_id):
    """The cache's hit count of the image, None if it is not cached."""
    for entry in admin.get("/v2/cache").json()["cached_images"]:
        if entry["image_id"] == image_id:
            return entry["hits"]
    return None


def test_client_hanging_up_logs_what_was_sent(srv):
    client = api(srv)
    image_id = client.active(os.urandom(BIG))
    path = "/v2/images/%s/file" % image_id
    received = hang_up_early(srv, client, path, keep=256 * 1024)
    [(status, sent)] = logged(srv, "GET", path)
    assert status == 200
    assert received <= sent < BIG, (received, sent)


def hang_up_early(srv, client, path, keep):
    """GET ``path`` on a socket with a small receive buffer, read about
    ``keep`` bytes, then close; the number of bytes read."""
    headers = apiclient.identity_headers(client.project, client.roles)
    request = "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path, "".join(
        "%s: %s\r\n" % kv for kv in headers.items()))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    sock.settimeout(10)
    received = 0
    try:
        sock.connect((srv.host, srv.port))
        sock.sendall(request.encode())
        while received < keep:
            chunk = sock.recv(65536)
            assert chunk, "the server closed first"
            received += len(chunk)
        # wait for bytes past those read, so that the close is a reset
        assert sock.recv(1, socket.MSG_PEEK), "the server closed first"
    finally:
        sock.close()      # with unread bytes: a reset
    return received


def test_access_lines_show_the_thread_only_when_a_format_names_it(
        srv, tmp_path):
    # the daemon looks threads up per record only for such a format
    fmt = ("%(process)d thread=%(thread)s name=%(threadName)s "
           "[%(request_id)s] %(message)s")
    server = GlanceServer(tmp_path, flavor="trusted-auth", workers=1,
                          conf={"DEFAULT": {
                              "logging_context_format_string": fmt,
                              "logging_default_format_string": fmt}})
    path = "/v2/images?limit=1"
    with server:
        for daemon in (srv, server):
            assert api(daemon).get(path).status_code == 200
            [(status, _sent)] = logged(daemon, "GET", path)
            assert status == 200
        shown = re.search(r"thread=(\d+) name=(\S+) \[req-[0-9a-f-]+\] "
                          r'\S+ - - \[[^]]+\] "GET /v2/images\?limit=1 ',
                          server.log_text())
        assert shown, server.tail()
    assert "thread=" not in srv.log_text()
    assert re.search(r'\d+ INFO eventlet\.wsgi\.server \[\S+ req-[0-9a-f-]+ '
                     r'.*"GET /v2/images\?limit=1 ', srv.log_text())


def test_access_line_in_oslo_logs_default_format(srv):
    client = api(srv)
    path = "/v2/images?limit=2"
    assert client.get(path).status_code == 200
    logged(srv, "GET", path)
    line = re.compile(
        r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.\d{3} \d+ INFO "
        r"eventlet\.wsgi\.server \[None req-[0-9a-f-]{36} u-%s %s( -)+\] "
        r"127\.0\.0\.1 - - \[(\d\d/\w{3}/\d{4} \d\d:\d\d:\d\d)\] "
        r'"GET %s HTTP/1\.1" 200 \d+ \d+\.\d{6}$'
        % (client.project, client.project, re.escape(path)), re.M)
    [(record_time, _dashes, access_time)] = line.findall(srv.log_text())
    record_time = datetime.datetime.strptime(record_time,
                                             "%Y-%m-%d %H:%M:%S")
    access_time = datetime.datetime.strptime(access_time,
                                             "%d/%b/%Y %H:%M:%S")
    # the access date, made once a second, is the record's own second
    # (or the one before, when the record was made just after it)
    assert 0 <= (record_time - access_time).total_seconds() <= 1
