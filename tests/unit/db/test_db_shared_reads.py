"""direct_read.shared_reads: the direct reads of a block share one pooled
connection (what a member's GET of a shared image reads), on SQLite,
PostgreSQL and MariaDB; each thread its own; errors as outside a block.

On SQLite the thread that keeps its reader (test_db_kept_reader) takes no
pooled connection at all: the pool's behaviour is checked there in a
thread that does not keep it."""
import contextlib
import threading

import pytest
import sqlalchemy as sa

from glance.common import exception
from glance.db import api
from glance.db import session as db_session
from glance.services import lookup


@contextlib.contextmanager
def checkouts():
    """The DB-API connections the engine's pool hands out in the block."""
    seen = []
    pool = db_session.get_engine().pool

    def on_checkout(dbapi_connection, _record, _proxy):
        seen.append(dbapi_connection)

    sa.event.listen(pool, "checkout", on_checkout)
    try:
        yield seen
    finally:
        sa.event.remove(pool, "checkout", on_checkout)


def through_the_pool(fn):
    """``fn()`` where direct reads take pooled connections: on SQLite in
    another thread than the one keeping the reader (this one, after a
    read); its result, or its error raised here."""
    if db_session.get_engine().dialect.name != "sqlite":
        return fn()
    api.image_member_exists("none", "none")   # this thread keeps the reader
    result, errors = [], []

    def run():
        try:
            result.append(fn())
        except BaseException as e:   # noqa: BLE001 - raised below
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if errors:
        raise errors[0]
    return result[0]


def _shared_image():
    image = api.image_create({"name": "x", "owner": "owner",
                              "visibility": "shared",
                              "properties": {"k": "v"}, "tags": ["t"]})
    api.image_member_create(image["id"], "friend")
    return image


def test_the_reads_of_a_block_take_one_connection(db):
    image = _shared_image()

    def reads():
        with checkouts() as outside:
            alone = api.image_get(image["id"])
            assert api.image_member_exists(image["id"], "friend")
        with checkouts() as inside:
            with api.shared_reads():
                shared = api.image_get(image["id"])
                assert api.image_member_exists(image["id"], "friend")
                assert not api.image_member_exists(image["id"],
                                                   "stranger")
                with api.shared_reads():    # nested: the outer one's
                    assert api.image_get(image["id"]) == alone
        assert shared == alone
        return len(outside), len(inside)

    assert through_the_pool(reads) == (2, 1)


def test_the_connection_goes_back_when_the_block_ends(db):
    image = _shared_image()
    pool = db_session.get_engine().pool

    def block():
        with api.shared_reads():
            api.image_get(image["id"])
            out_inside = pool.checkedout()
        return out_inside, pool.checkedout()

    out_inside, out_after = through_the_pool(block)
    assert out_inside >= 1
    assert out_after == out_inside - 1


def test_a_block_with_no_read_takes_no_connection(db):
    with checkouts() as seen:
        with api.shared_reads():
            pass
    assert seen == []


def test_a_block_sees_writes_made_before_it(db):
    # a connection whose read transaction stayed open would show MariaDB's
    # old snapshot (REPEATABLE READ) to the next block it served
    image = _shared_image()
    with api.shared_reads():
        assert api.image_get(image["id"])["name"] == "x"
    api.image_update(image["id"], {"name": "y"})
    with api.shared_reads():
        assert api.image_get(image["id"])["name"] == "y"


def test_each_thread_has_its_own_connection(db):
    image = _shared_image()
    barrier = threading.Barrier(2, timeout=30)
    used, errors = [], []

    def reader():
        try:
            with checkouts() as seen, api.shared_reads():
                api.image_get(image["id"])
                barrier.wait()   # both hold their block's connection
                assert api.image_member_exists(image["id"], "friend")
            used.extend(seen)
        except Exception as e:   # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    # each pool listener saw both threads' checkouts: two distinct ones
    assert len({id(c) for c in used}) == 2


def test_a_refused_value_is_invalid_inside_a_block_too(db):
    image = _shared_image()
    with api.shared_reads():
        with pytest.raises((exception.ImageNotFound, exception.Invalid)):
            api.image_get("a\x00b")
    assert api.image_get(image["id"])["name"] == "x"


def test_find_image_reads_image_and_membership_on_one_connection(db):
    image = _shared_image()

    class Caller:
        is_admin = False
        project_id = "friend"

    def find():
        with checkouts() as seen:
            found = lookup.find_image(Caller(), image["id"])
        assert found["id"] == image["id"]
        return len(seen)

    assert through_the_pool(find) == 1
    Caller.project_id = "stranger"
    with pytest.raises(exception.ImageNotFound):
        lookup.find_image(Caller(), image["id"])
