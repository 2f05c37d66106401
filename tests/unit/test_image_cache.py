"""ImageCache and its SQLite driver, on a temporary directory."""
import hashlib
import os
import threading
import time
import uuid

import pytest
from oslo_config import cfg

from glance.common import exception
from glance import image_cache
from glance.image_cache.drivers import base
from glance.image_cache.drivers import sqlite

CONF = cfg.CONF


def md5(data):
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def cache(tmp_path):
    CONF.set_override("image_cache_dir", str(tmp_path / "cache"))
    CONF.set_override("image_cache_max_size", 10 * 1024 ** 3)
    try:
        yield image_cache.ImageCache()
    finally:
        CONF.clear_override("image_cache_dir")
        CONF.clear_override("image_cache_max_size")
        CONF.clear_override("image_cache_driver")


def new_id():
    return str(uuid.uuid4())


def put(cache, data, image_id=None):
    image_id = image_id or new_id()
    assert cache.cache_image_iter(image_id, iter([data]), md5(data))
    return image_id


def test_layout_and_driver(cache):
    assert isinstance(cache.driver, sqlite.Driver)
    root = cache.driver.base_dir
    for sub in ("incomplete", "invalid", "queue"):
        assert os.path.isdir(os.path.join(root, sub))
    assert os.path.exists(os.path.join(root, "cache.db"))


def test_unknown_driver_falls_back_to_sqlite(tmp_path):
    CONF.set_override("image_cache_dir", str(tmp_path))
    CONF.set_override("image_cache_driver", "nope")
    try:
        assert isinstance(image_cache.ImageCache().driver, sqlite.Driver)
    finally:
        CONF.clear_override("image_cache_dir")
        CONF.clear_override("image_cache_driver")


def test_driver_failing_to_configure_falls_back(cache, monkeypatch):
    class Broken(sqlite.Driver):
        def configure(self):
            raise RuntimeError("boom")
    cache.driver_class = Broken
    cache.configure_driver()
    assert cache.driver_class is sqlite.Driver
    assert type(cache.driver) is sqlite.Driver


def test_cache_and_read(cache):
    data = b"x" * 100000
    image_id = put(cache, data)
    assert cache.is_cached(image_id)
    assert cache.get_image_size(image_id) == len(data)
    assert cache.get_cache_size() == len(data)
    assert cache.get_hit_count(image_id) == 0
    with cache.open_for_read(image_id) as f:
        assert f.read() == data
    assert cache.get_hit_count(image_id) == 1
    chunks, length = cache.read_iter(image_id, offset=10, length=5)
    assert length == 5 and b"".join(chunks) == data[10:15]
    assert cache.get_hit_count(image_id) == 2
    [entry] = cache.get_cached_images()
    assert entry["image_id"] == image_id and entry["size"] == len(data)
    assert entry["hits"] == 2
    assert entry["last_accessed"] >= entry["last_modified"] > 0


def test_failed_read_counts_no_hit(cache):
    image_id = put(cache, b"abc")
    with pytest.raises(RuntimeError):
        with cache.open_for_read(image_id):
            raise RuntimeError()
    assert cache.get_hit_count(image_id) == 0


def test_checksum_mismatch_goes_to_invalid(cache):
    image_id = new_id()
    assert not cache.cache_image_iter(image_id, iter([b"bad"]), md5(b"good"))
    assert not cache.is_cached(image_id)
    assert os.path.exists(cache.driver.get_image_filepath(image_id,
                                                         "invalid"))
    assert cache.get_cached_images() == []
    assert cache.clean() == (1, 3)
    assert not os.listdir(os.path.join(cache.driver.base_dir, "invalid"))


def test_tee_iter(cache):
    image_id = new_id()
    chunks = [b"a" * 10, b"b" * 10]
    it = cache.get_caching_iter(image_id, md5(b"".join(chunks)),
                                iter(chunks))
    assert list(it) == chunks
    assert cache.is_cached(image_id)
    # cached: no second tee
    again = iter([b"zz"])
    assert cache.get_caching_iter(image_id, None, again) is again


def test_tee_iter_mismatch_still_sends_data(cache):
    image_id = new_id()
    it = cache.get_caching_iter(image_id, md5(b"other"), iter([b"data"]))
    assert list(it) == [b"data"]
    assert not cache.is_cached(image_id)


def test_tee_iter_cut_off_leaves_nothing(cache):
    image_id = new_id()
    it = cache.get_caching_iter(image_id, None, iter([b"a", b"b", b"c"]))
    assert next(it) == b"a"
    it.close()  # the client went away
    assert not cache.is_cached(image_id)
    assert cache.driver.get_cache_files("incomplete") == []
    assert cache.get_caching_iter(image_id, None, iter([b"x"])) is not None


def test_tee_iter_source_failure_leaves_nothing(cache):
    image_id = new_id()

    def source():
        yield b"a"
        raise OSError("store went away")
    with pytest.raises(OSError):
        list(cache.get_caching_iter(image_id, None, source()))
    assert not cache.is_cached(image_id)
    assert cache.driver.get_cache_files("incomplete") == []


def test_one_writer_at_a_time(cache):
    image_id = new_id()
    first = cache.driver.open_for_write(image_id)
    assert cache.driver.is_being_cached(image_id)
    assert not cache.driver.is_cacheable(image_id)
    with pytest.raises(base.CacheBusy):
        cache.driver.open_for_write(image_id)
    # a second tee passes the data through without caching
    assert list(cache.cache_tee_iter(image_id, iter([b"zz"]), None)) == \
        [b"zz"]
    first.write(b"data")
    assert first.commit(checksum=md5(b"data"))
    assert cache.is_cached(image_id)
    with pytest.raises(base.CacheBusy):
        cache.driver.open_for_write(image_id)  # cached already


def test_dead_writer_is_taken_over(cache):
    image_id = new_id()
    path = cache.driver.get_image_filepath(image_id, "incomplete")
    with open(path, "wb") as f:  # no lock: its writer is gone
        f.write(b"leftover-junk")
    assert cache.driver.is_cacheable(image_id)
    put(cache, b"fresh", image_id)
    with cache.open_for_read(image_id) as f:
        assert f.read() == b"fresh"


def test_concurrent_writers_one_file(cache):
    image_id = new_id()
    data = os.urandom(300000)
    results = []

    def download():
        chunks = [data[i:i + 1000] for i in range(0, len(data), 1000)]
        out = b"".join(cache.get_caching_iter(image_id, md5(data),
                                              iter(chunks)))
        results.append(out)
    threads = [threading.Thread(target=download) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [data] * 5
    assert cache.is_cached(image_id)
    assert len(cache.get_cached_images()) == 1
    assert cache.driver.get_cache_files("incomplete") == []


def test_queue(cache):
    a, b = new_id(), new_id()
    assert cache.queue_image(a)
    assert not cache.queue_image(a)
    os.utime(cache.driver.get_image_filepath(a, "queue"),
             (time.time() + 5, time.time() + 5))
    assert cache.queue_image(b)
    assert cache.get_queued_images() == [b, a]
    assert cache.is_queued(a)
    assert cache.delete_queued_image(a)
    assert not cache.delete_queued_image(a)
    assert cache.delete_all_queued_images() == 1
    assert cache.get_queued_images() == []
    cached = put(cache, b"c")
    assert not cache.queue_image(cached)


def test_caching_dequeues(cache):
    image_id = new_id()
    cache.queue_image(image_id)
    put(cache, b"q", image_id)
    assert not cache.is_queued(image_id)


def test_delete(cache):
    ids = [put(cache, b"%d" % i) for i in range(3)]
    assert cache.delete_cached_image(ids[0])
    assert not cache.is_cached(ids[0])
    assert cache.delete_all_cached_images() == 2
    assert cache.get_cached_images() == []
    assert cache.get_cache_size() == 0
    assert cache.get_hit_count(ids[1]) == 0


def test_prune_lru(cache):
    ids = [put(cache, b"x" * 1000) for _ in range(4)]
    now = time.time()
    for i, image_id in enumerate(ids):
        cache.driver._index_hit(image_id, now + [3, 1, 4, 2][i])
    CONF.set_override("image_cache_max_size", 2500)
    assert cache.prune() == (2, 2000)
    remaining = {e["image_id"] for e in cache.get_cached_images()}
    assert remaining == {ids[0], ids[2]}
    assert cache.prune() == (0, 0)


def test_clean_stalled(cache):
    old, fresh = new_id(), new_id()
    for image_id in (old, fresh):
        with open(cache.driver.get_image_filepath(image_id, "incomplete"),
                  "wb") as f:
            f.write(b"12345")
    past = time.time() - 1000
    os.utime(cache.driver.get_image_filepath(old, "incomplete"),
             (past, past))
    assert cache.clean(stall_time=500) == (1, 5)
    assert [os.path.basename(p) for p in
            cache.driver.get_cache_files("incomplete")] == [fresh]
    assert cache.clean() == (0, 0)


def test_index_row_missing_still_listed(cache):
    image_id = put(cache, b"abc")
    cache.driver._index_delete(image_id)
    [entry] = cache.get_cached_images()
    assert entry["image_id"] == image_id and entry["hits"] == 0


def test_bad_ids_refused(cache):
    with pytest.raises(exception.Invalid):
        cache.is_cached("../etc")


def test_tee_of_a_local_file_in_large_chunks(cache, tmp_path):
    from glance.common import file_body
    data = os.urandom(20 * 1024 * 1024 + 5)
    source = tmp_path / "store-file"
    source.write_bytes(data)
    region = file_body.FileRegion(open(source, "rb"), len(data), 65536)
    image_id = new_id()
    sizes = [len(chunk) for chunk in cache.get_caching_iter(
        image_id, md5(data), file_body.FileWrapper(region))]
    assert sum(sizes) == len(data)
    assert max(sizes) == image_cache.TEE_CHUNK_SIZE  # not 64 KiB
    assert cache.is_cached(image_id)
    with open(cache.driver.get_image_filepath(image_id), "rb") as f:
        assert f.read() == data
