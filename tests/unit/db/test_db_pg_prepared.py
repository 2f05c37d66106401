"""PostgreSQL prepared statements (glance.db.pg_prepared): the hot reads are
prepared once per connection, answer what plain reads answer, and recover
from statements that vanish, change or cannot be prepared."""
import datetime
import logging

import pytest
import sqlalchemy as sa

from benchmarks import scale
from glance.db import api
from glance.db import common
from glance.db import direct_read
from glance.db import models
from glance.db import pg_prepared
from glance.db import session as db_session
from tests.unit.db.conftest import migrated_server_database
from tests.unit.db.conftest import empty_tables


@pytest.fixture(scope="module")
def pg_url():
    with migrated_server_database("postgresql") as url:
        yield url


@pytest.fixture
def pg(pg_url):
    """A fresh engine (so fresh connections) on the module's database;
    emptied after, preparing turned back on."""
    db_session.configure(pg_url)
    yield db_session.get_engine()
    pg_prepared.turn_back_on()
    db_session.configure(pg_url)
    empty_tables()


def _session(engine, sql, fetch=True):
    """Run ``sql`` on the connection the pool hands out next (the one
    used last: the pool is LIFO and these tests use one at a time)."""
    fairy = engine.raw_connection()
    try:
        cursor = fairy.cursor()
        cursor.execute(sql)
        rows = cursor.fetchall() if fetch else None
        fairy.commit()
        return rows
    finally:
        fairy.close()


def _prepared(engine):
    return {name: generic + custom for name, generic, custom in _session(
        engine, "SELECT name, generic_plans, custom_plans "
                "FROM pg_prepared_statements WHERE name LIKE 'glance_%'")}


def _statements(engine, children=False):
    """{text: (generic plans, custom plans)} of the session's prepared
    children reads, or of its other statements."""
    return {text: (generic, custom) for text, generic, custom in _session(
        engine, "SELECT statement, generic_plans, custom_plans "
                "FROM pg_prepared_statements WHERE name LIKE 'glance_%'")
        if (" AS kind" in text) == children}


def _images(count=30):
    base = datetime.datetime(2024, 1, 1)
    ids = []
    for i in range(count):
        ids.append(api.image_create({
            "name": "img-%02d" % (i % 9), "owner": "p1" if i % 2 else "p2",
            "visibility": ("public", "private", "shared")[i % 3],
            "created_at": base + datetime.timedelta(minutes=i),
            "properties": {"os_distro": "d%d" % (i % 4)},
            "tags": ["t%d" % (i % 3)]})["id"])
    return ids


PAGES = [
    dict(project_id="p1", limit=5),
    dict(project_id="p1", limit=5, sort_key=["name"], sort_dir=["asc"]),
    dict(project_id="p2", limit=4, filters={"tags": ["t1"]}),
    dict(project_id="p2", limit=4, filters={"os_distro": "d2"}),
    dict(project_id="p1", is_admin=True, limit=6,
         filters={"name": ["img-01", "img-02", "img-03"]}),
]


def _pages():
    """Every case of PAGES, and its page past the first page's last."""
    out = []
    for kwargs in PAGES:
        first = api.image_get_all(**kwargs)
        after = api.image_get_all(marker=first[-1]["id"], **kwargs)
        out.append(([i["id"] for i in first], [i["id"] for i in after]))
    return out


def test_reads_are_prepared_once_and_answer_as_plain_reads(pg,
                                                          monkeypatch):
    ids = _images()
    db_session.CONF.set_override("use_prepared_statements", False,
                                 group="database")
    try:
        plain = _pages()
        plain_image = api.image_get(ids[0])
        assert _prepared(pg) == {}
    finally:
        db_session.CONF.clear_override("use_prepared_statements",
                                       group="database")
    plans = []
    execute = pg_prepared.execute

    def recorded(fairy, cursor, plan, *args, **kwargs):
        plans.append(plan)
        return execute(fairy, cursor, plan, *args, **kwargs)

    monkeypatch.setattr(pg_prepared, "execute", recorded)
    prepared = _pages()
    assert prepared == plain
    assert all(first and after for first, after in prepared)
    assert api.image_get(ids[0]) == plain_image
    # PostgreSQL could prepare every one of them
    assert plans and all(plan.prepared.usable for plan in plans)
    statements = _prepared(pg)
    # a first page, a marker page, the marker's row and the children per
    # case; each executed by name (a plain run leaves no count)
    assert len(statements) >= len(PAGES) * 2
    assert _pages() == plain
    assert api.image_get(ids[0]) == plain_image
    counts = _prepared(pg)
    assert set(counts) == set(statements)      # none prepared twice
    assert all(counts[name] > statements[name] for name in statements)


def test_reads_run_in_autocommit_and_leave_the_connection_as_core_wants(
        pg):
    # now() is the start of the transaction: one of its own, no BEGIN
    # round trip before the statement
    alone = direct_read.DirectRead(sa.select(
        sa.func.now() == sa.func.statement_timestamp()))
    for _ in range(3):
        assert [tuple(r) for r in alone.all({})] == [(True,)]
    fairy = pg.raw_connection()
    try:
        assert fairy.dbapi_connection.autocommit is False
    finally:
        fairy.close()
    # a Core transaction on that connection still rolls back
    image = api.image_create({"name": "kept"})
    with pytest.raises(RuntimeError):
        with db_session.connection(write=True) as conn:
            conn.execute(models.Image.__table__.update().values(
                name="lost"))
            raise RuntimeError("abort")
    assert api.image_get(image["id"])["name"] == "kept"


def test_a_vanished_statement_runs_plainly_and_turns_preparing_off(pg,
                                                                 caplog):
    _images()
    expected = _pages()
    _session(pg, "DEALLOCATE ALL", fetch=False)     # as a pooler would
    with caplog.at_level(logging.WARNING, logger=pg_prepared.__name__):
        assert _pages() == expected
    assert not pg_prepared.wanted(pg.dialect)
    assert "vanished" in caplog.text
    assert _prepared(pg) == {}     # and nothing prepared since


def test_a_changed_result_type_is_prepared_again(pg):
    _images()
    expected = _pages()
    before = set(_prepared(pg))
    _session(pg, "ALTER TABLE images ALTER COLUMN name TYPE varchar(300)",
             fetch=False)
    try:
        assert _pages() == expected
        assert pg_prepared.wanted(pg.dialect)
        assert _pages() == expected      # prepared again as they are used
        assert set(_prepared(pg)) >= before
    finally:
        _session(pg, "ALTER TABLE images ALTER COLUMN name "
                     "TYPE varchar(255)", fetch=False)


def test_a_name_prepared_by_another_client_turns_preparing_off(pg, caplog):
    _images()
    expected = _pages()
    # the session keeps its statements but the connection forgets them,
    # as when a pooler hands our connection a session someone else used
    fairy = pg.raw_connection()
    fairy.info.pop("glance_prepared")
    fairy.close()
    with caplog.at_level(logging.WARNING, logger=pg_prepared.__name__):
        assert _pages() == expected
    assert not pg_prepared.wanted(pg.dialect)
    assert "another client" in caplog.text


def test_a_statement_that_cannot_be_prepared_runs_plainly(pg):
    untyped = direct_read.DirectRead(sa.select(
        sa.bindparam("x").is_(None), sa.literal_column("'50%'")))
    assert [tuple(r) for r in untyped.all({"x": None})] == [(True, "50%")]
    assert [tuple(r) for r in untyped.all({"x": 1})] == [(False, "50%")]
    assert pg_prepared.wanted(pg.dialect)
    assert _prepared(pg) == {}
    typed = direct_read.DirectRead(sa.select(
        sa.literal_column("'50%'"),
        sa.cast(sa.bindparam("x"), sa.Integer) + 1))
    assert [tuple(r) for r in typed.all({"x": 2})] == [("50%", 3)]
    assert len(_prepared(pg)) == 1


def test_past_the_cap_the_oldest_statement_is_deallocated(pg, monkeypatch):
    monkeypatch.setattr(pg_prepared, "KEPT_PER_CONNECTION", 3)
    reads = [direct_read.DirectRead(sa.select(
        sa.bindparam("x", type_=sa.Integer) + sa.literal_column(str(i))))
        for i in range(5)]
    names = []
    for i, read in enumerate(reads):
        assert [tuple(r) for r in read.all({"x": 10})] == [(10 + i,)]
        names.append(read.plan(pg.dialect).prepared.name)
    assert set(_prepared(pg)) == set(names[2:])
    # the oldest kept one, used again, is still served by name
    assert [tuple(r) for r in reads[2].all({"x": 1})] == [(3,)]
    assert _prepared(pg)[names[2]] == 2


def test_off_by_option_nothing_is_prepared(pg):
    db_session.CONF.set_override("use_prepared_statements", False,
                                 group="database")
    try:
        ids = _images(3)
        assert api.image_get(ids[0])["id"] == ids[0]
        assert len(api.image_get_all(project_id="p1", limit=5)) == 2
        assert _prepared(pg) == {}
    finally:
        db_session.CONF.clear_override("use_prepared_statements",
                                       group="database")


def test_an_oldest_statement_gone_when_dropped_turns_preparing_off(
        pg, monkeypatch):
    monkeypatch.setattr(pg_prepared, "KEPT_PER_CONNECTION", 2)
    reads = [direct_read.DirectRead(sa.select(
        sa.bindparam("x", type_=sa.Integer) + sa.literal_column(str(i))))
        for i in range(3)]
    for i, read in enumerate(reads[:2]):
        assert [tuple(r) for r in read.all({"x": 1})] == [(1 + i,)]
    _session(pg, "DEALLOCATE ALL", fetch=False)
    # the third evicts the first, which the session no longer has
    assert [tuple(r) for r in reads[2].all({"x": 1})] == [(3,)]
    assert not pg_prepared.wanted(pg.dialect)
    assert _prepared(pg) == {}


def test_the_children_of_a_page_of_any_size_are_planned_once(pg):
    # enough rows (analyzed) for PostgreSQL to cost index lookups as it
    # does in a cloud's catalog: on a few dozen rows every plan is alike
    scale.build(3000)
    counts = (1, 2, 3, 5, 8, 9, 17, 30)
    for count in counts:
        before = _statements(pg, children=True)
        for _ in range(8):
            page = api.image_get_all(is_admin=True, limit=count,
                                     sort_key=["name"])
        assert len(page) == count
        assert all(image["tags"] and image["properties"]["os_distro"]
                   for image in page)
        used = {text: (generic - before.get(text, (0, 0))[0],
                       custom - before.get(text, (0, 0))[1])
                for text, (generic, custom) in
                _statements(pg, children=True).items()
                if (generic, custom) != before.get(text)}
        # one statement, whose generic plan PostgreSQL keeps after five
        # custom ones at most, rather than planning each execution
        [(generic, custom)] = used.values()
        assert generic >= 3 and generic + custom == 8, (count, used)
    # small pages: an IN list per power of two of ids; past that, one
    # array parameter for any size (an IN list of hundreds of parameters
    # was planned at every execution)
    assert len(_statements(pg, children=True)) == 6
    # the list of ids goes to psycopg2 as it is, no Core processing
    read, _ = common.direct_children_read(common.ARRAY_PAST + 1, pg.dialect)
    assert read.plan(pg.dialect).plain


def test_a_first_page_has_its_limit_in_its_text_a_later_page_binds_it(pg):
    _images(12)
    kwargs = dict(project_id="p1", is_admin=True, limit=5)
    for _ in range(8):
        first = api.image_get_all(**kwargs)
    [(text, (generic, custom))] = _statements(pg).items()
    assert text.rstrip().endswith("LIMIT 5") and "LIMIT $" not in text
    # PostgreSQL keeps a generic plan of it after its five custom ones,
    # rather than planning each execution
    assert (generic, custom) == (3, 5)
    api.image_get_all(marker=first[-1]["id"], **kwargs)
    later = [text for text in _statements(pg) if "created_at <=" in text]
    assert len(later) == 1 and "LIMIT $" in later[0]


def test_a_first_page_planned_at_every_execution_gets_its_values_in_it(pg):
    _images(12)
    # PostgreSQL planning every execution for its values, as it did for
    # tag, property and owner filters at 100k images (on a few rows it
    # keeps a generic plan of them)
    _session(pg, "SET plan_cache_mode = force_custom_plan", fetch=False)
    kwargs = dict(project_id="p1", limit=5, filters={"tags": ["t1"]})
    pages = [api.image_get_all(**kwargs) for _ in range(10)]
    assert pages[0] and all(page == pages[0] for page in pages)
    statements = _statements(pg)
    with_parameters = [plans for text, plans in statements.items()
                       if "$1" in text]
    with_values = [(text, plans) for text, plans in statements.items()
                   if "$1" not in text]
    # its first executions with parameters, each planned for them; then
    # the statement with the values in its text, planned once
    assert with_parameters == [(0, pg_prepared.DECIDED_AFTER)]
    [(text, plans)] = with_values
    assert "'t1'" in text and "'p1'" in text
    assert plans == (10 - pg_prepared.DECIDED_AFTER, 0)


def test_values_written_into_a_statement_are_quoted(pg):
    odd = "o'k %(x)s %% \\ ünï"
    image = api.image_create({"name": "odd", "owner": "p1",
                              "visibility": "private", "tags": [odd]})
    _images(4)
    _session(pg, "SET plan_cache_mode = force_custom_plan", fetch=False)
    kwargs = dict(project_id="p1", limit=5, filters={"tags": [odd]})
    for _ in range(pg_prepared.DECIDED_AFTER + 2):
        assert [i["id"] for i in api.image_get_all(**kwargs)] == \
            [image["id"]]
    assert [text for text in _statements(pg) if "$1" not in text]
    # a tag that is not there is not found by the same kind of statement
    kwargs["filters"] = {"tags": [odd + "'"]}
    for _ in range(pg_prepared.DECIDED_AFTER + 2):
        assert api.image_get_all(**kwargs) == []
