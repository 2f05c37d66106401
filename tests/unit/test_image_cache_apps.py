"""CacheApp, Pruner, Cleaner and Prefetcher over a temporary cache."""
import hashlib
import threading
import time
import uuid
from unittest import mock

import pytest
from oslo_config import cfg

from glance.common import exception
from glance import image_cache
from glance.image_cache import base
from glance.image_cache import cleaner
from glance.image_cache import prefetcher
from glance.image_cache import pruner
from glance.services import cache as cache_service
from glance.services import image_data
from glance.services import images

CONF = cfg.CONF


@pytest.fixture
def cache(tmp_path):
    CONF.set_override("image_cache_dir", str(tmp_path / "cache"))
    try:
        yield image_cache.ImageCache()
    finally:
        CONF.clear_override("image_cache_dir")
        CONF.clear_override("image_cache_max_size")


def put(cache, data):
    image_id = str(uuid.uuid4())
    cache.cache_image_iter(image_id, iter([data]))
    return image_id


def test_pruner_and_cleaner_run_once(cache):
    for _ in range(3):
        put(cache, b"x" * 100)
    CONF.set_override("image_cache_max_size", 150)
    assert pruner.Pruner(cache).run() == (2, 200)
    stalled = cache.driver.get_image_filepath(str(uuid.uuid4()),
                                              "incomplete")
    with open(stalled, "wb") as f:
        f.write(b"12")
    assert cleaner.Cleaner(cache, stall_time=3600).run() == (0, 0)
    assert cleaner.Cleaner(cache, stall_time=0).run() == (1, 2)


def test_run_forever_repeats_until_stopped(cache):
    runs = []
    stop = threading.Event()

    class App(base.CacheApp):
        def run(self):
            runs.append(1)
            if len(runs) == 2:
                raise RuntimeError("one bad pass")
            if len(runs) == 3:
                stop.set()
    App(cache).run_forever(0.01, stop)
    assert len(runs) == 3


def image(image_id, data, status="active"):
    return {"id": image_id, "status": status, "size": len(data),
            "checksum": hashlib.md5(data).hexdigest()}


@pytest.fixture
def store(monkeypatch):
    found = {}

    def find(context, image_id):
        if image_id not in found:
            raise exception.ImageNotFound(image_id=image_id)
        return found[image_id][0]

    def download(context, image_id):
        img, data = found[image_id]
        assert context.is_admin and "admin" in context.roles
        return image_data.ImageData(iter([data]), len(data),
                                    checksum=img["checksum"])
    monkeypatch.setattr(images, "find_image", find)
    monkeypatch.setattr(image_data, "download", download)
    return found


def test_prefetcher(cache, store):
    ok, other, gone = (str(uuid.uuid4()) for _ in range(3))
    store[ok] = (image(ok, b"good"), b"good")
    store[other] = (image(other, b"x", status="deactivated"), b"x")
    for image_id in (ok, other, gone):
        cache.queue_image(image_id)
        time.sleep(0.01)
    progress = mock.Mock()
    app = prefetcher.Prefetcher(cache, progress=progress,
                                source=cache_service.PrefetchSource())
    assert app.run() == (1, 2)
    assert cache.is_cached(ok) and not cache.is_cached(other)
    assert cache.get_queued_images() == []
    assert progress.call_args_list[-1] == mock.call(3, 3, 4)
    assert app.run() == (0, 0)


def test_prefetcher_refuses_bad_data(cache, store):
    bad = str(uuid.uuid4())
    store[bad] = (image(bad, b"expected"), b"corrupt!")
    cache.queue_image(bad)
    assert prefetcher.Prefetcher(
        cache, source=cache_service.PrefetchSource()).run() == (0, 1)
    assert not cache.is_cached(bad)
    assert cache.is_queued(bad)  # tried again next time
