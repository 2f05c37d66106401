"""glance.store: writing with limits and format inspection, reading,
deleting and staging, on real glance_store file stores in temp dirs."""
import hashlib
import os
import struct
import uuid

import glance_store
import pytest
from oslo_config import cfg

from glance.common import exception
from glance.common import filewriter
from glance.db import storage_quota
from glance import store
from tests import disk_images as di

CONF = cfg.CONF
MiB = 1024 * 1024


# --- image builders (tests/disk_images.py; no qemu-img needed) ---

def qcow2(virtual_size=1 << 30, **options):
    """tests/disk_images.py's qcow2 header, 1 GiB virtual unless told."""
    return di.qcow2(virtual_size=virtual_size, **options)


vmdk = di.vmdk


def md5(data):
    return hashlib.md5(data).hexdigest()


def sha512(data):
    return hashlib.sha512(data).hexdigest()


def chunks(data, size=65536, consumed=None):
    """An iterator over ``data``; records how far it was read."""
    for start in range(0, len(data), size):
        if consumed is not None:
            consumed.append(start + len(data[start:start + size]))
        yield data[start:start + size]


def new_image(disk_format="raw", container_format="bare", owner="p1"):
    return {"id": str(uuid.uuid4()), "owner": owner, "size": None,
            "disk_format": disk_format,
            "container_format": container_format, "status": "saving",
            "locations": []}


# --- fixtures (file_store is in conftest.py) ---

@pytest.fixture
def multi_store(tmp_path, conf):
    """Two file backends, 'fast' (default) and 'slow', plus staging."""
    dirs = {name: tmp_path / name for name in ("fast", "slow", "staging")}
    reserved = {store.STAGING_STORE: "file"}
    conf(enabled_backends={"fast": "file", "slow": "file"})
    glance_store.register_store_opts(CONF, reserved_stores=reserved)
    conf(group="glance_store", default_backend="fast")
    conf(group="fast", filesystem_store_datadir=str(dirs["fast"]))
    conf(group="slow", filesystem_store_datadir=str(dirs["slow"]))
    conf(group=store.STAGING_STORE,
         filesystem_store_datadir=str(dirs["staging"]))
    glance_store.create_multi_stores(CONF, reserved_stores=reserved)
    return dirs


def files(directory):
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


# --- writing ---

def test_write_raw_hashes_size_virtual_size(file_store):
    data = os.urandom(3 * MiB + 17)
    image = new_image()
    result = store.write_image(None, image, chunks(data), size=len(data))
    assert result["size"] == len(data)
    assert result["checksum"] == md5(data)
    assert result["os_hash_algo"] == "sha512"
    assert result["os_hash_value"] == sha512(data)
    assert result["virtual_size"] == len(data)
    assert result["url"] == "file://%s/%s" % (file_store, image["id"])
    assert result["store_id"] is None
    with open(file_store / image["id"], "rb") as f:
        assert f.read() == data


def test_write_from_file_object_unknown_size(file_store, tmp_path):
    data = b"abc" * 1000
    src = tmp_path / "src"
    src.write_bytes(data)
    image = new_image()
    with open(src, "rb") as f:
        result = store.write_image(None, image, f)
    assert result["size"] == len(data) and result["checksum"] == md5(data)


def test_write_uses_configured_hashing_algorithm(file_store, conf):
    conf(hashing_algorithm="sha256")
    result = store.write_image(None, new_image(), [b"hello"])
    assert result["os_hash_algo"] == "sha256"
    assert result["os_hash_value"] == hashlib.sha256(b"hello").hexdigest()


def test_write_empty(file_store):
    result = store.write_image(None, new_image(), [], size=0)
    assert result["size"] == 0
    assert result["checksum"] == md5(b"")
    assert result["virtual_size"] == 0


def test_size_cap_stops_the_stream_and_leaves_nothing(file_store, conf):
    conf(image_size_cap=200 * 1024)
    consumed = []
    with pytest.raises(exception.ImageSizeLimitExceeded) as err:
        store.write_image(None, new_image(),
                          chunks(os.urandom(MiB), 64 * 1024, consumed))
    assert err.value.code == 413
    # stopped at the chunk that crossed the limit, not at the end
    assert consumed[-1] <= 200 * 1024 + 64 * 1024
    assert files(file_store) == []


def test_size_cap_refused_up_front_when_announced(file_store, conf):
    conf(image_size_cap=1000)
    consumed = []
    with pytest.raises(exception.ImageSizeLimitExceeded):
        store.write_image(None, new_image(),
                          chunks(b"x" * 5000, 1000, consumed), size=5000)
    assert consumed == []
    assert files(file_store) == []


def test_size_cap_exact_is_allowed(file_store, conf):
    conf(image_size_cap=5000)
    result = store.write_image(None, new_image(), [b"x" * 5000])
    assert result["size"] == 5000


def test_quota_counts_the_owners_other_images(file_store, conf,
                                              monkeypatch):
    seen = []

    def usage(owner, image_id=None):
        seen.append((owner, image_id))
        return MiB - 1000

    monkeypatch.setattr(storage_quota.db, "user_get_storage_usage", usage)
    conf(user_storage_quota="1MB")
    image = new_image(owner="p9")
    result = store.write_image(None, image, [b"y" * 1000],
                               limit=storage_quota.upload_limit(image))
    assert result["size"] == 1000
    assert seen == [("p9", image["id"])]
    other = new_image()
    with pytest.raises(exception.StorageQuotaFull) as err:
        store.write_image(None, other, chunks(b"y" * 5000, 600),
                          limit=storage_quota.upload_limit(other))
    assert err.value.code == 413
    assert "1000 bytes" in str(err.value)
    assert files(file_store) == [image["id"]]


def test_quota_refused_up_front(file_store, conf, monkeypatch):
    monkeypatch.setattr(storage_quota.db, "user_get_storage_usage",
                        lambda owner, image_id=None: 100)
    conf(user_storage_quota="1KB")
    with pytest.raises(exception.StorageQuotaFull):
        storage_quota.upload_limit(new_image(), 2000)
    monkeypatch.setattr(storage_quota.db, "user_get_storage_usage",
                        lambda owner, image_id=None: 4096)
    with pytest.raises(exception.StorageQuotaFull):
        storage_quota.upload_limit(new_image())
    assert files(file_store) == []


def test_without_a_limit_the_size_cap_still_holds(file_store, conf):
    conf(image_size_cap=100, user_storage_quota="1B")
    consumed = []
    with pytest.raises(exception.ImageSizeLimitExceeded):
        store.write_image(None, new_image(),
                          chunks(b"z" * 2000, 100, consumed), size=2000)
    assert consumed == []
    with pytest.raises(exception.ImageSizeLimitExceeded):
        store.write_image(None, new_image(), chunks(b"z" * 2000, 100))
    assert files(file_store) == []


def test_stage_without_inspection_takes_any_bytes(file_store, tmp_path):
    image = new_image("qcow2")
    data = qcow2(backing_file=b"x")
    result = store.stage_image(None, image, [data], inspect=False)
    assert result["size"] == len(data)
    assert (tmp_path / "staging" / image["id"]).read_bytes() == data


def test_short_body_is_refused_and_removed(file_store):
    with pytest.raises(store.IncompleteImageData) as err:
        store.write_image(None, new_image(), chunks(b"a" * 500), size=1000)
    assert "500 of the 1000" in str(err.value)
    assert files(file_store) == []


def test_body_longer_than_announced_is_cut_at_content_length(file_store):
    result = store.write_image(None, new_image(), [b"a" * 10, b"b" * 10],
                               size=15)
    assert result["size"] == 15
    assert result["checksum"] == md5(b"a" * 10 + b"b" * 5)


def test_source_error_removes_partial_data(file_store):
    def broken():
        yield b"a" * MiB
        raise ConnectionResetError("client went away")

    with pytest.raises(store.UploadInterrupted):
        store.write_image(None, new_image(), broken())
    assert files(file_store) == []


def test_data_already_in_the_store_is_left_alone(file_store):
    """A second write under the image's name (a copy racing an earlier
    one) is refused, and the first write's file, which its location
    points at, stays as it was."""
    image = new_image()
    first = store.write_image(None, image, [b"first data"])
    with pytest.raises(exception.Conflict, match="already exists"):
        store.write_image(None, image, [b"second"])
    assert files(file_store) == [image["id"]]
    assert (file_store / image["id"]).read_bytes() == b"first data"
    assert first["url"].endswith(image["id"])


# --- format inspection ---

def test_qcow2_virtual_size(file_store):
    data = qcow2(virtual_size=5 << 30)
    result = store.write_image(None, new_image("qcow2"), chunks(data, 512))
    assert result["virtual_size"] == 5 << 30
    assert result["size"] == len(data)


def test_qcow2_v2_accepted(file_store):
    result = store.write_image(None, new_image("qcow2"),
                               [qcow2(version=2, virtual_size=1 << 20)])
    assert result["virtual_size"] == 1 << 20


def test_qcow2_with_backing_file_refused(file_store):
    data = qcow2(backing_file=b"/etc/shadow")
    with pytest.raises(store.InvalidImageData) as err:
        store.write_image(None, new_image("qcow2"), chunks(data, 4096))
    assert err.value.code == 415
    assert "backing_file" in str(err.value)
    assert files(file_store) == []


def test_qcow2_with_data_file_refused(file_store):
    with pytest.raises(store.InvalidImageData, match="data_file"):
        store.write_image(None, new_image("qcow2"), [qcow2(data_file=True)])
    assert files(file_store) == []


def test_qcow2_declared_raw_refused_early(file_store):
    consumed = []
    data = qcow2() + os.urandom(4 * MiB)
    with pytest.raises(store.InvalidImageData) as err:
        store.write_image(None, new_image("raw"),
                          chunks(data, 65536, consumed))
    assert "qcow2" in str(err.value) and "raw" in str(err.value)
    assert consumed[-1] <= 2 * 65536     # refused at the header
    assert files(file_store) == []


def test_unsafe_qcow2_declared_raw_refused(file_store):
    with pytest.raises(store.InvalidImageData):
        store.write_image(None, new_image("raw"),
                          [qcow2(backing_file=b"x")])
    assert files(file_store) == []


def test_raw_data_declared_qcow2_refused(file_store):
    with pytest.raises(store.InvalidImageData) as err:
        store.write_image(None, new_image("qcow2"),
                          chunks(os.urandom(MiB)))
    assert "declared disk_format qcow2" in str(err.value)
    assert files(file_store) == []


def test_tiny_data_declared_qcow2_refused(file_store):
    with pytest.raises(store.InvalidImageData):
        store.write_image(None, new_image("qcow2"), [b"QFI"])
    assert files(file_store) == []


def test_format_match_not_required(file_store, conf):
    conf(group="image_format", require_image_format_match=False)
    result = store.write_image(None, new_image("qcow2"), [b"plain" * 100])
    assert result["virtual_size"] is None    # unknown: not a qcow2
    with pytest.raises(store.InvalidImageData):   # safety still checked
        store.write_image(None, new_image("raw"),
                          [qcow2(backing_file=b"x")])


def test_container_formats_are_not_inspected(file_store):
    result = store.write_image(None, new_image("qcow2", "ova"),
                               [b"a tar file"])
    assert result["virtual_size"] is None


def test_format_without_inspector_is_accepted(file_store):
    result = store.write_image(None, new_image("ami"), [b"kernel" * 10])
    assert result["virtual_size"] is None
    with pytest.raises(store.InvalidImageData):
        store.write_image(None, new_image("ami"),
                          [qcow2(backing_file=b"x")])


def test_vmdk_monolithic_sparse(file_store):
    result = store.write_image(None, new_image("vmdk"),
                               chunks(vmdk(sectors=4096), 1000))
    assert result["virtual_size"] == 4096 * 512


def test_vmdk_disallowed_create_type(file_store, conf):
    with pytest.raises(store.InvalidImageData):
        store.write_image(None, new_image("vmdk"),
                          [vmdk(create_type="vmfs")])
    conf(group="image_format", vmdk_allowed_types=["streamOptimized"])
    with pytest.raises(store.InvalidImageData, match="monolithicsparse"):
        store.write_image(None, new_image("vmdk"), [vmdk()])
    assert files(file_store) == []


@pytest.mark.parametrize("extents", [
    ['RW 2048 SPARSE "disk.vmdk"', 'RW 2048 FLAT "other-flat.vmdk" 0'],
    ['RW 2048 FLAT "/etc/passwd" 0'],
    ['RW 2048 FLAT "disk-flat.vmdk" 0'],
])
def test_vmdk_extents_outside_the_image_refused(file_store, extents):
    with pytest.raises(store.InvalidImageData):
        store.write_image(None, new_image("vmdk"), [vmdk(extents=extents)])
    assert files(file_store) == []


def test_raw_disk_with_mbr_is_raw(file_store):
    mbr = bytearray(512)
    struct.pack_into("<B3BB3BII", mbr, 446, 0x80, 0, 2, 0, 0x83, 0, 0, 0,
                     2048, 4096)
    mbr[510:512] = b"\x55\xaa"
    data = bytes(mbr) + bytes(MiB)
    result = store.write_image(None, new_image("raw"), [data])
    assert result["virtual_size"] == len(data)


# --- upload heartbeat ---

class Beat:
    interval = 0

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.answers.pop(0) if self.answers else True


def test_heartbeat_called_while_streaming(file_store):
    beat = Beat([True] * 10)
    store.write_image(None, new_image(), chunks(b"q" * 10 * 65536),
                      heartbeat=beat)
    assert beat.calls >= 5


def test_lost_upload_ends_without_deleting_the_new_owners_data(file_store):
    image = new_image()
    with pytest.raises(store.UploadTakenOver) as err:
        store.write_image(None, image, chunks(b"q" * 10 * 65536),
                          heartbeat=Beat([True, False]))
    assert err.value.code == 409
    # the path now belongs to the upload that took over: left alone
    assert files(file_store) == [image["id"]]


def test_heartbeat_error_aborts_and_removes(file_store):
    class Gone(Beat):
        def __call__(self):
            raise exception.Gone("image deleted")

    with pytest.raises(exception.Gone):
        store.write_image(None, new_image(), chunks(b"q" * 4 * 65536),
                          heartbeat=Gone([]))
    assert files(file_store) == []


def test_discard_leftover_data(file_store):
    image = new_image()
    file_store.mkdir(parents=True, exist_ok=True)
    (file_store / image["id"]).write_bytes(b"partial")
    assert store.discard_leftover_data(image["id"]) == [
        str(file_store / image["id"])]
    assert files(file_store) == []
    assert store.discard_leftover_data(image["id"]) == []
    # and an upload then works
    assert store.write_image(None, image, [b"new"])["size"] == 3


# --- reading ---

def test_read_whole_image_in_large_chunks(file_store):
    data = os.urandom(3 * MiB + 5)
    loc = store.write_image(None, new_image(), chunks(data))
    it, size = store.read_image(loc)
    got = list(it)
    assert size == len(data) and b"".join(got) == data
    assert all(len(c) >= MiB for c in got[:-1])


@pytest.mark.parametrize("offset,length", [(0, 10), (10, None),
                                           (100, 1), (0, None)])
def test_read_ranges(file_store, offset, length):
    data = os.urandom(5000)
    loc = store.write_image(None, new_image(), [data])
    it, size = store.read_image(loc, offset=offset, length=length)
    expected = data[offset:offset + length if length else None]
    assert size == len(expected)
    assert b"".join(it) == expected


def test_read_short_data_raises_not_ends(file_store):
    data = os.urandom(200_000)
    image = new_image()
    loc = store.write_image(None, image, [data])
    it, size = store.read_image(loc, chunk_size=65536)
    first = next(it)
    with open(file_store / image["id"], "r+b") as f:
        f.truncate(100_000)
    with pytest.raises(OSError, match="not 200000"):
        for chunk in it:
            first += chunk


@pytest.mark.parametrize("actual", [100_000, 300_000])
def test_read_checks_against_the_recorded_size(file_store, actual):
    image = new_image()
    loc = store.write_image(None, image, [b"r" * 200_000])
    with open(file_store / image["id"], "r+b") as f:
        f.truncate(actual)
    it, size = store.read_image(loc, chunk_size=65536, image_size=200_000)
    assert size == 200_000
    got = 0
    with pytest.raises(OSError, match="not 200000"):
        for chunk in it:
            got += len(chunk)
    assert got <= 200_000


def test_read_missing_data(file_store):
    image = new_image()
    loc = store.write_image(None, image, [b"abc"])
    os.unlink(file_store / image["id"])
    with pytest.raises(store.DataNotFound):
        store.read_image(loc)


def test_read_closes_the_store_file_when_abandoned(file_store):
    loc = store.write_image(None, new_image(), [os.urandom(3 * MiB)])
    it, _size = store.read_image(loc, chunk_size=MiB)
    next(it)
    it.close()       # as the WSGI server does when the client goes away


# --- deleting ---

def test_delete_image_data(file_store):
    image = new_image()
    loc = store.write_image(None, image, [b"abc"])
    assert store.delete_image_data(loc) is True
    assert files(file_store) == []
    assert store.delete_image_data(loc) is False


# --- staging ---

def test_stage_writes_staging_file(file_store, tmp_path):
    data = os.urandom(100_000)
    image = new_image()
    result = store.stage_image(None, image, chunks(data, 7000))
    path = tmp_path / "staging" / image["id"]
    assert result == {"url": "file://%s" % path, "size": len(data)}
    assert path.read_bytes() == data
    assert files(file_store) == []
    assert store.delete_staged_data(image["id"]) is True
    assert store.delete_staged_data(image["id"]) is False


def test_stage_same_checks(file_store, tmp_path, conf):
    image = new_image("qcow2")
    with pytest.raises(store.InvalidImageData):
        store.stage_image(None, image, [qcow2(backing_file=b"x")])
    conf(image_size_cap=100)
    with pytest.raises(exception.ImageSizeLimitExceeded):
        store.stage_image(None, new_image(), chunks(b"a" * 1000, 60))
    with pytest.raises(store.IncompleteImageData):
        store.stage_image(None, new_image(), [b"a" * 10], size=50)
    assert files(tmp_path / "staging") == []


def test_staging_path_refuses_odd_ids(file_store):
    with pytest.raises(exception.Invalid):
        store.staging_path("../etc/passwd")


# --- multi-store ---

def test_multi_store_picks_store(multi_store):
    image = new_image()
    result = store.write_image(None, image, [b"slow data"], store_id="slow")
    assert result["store_id"] == "slow"
    assert result["metadata"]["store"] == "slow"
    assert files(multi_store["slow"]) == [image["id"]]
    assert files(multi_store["fast"]) == []
    other = new_image()
    result = store.write_image(None, other, [b"fast data"])
    assert result["metadata"]["store"] == "fast"
    it, _size = store.read_image(result)
    assert b"".join(it) == b"fast data"
    assert store.delete_image_data(result)
    assert files(multi_store["fast"]) == []


@pytest.mark.parametrize("store_id", ["nope", store.STAGING_STORE,
                                      "os_glance_tasks_store"])
def test_multi_store_unknown_or_reserved(multi_store, store_id):
    with pytest.raises(store.UnknownStore) as err:
        store.resolve_store_id(store_id)
    assert err.value.code == 400


def test_multi_store_leftovers_in_every_file_store(multi_store):
    image = new_image()
    for name in ("fast", "slow"):
        multi_store[name].mkdir(parents=True, exist_ok=True)
        (multi_store[name] / image["id"]).write_bytes(b"partial")
    assert len(store.discard_leftover_data(image["id"])) == 2
    assert files(multi_store["fast"]) == files(multi_store["slow"]) == []


def test_single_store_ignores_store_id(file_store):
    assert store.resolve_store_id("anything") is None


@pytest.mark.parametrize("store_error,ours,code", [
    (glance_store.StorageFull, store.StorageFull, 413),
    (glance_store.StorageWriteDenied, store.StorageWriteDenied, 503),
    (glance_store.StoreAddDisabled, store.StoreAddDisabled, 410),
])
def test_store_errors_have_http_codes(file_store, monkeypatch, store_error,
                                      ours, code):
    def add(*args, **kwargs):
        stream = args[2]
        stream.read(10)         # part of the data went in, then the error
        raise store_error()

    monkeypatch.setattr(glance_store, "add_to_backend_with_multihash", add)
    monkeypatch.setattr(store, "_writable_file_store", lambda sid: None)
    with pytest.raises(ours) as err:
        store.write_image(None, new_image(), [b"x" * 100])
    assert err.value.code == code


@pytest.mark.parametrize("direct", [False, True])
def test_disk_full_leaves_nothing(file_store, monkeypatch, conf, direct):
    def full(self, *args):
        raise OSError(28, "No space left on device")

    conf(data_direct_io=direct)
    if direct:
        monkeypatch.setattr(filewriter.DirectFile, "_write_all", full)
    else:
        monkeypatch.setattr(filewriter.MappedFile, "window", full)
    with pytest.raises(store.StorageFull) as err:
        store.write_image(None, new_image(), [b"x" * 100])
    assert err.value.code == 413
    assert files(file_store) == []


# --- the file store written here, read by sendfile ---

def test_file_store_written_as_the_driver_would(file_store):
    data = os.urandom(2 * store.UPLOAD_CHUNK_SIZE + 7)
    image = new_image()
    loc = store.write_image(None, image, chunks(data, MiB))
    path = file_store / image["id"]
    assert loc["url"] == "file://%s" % path and loc["metadata"] == {}
    assert path.read_bytes() == data
    assert (loc["checksum"], loc["os_hash_value"]) == (md5(data),
                                                       sha512(data))
    it, _size = store.read_image(loc)       # glance_store reads it back
    assert b"".join(it) == data
    assert store.delete_image_data(loc) and not path.exists()


def test_file_store_never_overwrites(file_store):
    image = new_image()
    file_store.mkdir(parents=True, exist_ok=True)
    (file_store / image["id"]).write_bytes(b"old")
    with pytest.raises(glance_store.Duplicate):
        store._add(None, image["id"], io_stream(b"new"), None, "sha512")
    assert (file_store / image["id"]).read_bytes() == b"old"


def io_stream(data):
    import io
    return io.BytesIO(data)


@pytest.mark.parametrize("offset,length", [(0, None), (5, None),
                                           (3, 1000)])
def test_read_by_sendfile(file_store, offset, length):
    data = os.urandom(300_000)
    loc = store.write_image(None, new_image(), [data])
    it, size = store.read_image(loc, offset=offset, length=length,
                                chunk_size=65536)
    got = [next(it)]

    def send(fd, pos, count):
        got.append(os.pread(fd, min(count, 70_000), pos))
        return len(got[-1])

    it.sendfile(send)
    expected = data[offset:offset + length if length else None]
    assert size == len(expected) and b"".join(got) == expected


def test_sendfile_of_short_data_raises(file_store):
    image = new_image()
    loc = store.write_image(None, image, [b"s" * 200_000])
    it, _size = store.read_image(loc, chunk_size=65536)
    next(it)
    os.truncate(file_store / image["id"], 100_000)
    with pytest.raises(OSError, match="not 200000"):
        it.sendfile(lambda fd, pos, count: len(os.pread(fd, count, pos)))


# --- file-like sources read into the upload buffers (the daemon's case) ---

class Body:
    """A request body like the server's: ``readinto`` delivering at most
    ``step`` bytes per call, breaking after ``break_after`` bytes."""

    def __init__(self, data, step=100_000, break_after=None):
        self.data = memoryview(data)
        self.step = step
        self.break_after = break_after
        self.pos = 0
        self.readintos = 0

    def readinto(self, buffer):
        if self.break_after is not None and self.pos >= self.break_after:
            raise ConnectionResetError("client went away")
        view = memoryview(buffer).cast("B")
        count = min(len(view), self.step, len(self.data) - self.pos)
        view[:count] = self.data[self.pos:self.pos + count]
        self.pos += count
        self.readintos += 1
        return count

    def read(self, length=-1):
        raise AssertionError("the upload reads into its buffers")


def test_file_like_body_is_read_into_the_buffers(file_store):
    data = os.urandom(3 * MiB + 17)
    body = Body(data)
    result = store.write_image(None, new_image(), body, size=len(data))
    assert body.readintos >= len(data) // body.step
    assert (result["size"], result["checksum"]) == (len(data), md5(data))
    assert result["os_hash_value"] == sha512(data)
    assert (file_store / files(file_store)[0]).read_bytes() == data


def test_file_like_body_short_capped_refused_or_broken(file_store, conf):
    with pytest.raises(store.IncompleteImageData):
        store.write_image(None, new_image(), Body(b"a" * 500), size=1000)
    conf(image_size_cap=200_000)
    with pytest.raises(exception.ImageSizeLimitExceeded):
        store.write_image(None, new_image(), Body(os.urandom(MiB)))
    conf(image_size_cap=1 << 40)
    with pytest.raises(store.InvalidImageData):
        store.write_image(None, new_image("raw"),
                          Body(qcow2() + os.urandom(MiB)))
    with pytest.raises(store.UploadInterrupted):
        store.write_image(None, new_image(),
                          Body(os.urandom(MiB), break_after=300_000))
    assert files(file_store) == []


def test_qcow2_inspected_through_the_buffers(file_store):
    data = qcow2(virtual_size=3 << 30)
    result = store.write_image(None, new_image("qcow2"), Body(data, 100),
                               size=len(data))
    assert result["virtual_size"] == 3 << 30
