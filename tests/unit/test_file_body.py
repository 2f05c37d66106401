"""glance.common.file_body: file regions and the server's file wrapper."""
import os
import socket
import threading

import pytest

from glance.common import file_body


@pytest.fixture
def direct_io(conf):
    conf(data_direct_io=True)


class Region(file_body.FileRegion):
    def __init__(self, fp, length, chunk_size):
        super().__init__(fp, length, chunk_size)
        self.events = []

    def start(self):
        self.events.append("start")

    def done(self):
        self.events.append(("done", self.sent))


@pytest.fixture
def data_file(tmp_path):
    data = os.urandom(100_000)
    path = tmp_path / "data"
    path.write_bytes(data)
    return path, data


def pread_sender(step):
    def send(fd, offset, count):
        return len(os.pread(fd, min(count, step), offset))
    return send


def test_iterated_region_from_an_offset(data_file):
    path, data = data_file
    f = open(path, "rb")
    f.seek(1000)
    region = Region(f, 50_000, 16_384)
    chunks = list(region)
    assert b"".join(chunks) == data[1000:51_000]
    assert max(map(len, chunks)) == 16_384
    # done before the last chunk was handed over, once
    assert region.events == ["start", ("done", 50_000)]
    assert f.closed


def test_region_sent_by_sendfile_after_a_first_chunk(data_file):
    path, data = data_file
    region = Region(open(path, "rb"), 90_000, 10_000)
    first = next(region)
    sent = []

    def send(fd, offset, count):
        sent.append(os.pread(fd, min(count, 7_000), offset))
        return len(sent[-1])

    region.sendfile(send)
    assert first + b"".join(sent) == data[:90_000]
    # done once, before the last piece was handed to sendfile
    assert region.events == ["start", ("done", 10_000)]
    assert region.sent == 90_000 and region.fp.closed


def test_short_file_raises_and_is_not_done(data_file):
    path, _data = data_file
    region = Region(open(path, "rb"), 200_000, 65_536)
    with pytest.raises(OSError, match="ended after"):
        list(region)
    assert ("done", 200_000) not in region.events and region.fp.closed
    region = Region(open(path, "rb"), 200_000, 65_536)
    with pytest.raises(OSError, match="ended after 100000"):
        region.sendfile(pread_sender(30_000))
    assert len(region.events) == 1 and region.fp.closed


def test_a_failing_start_closes_the_file(data_file):
    class Refused(file_body.FileRegion):
        def start(self):
            raise OSError("refused")

    region = Refused(open(data_file[0], "rb"), 10, 10)
    with pytest.raises(OSError, match="refused"):
        next(region)
    assert region.fp.closed


def test_file_wrapper_reads_a_plain_file(data_file):
    path, data = data_file
    wrapper = file_body.FileWrapper(open(path, "rb"), 30_000)
    assert b"".join(wrapper) == data
    wrapper.close()
    assert wrapper.body.closed


class ServerInput:
    def __init__(self, sock):
        self.sock = sock

    def get_socket(self):
        return self.sock


LENGTH = [("Content-Length", "100000")]


def test_serve_leaves_other_bodies_alone(data_file):
    left, right = socket.socketpair()
    environ = {"eventlet.input": ServerInput(left)}
    with left, right:
        plain = [b"x"]
        assert file_body.serve(plain, environ, LENGTH) is plain
        # a wrapper around a body without sendfile
        wrapped = file_body.FileWrapper(iter([b"x"]))
        assert file_body.serve(wrapped, environ, LENGTH) is wrapped
        region = file_body.FileWrapper(Region(open(data_file[0], "rb"),
                                              10, 10))
        # no Content-Length (chunked), or no socket
        assert file_body.serve(region, environ, []) is region
        assert file_body.serve(region, {}, LENGTH) is region
        region.close()
    assert "eventlet.minimum_write_chunk_size" not in environ


def test_serve_never_sendfiles_over_tls(data_file):
    class TLSSocket:
        def getpeercert(self):
            return {}

    region = file_body.FileWrapper(Region(open(data_file[0], "rb"), 10, 10))
    environ = {"eventlet.input": ServerInput(TLSSocket())}
    assert file_body.serve(region, environ, LENGTH) is region
    region.close()


def test_serve_sends_the_rest_by_sendfile(data_file):
    path, data = data_file
    left, right = socket.socketpair()
    environ = {"eventlet.input": ServerInput(left)}
    region = Region(open(path, "rb"), len(data), 4096)
    with left, right:
        body = file_body.serve(file_body.FileWrapper(region), environ,
                               LENGTH)
        assert environ["eventlet.minimum_write_chunk_size"] == 0
        first = next(body)     # what eventlet writes with the headers
        assert first == data[:4096]
        right.settimeout(5)
        received = bytearray()
        reader = threading.Thread(target=lambda: _read_all(
            right, received, len(data) - len(first)))
        reader.start()
        assert list(body) == []    # the rest went by sendfile
        reader.join(5)
    assert first + bytes(received) == data
    assert region.events[-1] == ("done", len(first)) and region.fp.closed


def _read_all(sock, into, count):
    while len(into) < count:
        chunk = sock.recv(65536)
        if not chunk:
            return
        into += chunk


def test_region_read_past_the_page_cache(direct_io, tmp_path):
    data = os.urandom(3 * 65536 + 100)
    path = tmp_path / "f"
    path.write_bytes(data)
    region = Region(open(path, "rb"), len(data), 4096)
    assert region.read_direct(65536 + 10)   # rounded down to blocks
    chunks = list(region)                    # each read ahead of its turn
    assert [len(c) for c in chunks] == [65536] * 3 + [100]
    assert b"".join(chunks) == data and region.fp.closed
    unaligned = open(path, "rb")
    unaligned.seek(10)
    region = Region(unaligned, 100, 4096)
    assert not region.read_direct(65536)    # O_DIRECT needs aligned reads
    assert b"".join(region) == data[10:110]


def test_closing_a_direct_region_mid_way_waits_for_its_read_ahead(
        direct_io, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(os.urandom(4 * 65536))
    region = Region(open(path, "rb"), 4 * 65536, 4096)
    assert region.read_direct(65536)
    next(region)
    assert region._ahead is not None        # the second chunk is coming
    region.close()
    assert region._ahead is None and region.fp.closed


def test_wrap_only_for_this_server_and_sendfile_bodies(data_file):
    region = Region(open(data_file[0], "rb"), 10, 10)
    ours = {"wsgi.file_wrapper": file_body.FileWrapper}
    wrapped = file_body.wrap(region, ours)
    assert isinstance(wrapped, file_body.FileWrapper)
    assert wrapped.body is region
    other = {"wsgi.file_wrapper": lambda f, size=None: f}
    assert file_body.wrap(region, other) is region
    assert file_body.wrap(region, {}) is region
    plain = iter([b"x"])
    assert file_body.wrap(plain, ours) is plain
    region.close()
