"""glance.db.mariadb_session: every connection of the engine to MariaDB
runs with the two optimizer settings; other servers are left alone."""
import logging

import pytest

from glance.db import api
from glance.db import mariadb_session
from glance.db import session as db_session
from tests.unit.db.conftest import migrated_server_database

_SETTINGS = ("SELECT @@eq_range_index_dive_limit, "
             "LOCATE('subquery_cache=off', @@optimizer_switch) > 0")


@pytest.fixture(scope="module")
def mysql_url():
    with migrated_server_database("mysql") as url:
        yield url


def _settings(conn):
    return tuple(conn.exec_driver_sql(_SETTINGS).one())


def test_each_new_connection_has_the_settings(mysql_url):
    db_session.configure(mysql_url)
    engine = db_session.get_engine()
    with engine.connect() as first, engine.connect() as second:
        assert _settings(first) == (10, 1)
        assert _settings(second) == (10, 1)
    engine.dispose()        # the next connection is a new one
    with engine.connect() as third:
        assert _settings(third) == (10, 1)


def test_a_mariadb_url_has_them_too(mysql_url):
    db_session.configure(mysql_url.replace("mysql+pymysql://",
                                           "mariadb+pymysql://", 1))
    try:
        with db_session.get_engine().connect() as conn:
            assert conn.dialect.name == "mariadb"
            assert _settings(conn) == (10, 1)
    finally:
        db_session.configure(mysql_url)


def test_a_tag_filtered_page_reads_as_before(mysql_url):
    db_session.configure(mysql_url)
    tagged = [api.image_create({"name": "n%d" % i, "tags": ["t%d" % (i % 3)]})
              for i in range(9)]
    page = api.image_get_all(filters={"tags": ["t1"]}, sort_key=["name"],
                             sort_dir=["asc"], limit=25, is_admin=True)
    assert [image["name"] for image in page] == ["n1", "n4", "n7"]
    assert {image["id"] for image in page} == \
        {image["id"] for image in tagged if image["tags"] == ["t1"]}


class _Cursor:
    def __init__(self, error):
        self.error = error
        self.executed = []
        self.closed = False

    def execute(self, sql):
        self.executed.append(sql)
        if self.error is not None:
            raise self.error

    def close(self):
        self.closed = True


class _Connection:
    def __init__(self, version, error=None):
        self.version = version
        self.cursor_made = _Cursor(error)

    def get_server_info(self):
        return self.version

    def cursor(self):
        return self.cursor_made


class _ServerError(Exception):
    pass


def test_mysql_is_left_alone():
    conn = _Connection("8.0.36")
    mariadb_session.on_connect(conn, None)
    assert conn.cursor_made.executed == []


def test_a_refused_setting_is_a_warning(caplog):
    conn = _Connection("10.11.6-MariaDB-0+deb12u1",
                       _ServerError(1193, "Unknown system variable"))
    with caplog.at_level(logging.WARNING, logger=mariadb_session.__name__):
        mariadb_session.on_connect(conn, None)
    assert conn.cursor_made.executed == [mariadb_session.SETTINGS]
    assert conn.cursor_made.closed
    assert "not applied" in caplog.text


def test_a_lost_connection_is_raised():
    conn = _Connection("10.11.6-MariaDB", _ServerError(2013, "Lost"))
    with pytest.raises(_ServerError):
        mariadb_session.on_connect(conn, None)
    assert conn.cursor_made.closed
