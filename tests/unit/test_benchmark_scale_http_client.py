"""The scale benchmark's HTTP client (benchmarks/scale_http.py): one
kept-alive connection per server, the page's ids, errors raised.

The server runs in a process of its own: other tests of a pytest worker
may have monkey-patched this one with eventlet, where a server thread
and a blocking client in the main thread would wait on each other.
"""
import subprocess
import sys

import pytest

from benchmarks import scale
from benchmarks import scale_http

SERVER = r'''
import http.server, json, sys

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"    # keep-alive

    def do_GET(self):
        # the client's port: one per connection
        sys.stderr.write("peer %d\n" % self.client_address[1])
        sys.stderr.flush()
        if "bad" in self.path:
            body, status = b"no", 400
        else:
            status = 200
            body = json.dumps({"images": [
                {"id": self.headers["X-Project-Id"]},
                {"id": self.path}]}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

# threads: a client may hold two connections open at once
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(httpd.server_address[1], flush=True)
httpd.serve_forever()
'''


@pytest.fixture
def server(tmp_path):
    """(its URL, a function giving the client ports it has seen)."""
    log = tmp_path / "peers.log"
    with open(log, "w") as err:
        process = subprocess.Popen([sys.executable, "-c", SERVER],
                                   stdout=subprocess.PIPE, stderr=err,
                                   text=True)
    try:
        port = int(process.stdout.readline())
        yield ("http://127.0.0.1:%d" % port,
               lambda: log.read_text().split())
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def test_time_http_gives_the_median_and_the_page_ids(server):
    url, peers = server
    client = scale_http.Client()
    try:
        ms, ids = scale_http.time_http(client, url, "user", "limit=2", 5)
    finally:
        client.close()
    assert ms > 0
    assert ids == [scale_http.IDENTITY["user"][0], "/v2/images?limit=2"]
    # the warm-up calls and five timed ones, on one connection
    seen = peers()[1::2]
    assert len(seen) == scale.WARMUP + 5 and len(set(seen)) == 1


def test_an_error_answer_is_raised(server):
    url, _peers = server
    client = scale_http.Client()
    try:
        with pytest.raises(RuntimeError, match="400"):
            scale_http.time_http(client, url, "admin", "bad=1", 3)
    finally:
        client.close()


def test_several_servers_are_timed_in_alternating_blocks(server):
    # one server under two names: two connections, whose requests the
    # server logs in the order they came
    url, peers = server
    other = url.replace("127.0.0.1", "localhost")
    client = scale_http.Client()
    try:
        (ms1, ids1), (ms2, ids2) = scale_http.time_alternating(
            client, [url, other], "admin", "limit=3", 7, block=3)
    finally:
        client.close()
    assert ms1 > 0 and ms2 > 0
    assert ids1 == ids2 == [scale_http.IDENTITY["admin"][0],
                            "/v2/images?limit=3"]
    seen = peers()[1::2]
    first, second = seen[0], seen[1]
    assert first != second
    # the warm-ups in turn, then blocks of 3, 3 and 1 timed requests,
    # each after one untimed request, the order reversed each round
    a, b = [first], [second]
    expected = (a + b) * scale.WARMUP
    expected += a * 4 + b * 4 + b * 4 + a * 4 + a * 2 + b * 2
    assert seen == expected


def test_by_default_each_server_gets_two_blocks(server):
    url, peers = server
    other = url.replace("127.0.0.1", "localhost")
    client = scale_http.Client()
    try:
        scale_http.time_alternating(client, [url, other], "user",
                                    "limit=1", 5)
    finally:
        client.close()
    seen = peers()[1::2][2 * scale.WARMUP:]
    a, b = seen[:1], seen[4:5]
    assert a != b
    assert seen == a * 4 + b * 4 + b * 3 + a * 3
