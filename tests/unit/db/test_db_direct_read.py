"""Direct reads (glance.db.direct_read): the same rows as Core, the pool's
rules kept, errors as Core raises them; on SQLite, PostgreSQL and MariaDB."""
import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from glance.common import exception
from glance.db import api
from glance.db import common
from glance.db import direct_read
from glance.db import images as db_images
from glance.db import session as db_session
from tests.unit.db.conftest import server_database


def _core_rows(statement, values):
    with db_session.connection(write=False, one_statement=True) as conn:
        return conn.execute(statement, values).all()


def _rich_image():
    image = api.image_create({
        "name": "rich", "status": "active", "visibility": "public",
        "protected": True, "os_hidden": True, "min_disk": 3,
        "min_ram": 512, "owner": "p1", "size": 2 ** 40,
        "virtual_size": 2 ** 41, "disk_format": "qcow2",
        "container_format": "bare", "checksum": "a" * 32,
        "os_hash_algo": "sha512", "os_hash_value": "b" * 128,
        "created_at": datetime.datetime(2020, 1, 2, 3, 4, 5, 123456),
        "properties": {"os_distro": "cirros", "empty": "", "ü": "ß"},
        "tags": ["b", "a"]})
    api.image_location_add(image["id"], "file:///one",
                           {"store": "fast", "n": [1, 2]})
    api.image_location_add(image["id"], "file:///two", status="deleted")
    return image


@pytest.mark.parametrize("include_deleted", [False, True])
def test_rows_and_their_types_equal_cores(db, include_deleted):
    image = _rich_image()
    statement = common.IMAGE_WITH_CHILDREN[include_deleted]
    values = {"image_id": image["id"]}
    expected = _core_rows(statement, values)
    got = direct_read.DirectRead(statement).all(values)
    assert len(got) == len(expected) >= 5
    for row, core_row in zip(got, expected, strict=True):
        assert list(row) == list(core_row)
        assert [type(v) for v in row] == [type(v) for v in core_row]


def test_image_get_equals_the_core_read(db):
    image = _rich_image()
    with db_session.connection(write=False) as conn:
        expected = common.load_image(conn, image["id"])
    got = api.image_get(image["id"])
    assert got == expected
    assert got["protected"] is True and got["deleted"] is False
    assert got["created_at"] == datetime.datetime(2020, 1, 2, 3, 4, 5,
                                                  123456)
    assert got["locations"][0]["metadata"] == {"store": "fast",
                                               "n": [1, 2]}
    assert got["tags"] == ["b", "a"]


def test_deleted_image_only_with_include_deleted(db):
    image = api.image_create({"name": "gone"})
    api.image_destroy(image["id"])
    with pytest.raises(exception.ImageNotFound):
        api.image_get(image["id"])
    found = api.image_get(image["id"], include_deleted=True)
    assert found["deleted"] is True and found["status"] == "deleted"


def test_no_core_connection_is_made(db, monkeypatch):
    image = api.image_create({"name": "x"})

    def refuse(*args, **kwargs):
        raise AssertionError("a Core connection was opened")

    monkeypatch.setattr(sa.engine.Connection, "__init__", refuse)
    assert api.image_get(image["id"])["name"] == "x"


def test_cursor_listeners_see_the_read_through_core(db, count_statements):
    image = api.image_create({"name": "x"})
    with count_statements() as counter:
        assert api.image_get(image["id"])["name"] == "x"
    assert any(s.lstrip().upper().startswith("SELECT")
               for s in counter.statements)


def test_a_read_ends_its_transaction(db):
    # MariaDB's REPEATABLE READ would show the old name to a connection
    # whose read transaction stayed open (the pool hands the same one out)
    image = api.image_create({"name": "before"})
    assert api.image_get(image["id"])["name"] == "before"
    api.image_update(image["id"], {"name": "after"})
    assert api.image_get(image["id"])["name"] == "after"
    fairy = db_session.get_engine().raw_connection()
    try:
        raw = fairy.dbapi_connection
        if hasattr(raw, "in_transaction"):   # sqlite3
            assert not raw.in_transaction
        elif hasattr(raw, "get_transaction_status"):   # psycopg2
            import psycopg2.extensions as ext
            assert raw.get_transaction_status() == \
                ext.TRANSACTION_STATUS_IDLE
    finally:
        fairy.close()


def test_a_failing_statement_raises_as_core_does(db):
    missing = sa.table("no_such_table", sa.column("id"))
    read = direct_read.DirectRead(
        sa.select(missing.c.id).where(missing.c.id == sa.bindparam("i")))
    with pytest.raises(sa_exc.DBAPIError) as err:
        read.all({"i": "x"})
    assert "no_such_table" in str(err.value)
    assert not err.value.connection_invalidated
    image = api.image_create({"name": "still"})
    assert api.image_get(image["id"])["name"] == "still"


@pytest.fixture(params=["postgresql", "mysql"])
def server_url(request):
    """An empty database on each server, in use by glance.db."""
    with server_database(request.param) as url:
        db_session.configure(url)
        yield request.param


def test_a_connection_the_server_drops_is_invalidated(server_url):
    kill = {"postgresql": "SELECT pg_terminate_backend(pg_backend_pid())",
            "mysql": "KILL CONNECTION_ID()"}[server_url]
    invalidated = []
    engine = db_session.get_engine()

    def record(*args):
        invalidated.append(args)

    sa.event.listen(engine, "invalidate", record)
    try:
        with pytest.raises(sa_exc.DBAPIError) as err:
            direct_read.DirectRead(sa.text(kill)).all({})
    finally:
        sa.event.remove(engine, "invalidate", record)
    assert err.value.connection_invalidated
    # before any later checkout could be handed the dead connection
    assert len(invalidated) == 1
    one = direct_read.DirectRead(sa.select(sa.literal_column("1")))
    assert [tuple(row) for row in one.all({})] == [(1,)]


def test_a_connection_that_cannot_open_raises_as_core_does(db):
    # what the API answers 503 to when the database cannot be reached
    engine = db_session.get_engine()
    dbapi = engine.dialect.loaded_dbapi

    def fail(*args, **kwargs):
        raise dbapi.OperationalError("could not connect to server")

    engine.dispose()
    # in place of the listener that makes our PyMySQL connections (the
    # first listener to answer makes the connection)
    makers = list(engine.dialect.dispatch.do_connect)
    for maker in makers:
        sa.event.remove(engine, "do_connect", maker)
    sa.event.listen(engine, "do_connect", fail)
    try:
        with pytest.raises(sa_exc.OperationalError) as err:
            api.image_get("x")
    finally:
        sa.event.remove(engine, "do_connect", fail)
        for maker in makers:
            sa.event.listen(engine, "do_connect", maker)
    assert isinstance(err.value.orig, dbapi.OperationalError)
    with pytest.raises(exception.ImageNotFound):
        api.image_get("x")


def test_nul_in_an_id_is_not_a_server_error(db):
    with pytest.raises((exception.ImageNotFound, exception.Invalid)):
        api.image_get("a\x00b")


def test_the_module_read_is_a_direct_read():
    assert all(isinstance(read, direct_read.DirectRead)
               for read in db_images._IMAGE_READ.values())


# -- first pages of lists ---------------------------------------------------

@pytest.fixture
def catalog(db):
    """Images of two projects with every kind of child and column."""
    base = datetime.datetime(2024, 1, 1, 12, 0, 0)
    for i in range(11):
        owner = "p1" if i % 2 else "p2"
        visibility = ("public", "private", "shared", "community")[i % 4]
        image = api.image_create({
            "name": None if i == 3 else "img-%02d" % (i % 7),
            "owner": owner, "visibility": visibility,
            "protected": i % 3 == 0, "os_hidden": i == 5,
            "size": None if i % 5 == 0 else i * 1000,
            "disk_format": "raw", "container_format": "bare",
            "created_at": base + datetime.timedelta(minutes=i % 4),
            "properties": {"os_distro": "d%d" % (i % 3), "n": str(i)},
            "tags": ["t%d" % (i % 2), "all"][: 1 + i % 2]})
        if i % 4 == 2:
            api.image_member_create(image["id"], "p1",
                                    status=("accepted", "pending")[i % 3 % 2])
        if i % 3 == 1:
            api.image_location_add(image["id"], "file:///%d" % i,
                                   {"store": "fast"})


LIST_CASES = [
    {"is_admin": True, "limit": 25},
    {"is_admin": True, "limit": 3},
    {"is_admin": True, "limit": 5, "sort_key": "name", "sort_dir": "asc"},
    {"project_id": "p1", "limit": 7},
    {"project_id": "p1", "limit": 25, "member_status": "all"},
    {"project_id": "p1", "limit": 25, "filters": {"visibility": "shared"}},
    {"project_id": "p2", "limit": 25, "filters": {"tags": ["all"]}},
    {"project_id": "p1", "limit": 25, "filters": {"os_distro": "d1"}},
    {"is_admin": True, "limit": 25, "filters": {"protected": True}},
    {"is_admin": True, "limit": 25, "sort_key": ["size", "name"],
     "sort_dir": ["desc", "asc"]},
    {"is_admin": True, "limit": 25, "filters": {
        "created_at": ("gt", datetime.datetime(2024, 1, 1, 12, 1))}},
    {"is_admin": True, "limit": 25, "filters": {"name": ["img-01",
                                                         "img-02"]}},
    {"project_id": None, "limit": 25},
    {"is_admin": True, "limit": 0},
]


def _listed(kwargs):
    return api.image_get_all(**kwargs)


@pytest.mark.parametrize("kwargs", LIST_CASES)
def test_a_direct_first_page_equals_the_core_read(catalog, kwargs,
                                                  count_statements):
    with count_statements() as counter:
        expected = _listed(kwargs)   # Core, which keeps the statement
    assert counter.count or kwargs["limit"] == 0
    got = _listed(kwargs)
    assert got == expected
    assert [[type(v) for v in image.values()] for image in got] == \
        [[type(v) for v in image.values()] for image in expected]


@pytest.mark.parametrize("kwargs", [
    {"project_id": "p1", "limit": 25},
    {"project_id": "p1", "limit": 25,
     "filters": {"name": ["img-01", "img-02", "img-03", "img-04"]}}])
def test_a_kept_first_page_opens_no_core_connection(catalog, monkeypatch,
                                                    kwargs):
    expected = _listed(kwargs)

    def refuse(*args, **kwargs):
        raise AssertionError("a Core connection was opened")

    monkeypatch.setattr(sa.engine.Connection, "__init__", refuse)
    got = _listed(kwargs)
    assert got == expected and len(got) >= 5
    assert any(image["locations"] for image in got)
    assert any(image["properties"] for image in got)


@pytest.mark.parametrize("kwargs", [k for k in LIST_CASES if k["limit"]])
def test_a_direct_marker_page_equals_the_core_read(catalog, kwargs,
                                                   count_statements):
    with count_statements():
        listed = _listed(dict(kwargs, limit=None))
    for marker in [image["id"] for image in listed][:4]:
        paged = dict(kwargs, marker=marker)
        with count_statements() as counter:
            expected = _listed(paged)   # Core: its own transaction
        assert counter.count >= 2
        got = _listed(paged)
        assert got == expected
        assert [[type(v) for v in image.values()] for image in got] == \
            [[type(v) for v in image.values()] for image in expected]


def test_a_marker_page_statement_is_kept_per_shape_of_marker(
        catalog, monkeypatch):
    from glance.db import image_query
    monkeypatch.setattr(image_query, "_PAGES", image_query._Statements(16))
    kwargs = {"is_admin": True, "sort_key": "name", "sort_dir": "asc",
              "filters": {"visibility": "all"}, "limit": 25}
    listed = _listed(kwargs)
    assert len(image_query._PAGES) == 1
    named = [image for image in listed if image["name"] is not None]
    unnamed = [image for image in listed if image["name"] is None]
    assert len(named) >= 3 and unnamed

    def refuse(*args, **kwargs):
        raise AssertionError("a Core connection was opened")

    pages = []
    for marker in named[:3] + unnamed:
        pages.append(_listed(dict(kwargs, marker=marker["id"])))
        monkeypatch.setattr(sa.engine.Connection, "__init__", refuse)
    # one statement for the named markers, one for the unnamed
    assert len(image_query._PAGES) == 3
    for marker, page in zip(named[:3] + unnamed, pages, strict=True):
        after = listed[listed.index(marker) + 1:]
        assert [i["id"] for i in page] == [i["id"] for i in after]


def test_a_bad_filter_is_refused_before_a_missing_marker(catalog):
    for _ in range(2):
        with pytest.raises(exception.InvalidFilterRangeValue):
            _listed({"project_id": "p1", "marker": "nope",
                     "filters": {"size_min": "big"}})
    with pytest.raises(exception.NotFound):
        _listed({"project_id": "p1", "marker": "nope"})


def test_a_missing_marker_leaves_no_snapshot_open(catalog):
    kwargs = {"project_id": "p1", "limit": 25}
    for n in range(3):
        with pytest.raises(exception.NotFound):
            _listed(dict(kwargs, marker="nope"))
        image = api.image_create({"name": "new-%d" % n, "owner": "p1"})
        # a connection left in its read snapshot would not see it
        assert image["id"] in [i["id"] for i in _listed(kwargs)]


def test_an_empty_or_long_in_list_takes_the_core_path(catalog,
                                                      monkeypatch):
    from glance.db import image_filters
    mine = _listed({"project_id": "p1", "limit": 25})
    ids = [image["id"] for image in mine]
    padding = ["none-%d" % n for n in range(image_filters.MAX_IN_BOUND_EACH)]
    opened = []
    core_init = sa.engine.Connection.__init__

    def counted(self, *args, **kwargs):
        opened.append(1)
        core_init(self, *args, **kwargs)

    monkeypatch.setattr(sa.engine.Connection, "__init__", counted)
    for values, expected in (([], []), (ids[:3] + padding, mine[:3])):
        kwargs = {"project_id": "p1", "limit": 25,
                  "filters": {"id": values}}
        for _ in range(2):
            del opened[:]
            assert _listed(kwargs) == expected
            assert _listed(dict(kwargs, marker=ids[0])) == expected[1:]
            assert len(opened) == 2


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 9, 16, 17, 30])
def test_children_read_of_any_count(db, count):
    ids = []
    for i in range(count):
        image = api.image_create({"properties": {"k": str(i)},
                                  "tags": ["t%d" % i, "x"]})
        api.image_location_add(image["id"], "file:///%d" % i)
        ids.append(image["id"])
    read, size = common.direct_children_read(
        count, db_session.get_engine().dialect)
    if db_session.get_engine().dialect.name == "postgresql" and \
            count > common.ARRAY_PAST:
        assert size is None    # one array parameter
    else:
        assert size >= count and size & (size - 1) == 0
    rows = read.all(common.direct_children_values(ids, size))
    with db_session.connection(write=False) as conn:
        expected = common.load_children(conn, ids)
    assert common.children_from_rows(ids, rows) == expected
    assert len(rows) == 4 * count   # each child once, padding or not


def test_statements_core_compiles_per_execution_run_through_core(db):
    table = common.IMAGE
    listed = direct_read.DirectRead(
        sa.select(table.c.id).where(table.c.id.in_(["a", "b"])))
    assert listed.plan(db_session.get_engine().dialect) is None
    image = api.image_create({"name": "x"})
    listed = direct_read.DirectRead(
        sa.select(table.c.name).where(table.c.id.in_([image["id"], "b"])))
    assert [tuple(r) for r in listed.all({})] == [("x",)]


def test_sqlalchemy_has_what_a_plan_needs():
    assert direct_read.missing_internals() == []


def test_without_those_parts_reads_take_the_core_path(db, monkeypatch):
    image = api.image_create({"name": "x", "tags": ["t"]})
    expected = api.image_get(image["id"])
    # only this test's own read is planned without them: a module's read
    # planned now would keep its Core-only plan for the engine, and the
    # next tests on it would not read directly
    monkeypatch.setattr(direct_read, "_USABLE_SQLALCHEMY", False)
    read = direct_read.DirectRead(common.IMAGE_WITH_CHILDREN[False])
    assert read.plan(db_session.get_engine().dialect) is None
    rows = read.all({"image_id": image["id"]})
    assert common.image_from_rows(image["id"], rows) == expected
