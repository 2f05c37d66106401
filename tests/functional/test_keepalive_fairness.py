"""One keep-alive connection cannot hold a worker: a client that has many
requests waiting on its connection (pipelined) is served one request at
a time between the other connections', so another client's request, sent
once the first client's queue is being answered, is answered before that
queue is through. Checked by the order of the access log lines, which the
worker writes as it answers. (Without the turn taking, eventlet serves a
connection's next request at once when it is already there.)"""
import re
import socket

import pytest

from tests.functional.server import GlanceServer, wait_for

# their answers (about 70 KB) fit in loopback's socket buffers: the worker
# never waits to send, the one way it would otherwise let others go
QUEUED = 100


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = GlanceServer(tmp_path_factory.mktemp("fairness"), workers=1)
    server.start()
    yield server
    server.stop()


def request(path):
    return ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode()


class Responses:
    """Whole responses read off one socket (GET /versions: their
    Content-Length); bytes of later responses a read brings along are
    kept for the next call, not dropped."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(60)      # a missing answer fails, not hangs
        self.data = b""

    def read(self, count):
        done = 0
        while True:
            while done < count:
                head_end = self.data.find(b"\r\n\r\n")
                if head_end < 0:
                    break
                length = int(re.search(rb"(?i)content-length: *(\d+)",
                                       self.data[:head_end]).group(1))
                if len(self.data) < head_end + 4 + length:
                    break
                self.data = self.data[head_end + 4 + length:]
                done += 1
            if done == count:
                return
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed after %d responses" % done
            self.data += chunk


def test_a_pipelining_client_does_not_hold_the_worker(srv):
    busy = socket.create_connection(("127.0.0.1", srv.port))
    other = socket.create_connection(("127.0.0.1", srv.port))
    try:
        busy_answers, other_answers = Responses(busy), Responses(other)
        # both connections served once: both are in the worker's hub
        for sock, answers, name in ((busy, busy_answers, "warm-a"),
                                    (other, other_answers, "warm-b")):
            sock.sendall(request("/versions?%s" % name))
            answers.read(1)
        busy.sendall(b"".join(request("/versions?a=%d" % i)
                              for i in range(QUEUED)))
        busy_answers.read(1)        # the worker is on the queue
        other.sendall(request("/versions?b"))
        other_answers.read(1)
        busy_answers.read(QUEUED - 1)
    finally:
        busy.close()
        other.close()
    last = "/versions?a=%d" % (QUEUED - 1)

    def order():
        text = srv.log_text()
        if last not in text or "/versions?b " not in text:
            return None
        return text.index("/versions?b "), text.index(last + " ")
    b_at, last_a_at = wait_for(order, timeout=15,
                               message="both access log lines")
    assert b_at < last_a_at
