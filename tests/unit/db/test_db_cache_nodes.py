"""The centralized_db image cache driver: two nodes' caches indexed in
one database (each of the backends), each node seeing its own, any node
knowing which nodes cache an image."""
import hashlib
import time
import uuid

import pytest
from oslo_config import cfg

from glance.common import exception
from glance.db import models
from glance.db import session as db_session
from glance import image_cache
from glance.image_cache.drivers import centralized_db
from glance.image_cache.drivers import sqlite

CONF = cfg.CONF
A, B = "http://node-a:9292", "http://node-b:9292"


def md5(data):
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def node(db, tmp_path, conf):
    """``node(url)``: the ImageCache of node ``url`` (own directory)."""
    conf(image_cache_driver="centralized_db")

    def make(url):
        conf(worker_self_reference_url=url,
             image_cache_dir=str(tmp_path / url.split("//")[1]))
        cache = image_cache.ImageCache()
        assert isinstance(cache.driver, centralized_db.Driver)
        return cache
    yield make
    with db_session.connection(write=True) as conn:
        for model in (models.CachedImage, models.NodeReference):
            conn.execute(model.__table__.delete())


def put(cache, data, image_id=None):
    image_id = image_id or str(uuid.uuid4())
    assert cache.cache_image_iter(image_id, iter([data]), md5(data))
    return image_id


def test_each_node_its_own_index(node):
    a, b = node(A), node(B)
    node(A)   # a second worker of node A: recorded once
    data = b"x" * 5000
    image_id = put(a, data)
    assert [e["image_id"] for e in a.get_cached_images()] == [image_id]
    assert b.get_cached_images() == []
    assert a.get_cached_nodes(image_id) == [A]
    put(b, data, image_id)
    assert b.get_cached_nodes(image_id) == [A, B]
    with a.open_for_read(image_id) as f:
        assert f.read() == data
    assert a.get_hit_count(image_id) == 1
    assert b.get_hit_count(image_id) == 0
    [entry] = a.get_cached_images()
    assert entry["size"] == len(data) and entry["hits"] == 1
    assert entry["checksum"] == md5(data)
    assert entry["last_accessed"] >= entry["last_modified"] > \
        time.time() - 60
    assert a.delete_cached_image(image_id)
    assert b.get_cached_nodes(image_id) == [B]
    assert b.delete_all_cached_images() == 1
    assert a.get_cached_nodes(image_id) == []


def test_prune_by_the_nodes_own_lru(node):
    a, b = node(A), node(B)
    ids = [put(a, b"x" * 1000) for _ in range(4)]
    for image_id in ids:
        put(b, b"x" * 1000, image_id)
    now = time.time()
    for i, image_id in enumerate(ids):
        a.driver._index_hit(image_id, now + [3, 1, 4, 2][i])
    CONF.set_override("image_cache_max_size", 2500)
    try:
        assert a.prune() == (2, 2000)
    finally:
        CONF.clear_override("image_cache_max_size")
    assert {e["image_id"] for e in a.get_cached_images()} == {ids[0],
                                                               ids[2]}
    assert len(b.get_cached_images()) == 4
    assert a.get_cached_nodes(ids[1]) == [B]


def test_recaching_replaces_the_row(node):
    a = node(A)
    image_id = put(a, b"abc")
    a.driver._index_hit(image_id, time.time())
    a.delete_cached_image(image_id)
    put(a, b"abcd", image_id)
    [entry] = a.get_cached_images()
    assert entry["size"] == 4 and entry["hits"] == 0


def test_needs_worker_self_reference_url(db, tmp_path, conf):
    conf(image_cache_driver="centralized_db", worker_self_reference_url=None,
         image_cache_dir=str(tmp_path))
    driver = centralized_db.Driver(str(tmp_path))
    with pytest.raises(exception.InvalidConfiguration):
        driver.configure()
    # the facade falls back to the SQLite driver, as Glance's does
    cache = image_cache.ImageCache()
    assert isinstance(cache.driver, sqlite.Driver)
    assert cache.get_cached_nodes(str(uuid.uuid4())) is None
