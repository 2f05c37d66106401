"""glance.common.filewriter: O_DIRECT files and the hashing copy loop."""
import errno
import hashlib
import io
import os

import pytest

from glance.common import filewriter


def test_direct_file_writes_blocks_and_tail(tmp_path):
    path = tmp_path / "f"
    data = os.urandom(3 * filewriter.BLOCK + 123)
    buffer = filewriter.aligned_buffer(len(data))
    buffer[:] = data
    with filewriter.DirectFile.create(str(path)) as f:
        assert f.direct   # ext4/tmpfs here take O_DIRECT
        assert f.write(memoryview(buffer)) == len(data)
        assert not f.direct   # the tail went buffered
    assert path.read_bytes() == data


def test_create_is_exclusive_unless_replacing(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"old data")
    with pytest.raises(FileExistsError):
        filewriter.DirectFile.create(str(path))
    with filewriter.DirectFile.create(str(path), replace=True) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new"


def test_a_filesystem_refusing_o_direct_writes_buffered(tmp_path,
                                                        monkeypatch):
    real_write = os.write
    calls = []

    def write(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    data = os.urandom(2 * filewriter.BLOCK)
    buffer = filewriter.aligned_buffer(len(data))
    buffer[:] = data
    with filewriter.DirectFile.create(str(tmp_path / "f")) as f:
        f.write(buffer)
        assert not f.direct
    assert (tmp_path / "f").read_bytes() == data


def reader_of(data):
    """A read_into over ``data`` that fills whole buffers but the last."""
    source = io.BytesIO(data)

    def read_into(view):
        return source.readinto(view)
    return read_into


@pytest.mark.parametrize("size,chunk,depth", [
    (0, 4096, 3), (1, 4096, 3), (4096 * 10 + 5, 4096, 3),
    (4096 * 10, 8192, 1), (100_000, 4096, 5)])
def test_copy_hashing_hashes_and_writes_in_order(size, chunk, depth):
    data = os.urandom(size)
    out = io.BytesIO()
    hashes = (hashlib.md5(), hashlib.sha512())
    written = filewriter.copy_hashing(reader_of(data), out, hashes, chunk,
                                      depth=depth)
    assert written == size and out.getvalue() == data
    assert hashes[0].hexdigest() == hashlib.md5(data).hexdigest()
    assert hashes[1].hexdigest() == hashlib.sha512(data).hexdigest()


def test_a_failing_lane_stops_its_later_chunks():
    class FailingOut:
        def __init__(self):
            self.writes = 0

        def write(self, chunk):
            self.writes += 1
            if self.writes == 2:
                raise OSError(errno.ENOSPC, "No space left on device")

    out = FailingOut()
    with pytest.raises(OSError) as err:
        filewriter.copy_hashing(reader_of(os.urandom(50_000)), out,
                                (hashlib.md5(),), 4096, depth=3)
    assert err.value.errno == errno.ENOSPC
    assert out.writes == 2   # nothing was written after the failure


def test_a_failing_read_waits_for_the_lanes():
    done = []

    class SlowOut:
        def write(self, chunk):
            import time
            time.sleep(0.05)
            done.append(len(chunk))

    source = io.BytesIO(os.urandom(3 * 4096))

    def read_into(view):
        if source.tell() == 2 * 4096:
            raise ConnectionResetError("client went away")
        return source.readinto(view)

    with pytest.raises(ConnectionResetError):
        filewriter.copy_hashing(read_into, SlowOut(), (), 4096, depth=3)
    assert done == [4096, 4096]   # both writes had finished


def test_bytes_go_direct_through_an_aligned_copy(tmp_path):
    path = tmp_path / "f"
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT, 0o600)
    parts = [os.urandom(2 * filewriter.BLOCK) for _ in range(3)]
    with filewriter.DirectFile.adopt(fd) as f:
        assert f.direct
        for part in parts:       # bytes: never page-aligned
            f.write(part)
        assert f.direct          # whole blocks all along
        f.write(b"tail")
    assert path.read_bytes() == b"".join(parts) + b"tail"


def test_direct_io_can_be_turned_off(tmp_path):
    from oslo_config import cfg

    from glance.common import file_body
    conf = cfg.CONF
    if conf._args is None:
        conf([], project="glance", default_config_files=[])
    conf.set_override("data_direct_io", False)
    try:
        with filewriter.DirectFile.create(str(tmp_path / "f")) as f:
            assert not f.direct
            f.write(b"x" * filewriter.BLOCK)
        fd = os.open(str(tmp_path / "f"), os.O_RDONLY)
        try:
            assert not filewriter.set_direct(fd)
        finally:
            os.close(fd)
        region = file_body.FileRegion(open(tmp_path / "f", "rb"),
                                      filewriter.BLOCK, 4096)
        assert not region.read_direct(65536)
        assert b"".join(region) == b"x" * filewriter.BLOCK
    finally:
        conf.clear_override("data_direct_io")
    with filewriter.DirectFile.create(str(tmp_path / "g")) as f:
        assert f.direct
