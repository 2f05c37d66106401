"""glance.common.filewriter: files written through mapped windows of
the page cache (the default) or with O_DIRECT, and the hashing copy
loop."""
import array
import errno
import hashlib
import io
import mmap
import os

import pytest

from glance.common import filewriter


@pytest.fixture
def direct_io(conf):
    conf(data_direct_io=True)


def test_direct_file_writes_blocks_and_tail(direct_io, tmp_path):
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


def test_a_filesystem_refusing_o_direct_writes_buffered(direct_io, tmp_path,
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


def test_bytes_go_direct_through_an_aligned_copy(direct_io, tmp_path):
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


def test_direct_io_is_off_by_default_and_can_be_turned_on(tmp_path, conf):
    from glance.common import file_body
    with filewriter.create(str(tmp_path / "f")) as f:
        assert isinstance(f, filewriter.MappedFile)
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
    conf(data_direct_io=True)
    with filewriter.create(str(tmp_path / "g")) as f:
        assert isinstance(f, filewriter.DirectFile) and f.direct


# --- MappedFile: written through the page cache ---

def in_page_cache(path):
    """Whether all of ``path`` can be read without waiting for the disk
    (a read with RWF_NOWAIT fails or stops short otherwise)."""
    size = os.path.getsize(path)
    buffer = bytearray(size)
    fd = os.open(str(path), os.O_RDONLY)
    try:
        got = os.preadv(fd, [buffer], 0, os.RWF_NOWAIT)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return got == size


def mapped_windows(path):
    with open("/proc/self/maps") as f:
        return [line for line in f if line.rstrip().endswith(str(path))]


@pytest.mark.parametrize("size,chunk,depth", [
    (0, 4096, 3), (1, 4096, 3), (4096 * 10 + 5, 4096, 3),
    (4096 * 10, 8192, 1), (100_000, 5000, 2), (1 << 20, 65536, 3)])
def test_copy_hashing_receives_into_the_files_pages(tmp_path, size, chunk,
                                                   depth):
    data = os.urandom(size)
    path = tmp_path / "f"
    hashes = (hashlib.md5(), hashlib.sha512())
    with filewriter.create(str(path)) as f:
        written = filewriter.copy_hashing(reader_of(data), f, hashes, chunk,
                                          depth=depth)
        assert f.mapped and f.size == size
        assert mapped_windows(path) == []     # nothing stays mapped
    assert written == size and path.read_bytes() == data  # cut to size
    assert hashes[0].hexdigest() == hashlib.md5(data).hexdigest()
    assert hashes[1].hexdigest() == hashlib.sha512(data).hexdigest()
    assert in_page_cache(path)


def test_short_reads_before_the_end_land_in_place(tmp_path):
    data = os.urandom(50_000)
    ends = iter([4000, 4001, 20000, 36384, 50_000])
    source = io.BytesIO(data)

    def read_into(view):   # short reads, never past the buffer
        end = next(ends, 50_000)
        return source.readinto(view[:end - source.tell()])

    with filewriter.create(str(tmp_path / "f")) as f:
        assert filewriter.copy_hashing(read_into, f, (), 16384) == 50_000
    assert (tmp_path / "f").read_bytes() == data


def test_mapped_writes_cross_windows_and_are_cut_on_finish(tmp_path,
                                                           monkeypatch):
    monkeypatch.setattr(filewriter.MappedFile, "WINDOW", 2 * 4096)
    parts = [os.urandom(n) for n in (3000, 4096, 10_000, 1, 8192, 77)]
    path = tmp_path / "f"
    fd = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o600)
    with filewriter.adopt(fd) as f:
        for part in parts:
            assert f.write(part) == len(part)
        f.finish()   # before the writer renames the file into place
        assert os.path.getsize(path) == sum(map(len, parts))
        assert mapped_windows(path) == []
    assert path.read_bytes() == b"".join(parts)
    assert in_page_cache(path)


def test_mapped_writes_take_every_kind_of_buffer(tmp_path, monkeypatch):
    # bytes and writable buffers are copied with the GIL released, the
    # rest (a read-only slice, another item size) by slice assignment
    monkeypatch.setattr(filewriter.MappedFile, "WINDOW", 2 * 4096)
    raw = os.urandom(30_000)
    parts = [raw[:5000], bytearray(raw[5000:9000]),
             memoryview(raw)[9000:17000], array.array("i", raw[17000:21000]),
             memoryview(bytearray(raw[21000:]))[:5000], raw[26000:]]
    path = tmp_path / "f"
    with filewriter.create(str(path)) as f:
        for part in parts:
            assert f.write(part) == memoryview(part).nbytes
    assert path.read_bytes() == raw
    assert mapped_windows(path) == []


def test_populating_a_window_reports_the_kernels_error(tmp_path,
                                                       monkeypatch):
    monkeypatch.setattr(filewriter, "MADV_POPULATE_WRITE", 0x7fff)
    with open(tmp_path / "f", "w+b") as f:
        f.truncate(4096)
        window = mmap.mmap(f.fileno(), 4096)
        with pytest.raises(OSError) as caught:
            filewriter._populate(window)
        assert caught.value.errno == errno.EINVAL
        window.close()  # nothing of the call still holds the mapping


def test_a_file_open_for_writing_only_is_written_by_write(tmp_path):
    path = tmp_path / "f"
    data = os.urandom(3 * 65536 + 3)
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT, 0o600)
    with filewriter.adopt(fd) as f:
        assert filewriter.copy_hashing(reader_of(data), f, (), 65536) == \
            len(data)
        assert not f.mapped
        f.write(b"more")
    assert path.read_bytes() == data + b"more"


def test_a_kernel_without_populate_is_written_by_write(tmp_path,
                                                       monkeypatch):
    monkeypatch.setattr(filewriter, "MADV_POPULATE_WRITE", 0x7fff)  # EINVAL
    data = os.urandom(100_000)
    hashes = (hashlib.md5(),)
    with filewriter.create(str(tmp_path / "f")) as f:
        filewriter.copy_hashing(reader_of(data), f, hashes, 8192)
        assert not f.mapped
    assert (tmp_path / "f").read_bytes() == data
    assert hashes[0].hexdigest() == hashlib.md5(data).hexdigest()


def test_pages_that_cannot_be_allocated_are_enospc_on_a_full_disk(
        tmp_path, monkeypatch):
    class Full:
        f_bavail, f_frsize = 1, 4096

    with filewriter.create(str(tmp_path / "f")) as f:
        fault = OSError(errno.EFAULT, "Bad address")
        monkeypatch.setattr(os, "fstatvfs", lambda fd: Full)
        assert f._allocation_error(fault, 1 << 20).errno == errno.ENOSPC
        Full.f_bavail = 1 << 30
        assert f._allocation_error(fault, 1 << 20).errno == errno.EIO
        other = OSError(errno.ENOMEM, "Cannot allocate memory")
        assert f._allocation_error(other, 1 << 20) is other


def test_a_failing_window_stops_the_copy_and_unmaps(tmp_path, monkeypatch):
    real_window = filewriter.MappedFile.window

    def window(self, offset, length):
        if offset >= 3 * 8192:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_window(self, offset, length)

    monkeypatch.setattr(filewriter.MappedFile, "window", window)
    path = tmp_path / "f"
    with pytest.raises(OSError) as err:
        with filewriter.create(str(path)) as f:
            filewriter.copy_hashing(reader_of(os.urandom(100_000)), f,
                                    (hashlib.md5(),), 8192)
    assert err.value.errno == errno.ENOSPC
    assert mapped_windows(path) == []
