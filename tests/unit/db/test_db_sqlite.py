"""The embedded SQLite engine: pragmas, locking, fork safety, glance-manage.

These tests use their own database files, not the ``db`` fixture.
"""
import datetime
import traceback

import pytest
import sqlalchemy as sa

from glance.cmd import manage
from glance.common import exception
from glance.db import api
from glance.db import migration
from glance.db import session as db_session
from tests.unit.db import forked



@pytest.fixture
def sqlite_url(tmp_path):
    """A fresh, migrated SQLite file in use by glance.db."""
    url = "sqlite:///%s" % (tmp_path / "glance.sqlite")
    db_session.configure(url)
    migration.db_sync()
    yield url
    db_session.configure(None)


@pytest.fixture
def fresh_sqlite_url(tmp_path):
    """The URL of an SQLite file that does not exist yet."""
    yield "sqlite:///%s" % (tmp_path / "new" / "glance.sqlite")
    db_session.configure(None)


def test_default_connection_is_under_state_path(tmp_path):
    from oslo_config import cfg
    conf = cfg.CONF
    conf.set_override("state_path", str(tmp_path / "state"))
    try:
        db_session.configure(None)
        expected = "sqlite:///%s" % (tmp_path / "state" / "glance.sqlite")
        assert db_session.connection_url() == expected
        migration.ensure_schema()
        assert migration.db_version() == migration.head_version()
        assert (tmp_path / "state" / "glance.sqlite").exists()
        conf.set_override("connection", "sqlite:///%s/other.db" % tmp_path,
                          group="database")
        assert db_session.connection_url().endswith("/other.db")
    finally:
        conf.clear_override("state_path")
        conf.clear_override("connection", group="database")
        db_session.configure(None)


def test_pragmas(sqlite_url):
    with db_session.connection(write=False) as conn:
        pragma = conn.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() == (
            db_session.SQLITE_BUSY_TIMEOUT * 1000)


def _statements_of(call):
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db_session.get_engine()
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        result = call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return result, statements


def test_writes_begin_immediate_reads_deferred(sqlite_url):
    image, writes = _statements_of(lambda: api.image_create({}))
    _result, reads = _statements_of(
        lambda: api.image_get_all(is_admin=True))
    assert writes[0] == "BEGIN IMMEDIATE"
    assert reads[0] == "BEGIN"
    assert len(reads) == 3   # the page and its children, one snapshot


def test_a_one_statement_read_sends_no_begin(sqlite_url):
    image = api.image_create({"name": "x"})
    api.image_tag_create(image["id"], "t")
    found, statements = _statements_of(lambda: api.image_get(image["id"]))
    assert len(statements) == 1
    assert statements[0].startswith("SELECT")
    assert found["name"] == "x" and found["tags"] == ["t"]
    # still a connection that commits what it is given
    with db_session.connection(write=False, one_statement=True) as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1


def test_foreign_keys_enforced(sqlite_url):
    with pytest.raises(sa.exc.IntegrityError):
        with db_session.connection() as conn:
            conn.exec_driver_sql(
                "INSERT INTO image_tags (image_id, value, created_at, "
                "deleted) VALUES ('nope', 't', '2024-01-01', 0)")


def test_in_memory_database():
    db_session.configure("sqlite://")
    try:
        migration.ensure_schema()
        image = api.image_create({"name": "mem"})
        assert api.image_get(image["id"])["name"] == "mem"
    finally:
        db_session.configure(None)


def _child_checks_engine(parent_engine_id):
    if db_session._ENGINE is not None:
        return 1
    engine = db_session.get_engine()
    if id(engine) == parent_engine_id:
        return 2
    api.image_create({"name": "from-child"})
    return 0


def test_engine_is_recreated_after_fork(sqlite_url):
    parent = db_session.get_engine()
    api.image_create({"name": "from-parent"})
    child = forked.in_child(_child_checks_engine, id(parent))
    child.join(30)
    assert child.exitcode == 0
    assert db_session.get_engine() is parent
    assert sorted(i["name"] for i in api.image_get_all(is_admin=True)) == [
        "from-child", "from-parent"]


def _create_and_delete(barrier, worker, count):
    barrier.wait(30)
    failures = 0
    for n in range(count):
        try:
            image = api.image_create({
                "name": "w%d-%d" % (worker, n), "owner": "p%d" % worker,
                "properties": {"n": str(n)}, "tags": ["a", "b"]})
            api.image_update(image["id"], {"status": "active"},
                             from_state="queued")
            api.image_get_all(project_id="p%d" % worker, limit=5)
            api.image_destroy(image["id"])
        except Exception:
            traceback.print_exc()
            failures += 1
    return min(failures, 100)


def test_concurrent_writer_processes(sqlite_url):
    workers, count = 4, 50
    barrier = forked.FORK.Barrier(workers)
    children = [forked.in_child(_create_and_delete, barrier, n, count)
                for n in range(workers)]
    for child in children:
        child.join(120)
    assert [c.exitcode for c in children] == [0] * workers
    with db_session.connection(write=False) as conn:
        rows = conn.exec_driver_sql(
            "SELECT count(*), sum(deleted) FROM images").one()
    assert tuple(rows) == (workers * count, workers * count)


def _migrate(barrier, url):
    db_session.configure(url)
    barrier.wait(30)
    migration.ensure_schema()
    api.image_create({})
    return 0


def test_concurrent_ensure_schema(fresh_sqlite_url):
    workers = 4
    barrier = forked.FORK.Barrier(workers)
    children = [forked.in_child(_migrate, barrier, fresh_sqlite_url)
                for _ in range(workers)]
    for child in children:
        child.join(60)
    assert [c.exitcode for c in children] == [0] * workers
    db_session.configure(fresh_sqlite_url)
    assert migration.db_version() == migration.head_version()
    assert len(api.image_get_all(is_admin=True)) == workers


def test_ensure_schema_is_a_noop_at_head(sqlite_url, monkeypatch):
    monkeypatch.setattr(migration, "db_sync", lambda *a: pytest.fail())
    migration.ensure_schema()


# -- glance-manage ---------------------------------------------------------

@pytest.fixture
def restore_conf():
    """glance-manage re-parses the global CONF; parse it back after."""
    from oslo_config import cfg
    was_parsed = cfg.CONF._args is not None
    yield
    if was_parsed and cfg.CONF._args is None:
        cfg.CONF([], project="glance", default_config_files=[])


def _config_file(tmp_path, url):
    path = tmp_path / "glance-manage.conf"
    # no start-up retries: an unreachable server fails at once
    path.write_text("[database]\nconnection = %s\nmax_retries = 0\n" % url)
    return str(path)


def test_manage_db_commands(tmp_path, capsys, fresh_sqlite_url,
                            restore_conf):
    conf = _config_file(tmp_path, fresh_sqlite_url)
    assert manage.main(["--config-file", conf, "db", "version"]) == 0
    assert "None" in capsys.readouterr().out
    head = migration.head_version()
    assert manage.main(["--config-file", conf, "db", "sync"]) == 0
    assert head in capsys.readouterr().out
    assert manage.main(["--config-file", conf, "db", "upgrade",
                        head]) == 0
    capsys.readouterr()
    assert manage.main(["--config-file", conf, "db", "version"]) == 0
    assert capsys.readouterr().out.strip() == head
    assert manage.main(["--config-file", conf, "db", "sync", "9999"]) == 1
    assert "9999" in capsys.readouterr().err


def test_manage_unreachable_database(tmp_path, capsys, restore_conf):
    url = "postgresql+psycopg2://nobody:secret@127.0.0.1:1/glance"
    conf = _config_file(tmp_path, url)
    try:
        assert manage.main(["--config-file", conf, "db", "sync"]) == 1
    finally:
        db_session.configure(None)
    err = capsys.readouterr().err
    assert err.startswith("ERROR") and err.count("\n") == 1
    assert "secret" not in err


def test_manage_needs_a_command(capsys, restore_conf):
    with pytest.raises(SystemExit) as exit_:
        manage.main(["db"])
    assert exit_.value.code != 0


def test_failed_write_releases_the_lock(sqlite_url):
    image = api.image_create({})
    with pytest.raises(exception.Duplicate):
        api.image_create({"id": image["id"]})
    # a leaked write transaction would make this wait for the busy timeout
    engine = db_session.get_engine()
    assert engine.pool.checkedout() == 0
    api.image_create({})


def _sent_by(call):
    """(call's result, the SQL SQLite ran for it on the pool's last
    returned connection, which the call checks out: last in, first out)."""
    engine = db_session.get_engine()
    sent = []
    fairy = engine.raw_connection()
    fairy.dbapi_connection.set_trace_callback(sent.append)
    fairy.close()
    try:
        result = call()
    finally:
        fairy = engine.raw_connection()
        fairy.dbapi_connection.set_trace_callback(None)
        fairy.close()
    return result, sent


def test_a_direct_read_sends_the_select_only(sqlite_url):
    # the direct read (glance.db.direct_read) of an image
    image = api.image_create({"name": "x"})
    found, sent = _sent_by(lambda: api.image_get(image["id"]))
    assert found["name"] == "x"
    assert len(sent) == 1 and sent[0].startswith("SELECT")


def test_a_direct_first_page_reads_one_snapshot(sqlite_url):
    for name in ("a", "b"):
        api.image_create({"name": name, "tags": [name]})
    api.image_get_all(is_admin=True, limit=25)   # keeps the statement
    images, sent = _sent_by(lambda: api.image_get_all(is_admin=True,
                                                      limit=25))
    assert sorted(i["tags"][0] for i in images) == ["a", "b"]
    assert [s.split()[0] for s in sent] == ["BEGIN", "SELECT", "SELECT",
                                            "COMMIT"]


def test_a_members_marker_page_reads_its_memberships_first(sqlite_url):
    # Past a marker, SQLite was offered the images index of the sort
    # order in the memberships' part and walked it over every shared
    # image before the marker, probing the memberships for each (20 ms
    # for a member's second page of 100k images, 0.8 ms now).
    base = datetime.datetime(2024, 1, 1)
    for i in range(60):
        image = api.image_create({
            "name": "s%02d" % i, "owner": "o%d" % (i % 5),
            "visibility": "shared",
            "created_at": base + datetime.timedelta(minutes=i)})
        if i % 10 == 0:
            api.image_member_create(image["id"], "viewer",
                                    status="accepted")
    first = api.image_get_all(project_id="viewer", limit=3)
    assert [i["name"] for i in first] == ["s50", "s40", "s30"]
    engine = db_session.get_engine()
    statements = []

    def record(conn, cursor, statement, parameters, context, many):
        statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        page = api.image_get_all(project_id="viewer", limit=3,
                                 marker=first[-1]["id"])
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert [i["name"] for i in page] == ["s20", "s10", "s00"]
    statement, parameters = next(s for s in statements
                                 if "member_of" in s[0])
    with engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters)]
    members = plan[plan.index("MATERIALIZE member_of"):]
    assert not [line for line in members
                if line.startswith("SEARCH images") and "created_at" in line]
    assert "SEARCH images USING INDEX sqlite_autoindex_images_1 (id=?)" \
        in members
