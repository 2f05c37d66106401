"""glance.db.pools: the server databases' pool keeps its overflow
connections while the load lasts, and goes back to its size after."""
import time

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import pool as sa_pool

from glance.db import pools
from glance.db import session as db_session
from tests.unit.db.conftest import server_database


class FakeConnection:
    def __init__(self, opened):
        opened.append(self)
        self.closed = False

    def rollback(self):
        pass

    def commit(self):
        pass

    def close(self):
        self.closed = True


def make_pool(cls, opened, **kwargs):
    kwargs.setdefault("pool_size", 1)
    kwargs.setdefault("max_overflow", 3)
    return cls(lambda: FakeConnection(opened), use_lifo=True, **kwargs)


def two_bursts(pool):
    """Three connections out at once, all back, then three again."""
    for _burst in range(2):
        held = [pool.connect() for _ in range(3)]
        for conn in held:
            conn.close()


def test_this_sqlalchemy_has_what_the_module_needs():
    assert pools.missing_internals() == []


def test_overflow_connections_are_kept_while_the_load_lasts():
    opened = []
    pool = make_pool(pools.KeepingQueuePool, opened)
    two_bursts(pool)
    assert len(opened) == 3
    assert not any(conn.closed for conn in opened)
    assert (pool.checkedin(), pool.checkedout(), pool.size()) == (3, 0, 1)
    # QueuePool closes the two overflow ones after each burst
    opened = []
    two_bursts(make_pool(sa_pool.QueuePool, opened))
    assert len(opened) == 5


def test_an_idle_pool_goes_back_to_its_size(monkeypatch):
    opened = []
    pool = make_pool(pools.KeepingQueuePool, opened)
    monkeypatch.setattr(pool, "keep_seconds", 0.05)
    two_bursts(pool)
    time.sleep(0.1)
    for _ in range(3):          # one at a time: the load is over
        pool.connect().close()
    assert len(opened) == 3
    assert [conn.closed for conn in opened].count(True) == 2
    assert (pool.checkedin(), pool.overflow()) == (1, 0)
    two_bursts(pool)            # and it grows again when needed
    assert len(opened) == 5


def test_the_connections_stay_bounded():
    opened = []
    pool = make_pool(pools.KeepingQueuePool, opened, max_overflow=2,
                     timeout=0.1)
    held = [pool.connect() for _ in range(3)]
    with pytest.raises(sa_exc.TimeoutError):
        pool.connect()
    for conn in held:
        conn.close()
    held = [pool.connect() for _ in range(3)]
    assert len(opened) == 3 and pool.checkedout() == 3


def test_recreate_and_dispose_keep_its_settings():
    opened = []
    pool = make_pool(pools.KeepingQueuePool, opened, max_overflow=2,
                     timeout=7)
    two_bursts(pool)
    pool.dispose()
    assert all(conn.closed for conn in opened)
    assert (pool.checkedin(), pool.checkedout(), pool.overflow()) == \
        (0, 0, -1)
    again = pool.recreate()
    assert type(again) is pools.KeepingQueuePool
    assert (again.size(), again._max_overflow, again.timeout()) == (1, 2, 7)
    assert again._pool.use_lifo
    two_bursts(again)
    assert again.checkedin() == 3


def test_no_overflow_is_plain_queuepool():
    opened = []
    pool = make_pool(pools.KeepingQueuePool, opened, max_overflow=0,
                     timeout=0.1)
    conn = pool.connect()
    with pytest.raises(sa_exc.TimeoutError):
        pool.connect()
    conn.close()
    assert pool.checkedin() == 1 and len(opened) == 1


@pytest.mark.parametrize("backend", ["mysql", "postgresql"])
def test_the_server_engines_use_it(backend):
    with server_database(backend) as url:
        db_session.configure(url)
        try:
            engine = db_session.get_engine()
            assert type(engine.pool) is pools.KeepingQueuePool
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        finally:
            db_session.configure(None)


def test_without_the_internals_it_is_queuepool(monkeypatch):
    monkeypatch.setattr(pools, "missing_internals", lambda pool=None: ["x"])
    opened = []
    pool = make_pool(pools.KeepingQueuePool, opened)
    two_bursts(pool)
    assert len(opened) == 5
    assert (pool.size(), pool.checkedin()) == (1, 1)
    assert type(pool.recreate()) is pools.KeepingQueuePool
