"""On SQLite the direct reads of one thread keep their connection
(direct_read._kept_reader): no pool checkout per read, fresh data all
the same, other threads and snapshots on pooled connections, and the
connection given back when the engine is disposed, dropped in a fork."""
import contextlib
import os
import sqlite3
import threading

import pytest
import sqlalchemy as sa

from glance.db import api
from glance.db import direct_read
from glance.db import migration
from glance.db import session as db_session
from tests.unit.db import forked

@pytest.fixture
def sqlite_path(tmp_path):
    """A fresh, migrated SQLite file in use by glance.db."""
    path = tmp_path / "glance.sqlite"
    db_session.configure("sqlite:///%s" % path)
    migration.db_sync()
    yield path
    db_session.configure(None)


@contextlib.contextmanager
def checkouts(engine):
    """The DB-API connections the engine's pool hands out in the block."""
    seen = []

    def on_checkout(dbapi_connection, _record, _proxy):
        seen.append(dbapi_connection)

    sa.event.listen(engine.pool, "checkout", on_checkout)
    try:
        yield seen
    finally:
        sa.event.remove(engine.pool, "checkout", on_checkout)


def kept_connection(engine):
    """The DB-API connection this process keeps for reads on ``engine``."""
    return direct_read._KEPT[engine].reader.fairy.dbapi_connection


def test_the_reads_of_a_thread_keep_one_connection(sqlite_path):
    engine = db_session.get_engine()
    image = api.image_create({"name": "x", "visibility": "shared"})
    api.image_member_create(image["id"], "friend")
    assert api.image_get(image["id"])["name"] == "x"
    kept = kept_connection(engine)
    with checkouts(engine) as seen:
        for _ in range(3):
            assert api.image_get(image["id"])["name"] == "x"
            assert api.image_member_exists(image["id"], "friend")
        with api.shared_reads():
            assert api.image_get(image["id"])["name"] == "x"
    assert seen == []
    assert kept_connection(engine) is kept
    assert engine.pool.checkedout() == 1
    assert not kept.in_transaction


def test_kept_reads_see_every_write(sqlite_path):
    image = api.image_create({"name": "before"})
    assert api.image_get(image["id"])["name"] == "before"
    api.image_update(image["id"], {"name": "pooled"})
    assert api.image_get(image["id"])["name"] == "pooled"
    # another process's write: a connection of its own
    other = sqlite3.connect(str(sqlite_path))
    try:
        other.execute("UPDATE images SET name = 'other' WHERE id = ?",
                      (image["id"],))
        other.commit()
    finally:
        other.close()
    assert api.image_get(image["id"])["name"] == "other"


def test_another_thread_reads_through_the_pool(sqlite_path):
    engine = db_session.get_engine()
    image = api.image_create({"name": "x"})
    api.image_get(image["id"])
    kept = kept_connection(engine)
    found, used, errors = [], [], []

    def reader():
        try:
            with checkouts(engine) as seen:
                found.append(api.image_get(image["id"])["name"])
            used.extend(seen)
        except Exception as e:   # noqa: BLE001 - reported below
            errors.append(e)

    thread = threading.Thread(target=reader)
    thread.start()
    thread.join(60)
    assert errors == []
    assert found == ["x"]
    assert len(used) == 1 and used[0] is not kept
    assert engine.pool.checkedout() == 1    # the kept one only


def test_a_snapshot_reads_on_a_pooled_connection(sqlite_path):
    engine = db_session.get_engine()
    api.image_create({"name": "x"})
    assert api.image_member_exists("none", "none") is False
    kept = kept_connection(engine)
    with checkouts(engine) as seen:
        with direct_read.reading(engine, snapshot=True) as reader:
            assert reader.fairy.dbapi_connection is not kept
            assert reader.fairy.dbapi_connection.in_transaction
        assert [i["name"] for i in api.image_get_all(is_admin=True)] == \
            ["x"]
    assert len(seen) == 2
    assert engine.pool.checkedout() == 1


def test_disposal_gives_the_kept_connection_back(sqlite_path):
    engine = db_session.get_engine()
    api.image_member_exists("none", "none")
    kept = kept_connection(engine)
    returned = []
    sa.event.listen(engine.pool, "checkin",
                    lambda dbapi_connection, _record:
                    returned.append(dbapi_connection))
    db_session.configure("sqlite:///%s" % sqlite_path)   # disposes it
    assert returned == [kept]
    assert engine not in direct_read._KEPT
    image = api.image_create({"name": "after"})
    assert api.image_get(image["id"])["name"] == "after"


def test_an_invalidated_kept_connection_is_replaced(sqlite_path):
    engine = db_session.get_engine()
    image = api.image_create({"name": "x"})
    api.image_get(image["id"])
    old = kept_connection(engine)
    direct_read._KEPT[engine].reader.fairy.invalidate()
    assert api.image_get(image["id"])["name"] == "x"
    assert kept_connection(engine) is not old
    assert engine.pool.checkedout() == 1


def test_a_forked_child_reads_on_a_connection_of_its_own(sqlite_path):
    image = api.image_create({"name": "x"})
    api.image_get(image["id"])
    parent_engine = db_session.get_engine()
    child = forked.in_child(_child_reads, id(parent_engine), image["id"])
    child.join(30)
    assert child.exitcode == 0
    assert db_session.get_engine() is parent_engine
    assert kept_connection(parent_engine).execute("SELECT 1").fetchone() \
        == (1,)
    assert api.image_get(image["id"])["name"] == "x"


def _child_reads(parent_engine_id, image_id):
    if api.image_get(image_id)["name"] != "x":
        return 1
    engine = db_session.get_engine()
    if id(engine) == parent_engine_id:
        return 2
    pids = {kept.pid for kept in direct_read._KEPT.values()}
    if pids != {os.getpid()}:
        return 3     # the parent's reader was not forgotten
    return 0
