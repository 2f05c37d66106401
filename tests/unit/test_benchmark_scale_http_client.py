"""The scale benchmark's HTTP client (benchmarks/scale_http.py): one
kept-alive connection per server, the page's ids, errors raised."""
import http.server
import json
import threading

import pytest

from benchmarks import scale_http


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"    # keep-alive
    peers = []

    def do_GET(self):
        self.peers.append(self.client_address)
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


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.peers = []
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_time_http_gives_the_median_and_the_page_ids(server):
    client = scale_http.Client()
    try:
        ms, ids = scale_http.time_http(client, server, "user", "limit=2", 5)
    finally:
        client.close()
    assert ms > 0
    assert ids == [scale_http.IDENTITY["user"][0], "/v2/images?limit=2"]
    # one warm-up and five timed calls, on one connection
    assert len(_Handler.peers) == 6 and len(set(_Handler.peers)) == 1


def test_an_error_answer_is_raised(server):
    client = scale_http.Client()
    try:
        with pytest.raises(RuntimeError, match="400"):
            scale_http.time_http(client, server, "admin", "bad=1", 3)
    finally:
        client.close()
