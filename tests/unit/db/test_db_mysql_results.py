"""glance.db.mysql_results: PyMySQL's results read with descriptions parsed
once per shape and rows in one loop give what PyMySQL's own reading
gives, value for value, exception for exception."""
import contextlib
import datetime
import decimal

import pymysql
from pymysql import connections
from pymysql import converters
from pymysql.constants import FIELD_TYPE
from pymysql import protocol
import pytest
import sqlalchemy as sa

from glance.db import mysql_decoders
from glance.db import mysql_results
from tests.unit.db.conftest import server_database


def pymysql_row_reader():
    return mysql_results._original.get(
        "_read_row_from_packet",
        connections.MySQLResult._read_row_from_packet)


@contextlib.contextmanager
def pymysql_reading():
    """PyMySQL's own reading for the block; this module's after it if
    it was installed before."""
    was = bool(mysql_results._original)
    mysql_results.uninstall()
    try:
        yield
    finally:
        if was:
            mysql_results.install()


class _Result:
    def __init__(self, converters):
        self.converters = converters


def _lenenc(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + n.to_bytes(2, "little")
    if n < 1 << 24:
        return b"\xfd" + n.to_bytes(3, "little")
    return b"\xfe" + n.to_bytes(8, "little")


def _value(data):
    return _lenenc(len(data)) + data


TEXT = ("utf8", None)
NUMBER = ("ascii", int)
RAW = (None, None)

# (packet bytes, the columns' (encoding, converter))
PACKETS = {
    "plain": (_value(b"abc") + _value(b"42") + _value(b"\x00\xff"),
              [TEXT, NUMBER, RAW]),
    "null and empty": (b"\xfb" + _value(b"") + b"\xfb", [TEXT, TEXT, NUMBER]),
    "utf-8": (_value("é€😀".encode()), [TEXT]),
    "250 bytes": (_value(b"x" * 250), [TEXT]),
    "two-byte length": (_value(b"y" * 300) + _value(b"7"), [TEXT, NUMBER]),
    "three-byte length": (_value(b"z" * 70000), [TEXT]),
    "eight-byte length": (b"\xfe" + (5).to_bytes(8, "little") + b"hello",
                          [TEXT]),
    "fewer values than columns": (_value(b"1"), [NUMBER, TEXT, TEXT]),
    "more values than columns": (_value(b"1") + _value(b"2"), [NUMBER]),
    "no values": (b"", [TEXT]),
    "length past the end": (b"\x05abc", [TEXT]),
    "two-byte length cut": (b"\xfc\x01", [TEXT]),
    "three-byte length cut": (b"\xfd\x01\x00", [TEXT]),
    "eight-byte length past the end": (
        b"\xfe" + (9).to_bytes(8, "little") + b"abc", [TEXT]),
    "no length for 0xff": (b"\xff" + _value(b"a"), [TEXT, TEXT]),
    "bad utf-8": (_value(b"\xc3("), [TEXT]),
    "bad number": (_value(b"4x"), [NUMBER]),
}


def _read(reader, data, columns):
    packet = protocol.MysqlPacket(data, "utf8")
    try:
        row = reader(_Result(columns), packet)
    except Exception as e:   # noqa: BLE001 - compared with PyMySQL's
        return ("raised", type(e), str(e))
    return row, packet._position


# the rows read_row leaves to PyMySQL's reader
LEFT_TO_PYMYSQL = {"length past the end", "two-byte length cut",
                   "three-byte length cut", "eight-byte length past the end",
                   "no length for 0xff"}


@pytest.mark.parametrize("name", sorted(PACKETS))
def test_a_row_reads_as_pymysql_reads_it(name, monkeypatch):
    data, columns = PACKETS[name]
    theirs = _read(pymysql_row_reader(), data, columns)
    if name not in LEFT_TO_PYMYSQL:
        def refuse(*_args):
            raise AssertionError("read_row gave up on %s" % name)
        monkeypatch.setattr(mysql_results, "_pymysql_row", refuse)
    assert _read(mysql_results.read_row, data, columns) == theirs


def test_this_pymysql_has_what_the_module_needs():
    assert mysql_results.missing_internals() == []


# -- against MariaDB ---------------------------------------------------------

@pytest.fixture(scope="module")
def mysql_url():
    with server_database("mysql") as url:
        yield url


def _connect(url, **kwargs):
    url = sa.engine.make_url(url)
    kwargs.setdefault("conv", mysql_decoders.connect_args(url)["conv"])
    return pymysql.connect(host=url.host, port=url.port or 3306,
                           user=url.username, database=url.database,
                           charset="utf8mb4", **kwargs)


COLUMNS = ("id INT PRIMARY KEY, name VARCHAR(255), big MEDIUMTEXT, "
           "blob_value BLOB, at DATETIME(6), amount DECIMAL(10,3), "
           "flag BOOLEAN, doc JSON, ratio DOUBLE, day DATE")
ROWS = [
    (1, "a", "x" * 300, b"\x00\x01\xff",
     datetime.datetime(2024, 5, 6, 1, 2, 3), decimal.Decimal("1.500"),
     True, '{"k": [1, 2]}', 0.25,
     datetime.date(2024, 5, 6)),
    (2, "", "é" * 40000, b"", datetime.datetime(2024, 5, 6, 1, 2, 3, 456),
     decimal.Decimal("-2.000"), False, "[]", -1e300, None),
    (3, None, None, None, None, None, None, None, None, None),
]
QUERIES = ("SELECT * FROM sample ORDER BY id",
           "SELECT id, NULL AS nothing, name, 7 AS seven FROM sample",
           "SELECT COUNT(*) AS n, MAX(at) AS last FROM sample",
           "SELECT * FROM sample WHERE id < 0")


@pytest.fixture(scope="module")
def sample(mysql_url):
    conn = _connect(mysql_url)
    with conn.cursor() as cursor:
        cursor.execute("CREATE TABLE sample (%s)" % COLUMNS)
        cursor.executemany("INSERT INTO sample VALUES (%s)" % ", ".join(
            ["%s"] * len(ROWS[0])), ROWS)
    conn.commit()
    yield conn
    conn.close()


def _all(conn, query, cursor_class=pymysql.cursors.Cursor):
    with conn.cursor(cursor_class) as cursor:
        cursor.execute(query)
        return cursor.description, cursor.fetchall()


@pytest.mark.parametrize("cursor_class", [
    pymysql.cursors.Cursor, pymysql.cursors.DictCursor,
    pymysql.cursors.SSCursor])
@pytest.mark.parametrize("query", QUERIES)
def test_results_read_as_pymysql_reads_them(sample, query, cursor_class):
    with pymysql_reading():
        theirs = _all(sample, query, cursor_class)
    assert mysql_results.install()
    first = _all(sample, query, cursor_class)
    again = _all(sample, query, cursor_class)   # the description known
    assert first == theirs
    assert again == theirs


def test_values_come_back_as_stored(sample):
    mysql_results.install()
    _description, rows = _all(sample, QUERIES[0])
    # BOOLEAN comes back as 1/0 (TINYINT), JSON as its text
    expected = [row[:6] + (None if row[6] is None else int(row[6]),)
                + row[7:] for row in ROWS]
    assert [row[:7] + row[8:] for row in rows] == \
        [row[:7] + row[8:] for row in expected]


def test_a_connection_with_other_decoders_gets_its_own(sample, mysql_url):
    mysql_results.install()
    plain = dict(converters.conversions)
    del plain[FIELD_TYPE.DATETIME]   # DATETIME as its text
    other = _connect(mysql_url, conv=plain)
    try:
        query = "SELECT at FROM sample WHERE id = 1"
        for _ in range(2):
            assert _all(sample, query)[1] == (
                (datetime.datetime(2024, 5, 6, 1, 2, 3),),)
            assert _all(other, query)[1] == (("2024-05-06 01:02:03.000000",),)
    finally:
        other.close()


def test_the_kept_descriptions_are_bounded(sample, monkeypatch):
    mysql_results.install()
    monkeypatch.setattr(mysql_results, "MAX_SHAPES", 2)
    mysql_results._shapes.clear()
    with pymysql_reading():
        expected = [_all(sample, q) for q in QUERIES]
    for _ in range(2):
        assert [_all(sample, q) for q in QUERIES] == expected
        assert 0 < len(mysql_results._shapes) <= 2


def test_install_is_undone_by_uninstall():
    was = bool(mysql_results._original)
    try:
        mysql_results.uninstall()
        own = connections.MySQLResult._read_row_from_packet
        assert own is not mysql_results.read_row
        assert mysql_results.install() and mysql_results.install()
        assert connections.MySQLResult._read_row_from_packet is \
            mysql_results.read_row
        assert connections.MySQLResult._get_descriptions is \
            mysql_results.get_descriptions
        mysql_results.uninstall()
        assert connections.MySQLResult._read_row_from_packet is own
    finally:
        if was:
            mysql_results.install()


def test_a_pymysql_engine_installs_it(mysql_url):
    from glance.db import session as db_session
    with pymysql_reading():
        db_session.configure(mysql_url)
        try:
            with db_session.get_engine().connect() as conn:
                assert conn.exec_driver_sql("SELECT 1").scalar() == 1
            assert connections.MySQLResult._read_row_from_packet is \
                mysql_results.read_row
        finally:
            db_session.configure(None)
