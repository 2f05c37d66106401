"""glance.store_drivers: cutting whole-object reads to a range, read-only
stores, the start-up check for a driver's missing library, ranged reads
and multipart uploads against a real s3 server (moto's), and the sizes
the swift driver is told (its real server: tests/functional)."""
import hashlib
import io
import os
import uuid

import glance_store
import pytest
from oslo_config import cfg

from glance.common import exception
from glance.common import store_setup
from glance import store
from glance import store_drivers

CONF = cfg.CONF


class Closing(list):
    closed = False

    def close(self):
        self.closed = True


DATA = bytes(range(100))


def chunks(size=7):
    return Closing(DATA[i:i + size] for i in range(0, len(DATA), size))


@pytest.mark.parametrize("offset,length", [
    (0, None), (0, 1), (3, 4), (7, 7), (6, 8), (50, None), (99, 1),
    (0, 100), (13, 0), (93, 7)])
def test_cut(offset, length):
    data = chunks()
    got = b"".join(store_drivers.cut(data, offset, length))
    end = None if length is None else offset + length
    assert got == DATA[offset:end]
    if offset or length is not None:
        assert data.closed


def test_cut_closes_when_abandoned():
    data = chunks()
    it = store_drivers.cut(data, 10, None)
    next(it)
    it.close()
    assert data.closed


def test_cut_closes_what_an_indexable_wraps():
    # glance_store's Indexable (http, s3) has no close(); the generator
    # it wraps holds the connection.
    closed = []

    def response():
        try:
            yield from chunks()
        finally:
            closed.append(True)

    class Indexable:
        def __init__(self, wrapped):
            self.wrapped = wrapped

        def __iter__(self):
            yield from self.wrapped

    got = b"".join(store_drivers.cut(Indexable(response()), 5, 10))
    assert got == DATA[5:15]
    assert closed == [True]


def test_read_only():
    assert store_drivers.read_only("http://example.com/x")
    assert store_drivers.read_only("HTTPS://example.com/x")
    assert not store_drivers.read_only("file:///var/lib/glance/x")
    assert not store_drivers.read_only("s3://key:secret@host/bucket/x")


def test_missing_driver_library(monkeypatch):
    monkeypatch.setitem(store_setup.DRIVER_LIBRARIES, "s3",
                        ("no_such_library_for_glance", "s3"))
    with pytest.raises(RuntimeError, match=r"glance\[s3\]"):
        store_setup.check_driver_libraries(["file", "s3"])
    store_setup.check_driver_libraries(["file", "http"])


# --- s3 against moto's server: ranged reads, multipart uploads ---

MiB = 1024 * 1024
BUCKET = "unit-images"


@pytest.fixture(scope="module")
def moto_endpoint():
    moto_server = pytest.importorskip("moto.server")
    from tests.functional.server import free_port
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1",
                                            port=port, verbose=False)
    server.start()
    yield "http://127.0.0.1:%d" % port
    server.stop()


@pytest.fixture
def s3_store(moto_endpoint, conf):
    """A single s3 store on moto: multipart from 1 MiB, 5 MiB parts."""
    glance_store.register_opts(CONF)
    conf(group="glance_store", stores=["s3"], default_store="s3",
         s3_store_host=moto_endpoint, s3_store_access_key="AKIDUNIT",
         s3_store_secret_key="unit-secret", s3_store_bucket=BUCKET,
         s3_store_create_bucket_on_put=True, s3_store_large_object_size=1,
         s3_store_large_object_chunk_size=5)
    glance_store.create_stores(CONF)
    return glance_store.get_store_from_scheme("s3")


@pytest.fixture
def s3_client(moto_endpoint):
    boto3 = pytest.importorskip("boto3")
    return boto3.client("s3", endpoint_url=moto_endpoint,
                        region_name="us-east-1",
                        aws_access_key_id="AKIDUNIT",
                        aws_secret_access_key="unit-secret")


def spy_get_object(monkeypatch, driver):
    """The keyword arguments of each get_object the driver's clients
    make."""
    calls = []
    create = type(driver)._create_s3_client

    def create_spied(self):
        client = create(self)
        get_object = client.get_object

        def spied(**kwargs):
            calls.append(kwargs)
            return get_object(**kwargs)

        client.get_object = spied
        return client

    # glance_store makes a new s3 driver for each operation
    monkeypatch.setattr(type(driver), "_create_s3_client", create_spied)
    return calls


def s3_image(s3_store, data):
    image = {"id": str(uuid.uuid4()), "owner": "p1", "size": None,
             "disk_format": "raw", "container_format": "bare"}
    return image, store.write_image(None, image, [data], size=len(data))


def test_s3_read_image_asks_for_the_range(s3_store, monkeypatch):
    data = os.urandom(300 * 1024)
    _, result = s3_image(s3_store, data)
    calls = spy_get_object(monkeypatch, s3_store)
    location = {"url": result["url"], "metadata": {}}
    chunks, size = store.read_image(location, 1000, 5000,
                                    image_size=len(data))
    assert size == 5000 and b"".join(chunks) == data[1000:6000]
    assert [c.get("Range") for c in calls] == ["bytes=1000-5999"]
    chunks, size = store.read_image(location, len(data) - 10)
    assert b"".join(chunks) == data[-10:]
    assert calls[-1]["Range"] == "bytes=%d-" % (len(data) - 10)
    # a whole read needs no Range
    chunks, size = store.read_image(location)
    assert b"".join(chunks) == data
    assert "Range" not in calls[-1]


def test_s3_ranged_get_closes_and_checks_length(s3_store):
    data = os.urandom(4096)
    image, result = s3_image(s3_store, data)
    body, total = store_drivers.ranged_get(result["url"], None, 10, 20)
    closed = []
    close = body._close
    body._close = lambda: (closed.append(True), close())
    assert total == 4096 and b"".join(body) == data[10:30]
    body.close()
    assert closed == [True]
    # the image record says longer than the object: the read raises
    chunks, _ = store.read_image({"url": result["url"]}, 4000,
                                 image_size=5000)
    with pytest.raises(OSError, match="not 1000"):
        b"".join(chunks)


def test_s3_ranged_get_falls_back(s3_store):
    _, result = s3_image(s3_store, b"abc")
    assert store_drivers.ranged_get(result["url"], None, 0, None) is None
    # past the end: s3 refuses the Range; glance_store's get decides
    assert store_drivers.ranged_get(result["url"], None, 10, 5) is None
    missing = result["url"].rsplit("/", 1)[0] + "/no-such-key"
    assert store_drivers.ranged_get(missing, None, 1, 1) is None
    with pytest.raises(store.DataNotFound):
        store.read_image({"url": missing}, 1, 1)


def test_s3_large_upload_is_multipart(s3_store, s3_client):
    data = os.urandom(11 * MiB + 5)
    image, result = s3_image(s3_store, data)
    assert result["size"] == len(data)
    assert result["os_hash_value"] == hashlib.sha512(data).hexdigest()
    head = s3_client.head_object(Bucket=BUCKET, Key=image["id"])
    assert head["ETag"].strip('"').endswith("-3")   # 5 + 5 + 1 MiB
    got = s3_client.get_object(Bucket=BUCKET, Key=image["id"])
    assert got["Body"].read() == data


def test_s3_unknown_size_is_spooled_then_multipart(s3_store, s3_client):
    # glance_store's s3 driver would hold an upload of unknown size in
    # memory, whole, and send it in one part
    data = os.urandom(11 * MiB + 5)
    image = {"id": str(uuid.uuid4()), "owner": "p1",
             "disk_format": "raw", "container_format": "bare"}
    result = store.write_image(None, image,
                               [data[i:i + MiB]
                                for i in range(0, len(data), MiB)])
    assert result["size"] == len(data)
    assert result["checksum"] == hashlib.md5(data).hexdigest()
    head = s3_client.head_object(Bucket=BUCKET, Key=image["id"])
    assert head["ETag"].strip('"').endswith("-3")
    assert s3_client.get_object(Bucket=BUCKET,
                                Key=image["id"])["Body"].read() == data
    assert os.listdir(store.config.staging_dir()) == []   # spool gone


def test_s3_small_unknown_size_stays_single_part(s3_store, s3_client):
    image = {"id": str(uuid.uuid4()), "owner": "p1",
             "disk_format": "raw", "container_format": "bare"}
    data = os.urandom(MiB // 2)    # under the 1 MiB multipart threshold
    store.write_image(None, image, [data[:1000], data[1000:]])
    head = s3_client.head_object(Bucket=BUCKET, Key=image["id"])
    assert "-" not in head["ETag"]


class Broken:
    """An upload body that breaks after ``good`` bytes."""

    def __init__(self, good):
        self.left = good

    def read(self, length):
        if self.left <= 0:
            raise OSError("connection reset")
        chunk = b"b" * min(length, self.left, 1024 * 1024)
        self.left -= len(chunk)
        return chunk


def test_s3_unknown_size_broken_while_spooling_leaves_nothing(s3_store,
                                                              s3_client):
    image = {"id": str(uuid.uuid4()), "owner": "p1",
             "disk_format": "raw", "container_format": "bare"}
    with pytest.raises(store.UploadInterrupted):
        store.write_image(None, image, Broken(3 * MiB))
    listed = s3_client.list_objects_v2(Bucket=BUCKET, Prefix=image["id"])
    assert listed.get("KeyCount", 0) == 0
    assert os.listdir(store.config.staging_dir()) == []


def test_s3_failed_multipart_upload_is_aborted(s3_store, s3_client):
    image = {"id": str(uuid.uuid4()), "owner": "p1",
             "disk_format": "raw", "container_format": "bare"}
    with pytest.raises(store.UploadInterrupted):
        store.write_image(None, image, Broken(7 * MiB), size=11 * MiB)
    uploads = s3_client.list_multipart_uploads(Bucket=BUCKET)
    assert uploads.get("Uploads", []) == []
    listing = s3_client.list_objects_v2(Bucket=BUCKET)
    assert image["id"] not in [o["Key"]
                               for o in listing.get("Contents", ())]


def test_s3_abandoned_upload_aborts_only_its_own(s3_store, s3_client):
    # A later attempt's multipart upload of the same image is in progress
    # when this one learns it lost the image: it must survive.
    image = {"id": str(uuid.uuid4()), "owner": "p1",
             "disk_format": "raw", "container_format": "bare"}
    s3_client.create_bucket(Bucket=BUCKET)
    newer = s3_client.create_multipart_upload(Bucket=BUCKET,
                                              Key=image["id"])

    def heartbeat():
        return False

    heartbeat.interval = 0
    with pytest.raises(store.UploadTakenOver):
        store.write_image(None, image, [b"x" * MiB] * 11, size=11 * MiB,
                          heartbeat=heartbeat)
    uploads = s3_client.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert [u["UploadId"] for u in uploads
            if u["Key"] == image["id"]] == [newer["UploadId"]]
    s3_client.abort_multipart_upload(Bucket=BUCKET, Key=image["id"],
                                     UploadId=newer["UploadId"])


@pytest.mark.parametrize("content_range,offset,length,total", [
    ("bytes 10-19/100", 10, 10, 100),
    ("bytes 10-99/100", 10, None, 100),
    ("bytes 90-99/100", 90, 20, 100),     # clipped at the end
    ("bytes 0-99/100", 10, 10, None),     # not the range asked for
    ("bytes 10-29/100", 10, 10, None),
    ("bytes 10-19/*", 10, 10, None),
    (None, 10, 10, None),
])
def test_range_total(content_range, offset, length, total):
    assert store_drivers._range_total(content_range, offset,
                                      length) == total


# --- swift: which uploads are told their size ---

class SwiftDriver:
    large_object_size = 5 * MiB


@pytest.mark.parametrize("size,told", [
    (None, 0), (0, 0), (100, 100), (5 * MiB - 1, 5 * MiB - 1),
    (5 * MiB, 0), (12 * MiB, 0)])
def test_swift_is_told_the_size_of_a_single_object(size, told):
    # At and above the large object size the driver would announce its
    # last segment a whole chunk long: it gets segments of unknown size.
    assert store_drivers._size_for_swift(SwiftDriver(), size) == told


def test_told_size_ends_the_stream_with_its_last_byte():
    data = os.urandom(1000)
    stream = store.UploadStream(io.BytesIO(data), size=len(data))
    told = store_drivers.ToldSize(stream, len(data), "img")
    assert told.read(600) + told.read(400) == data
    # the driver reads no further: the stream's end checks ran already
    assert stream.eof


def test_told_size_raises_when_the_upload_is_taken_over():
    class Heartbeat:
        interval = 0

        def __call__(self):
            return False    # a later upload owns the image now

    stream = store.UploadStream(io.BytesIO(b"x" * 1000), size=1000,
                                heartbeat=Heartbeat())
    told = store_drivers.ToldSize(stream, 1000, "img")
    with pytest.raises(exception.UploadTakenOver):
        while told.read(100):
            pass
    assert stream.abandoned
