"""PyMySQL's DATETIME values through glance.db.mysql_decoders: the same
values as PyMySQL's own decoder gives, read by datetime.fromisoformat."""
import datetime

import pytest
from pymysql import converters
import sqlalchemy as sa

from glance.db import api
from glance.db import mysql_decoders
from glance.db import session as db_session
from tests.unit.db.conftest import migrated_server_database


@pytest.mark.parametrize("text", [
    "2024-05-06 10:11:12", "2024-05-06 10:11:12.123456",
    "2024-05-06 10:11:12.100000", "1999-12-31 23:59:59.000001",
    "2024-05-06 10:11:12.123",
    # refused by fromisoformat: PyMySQL's answer, the text itself
    "0000-00-00 00:00:00", "2007-02-31 23:06:20"])
def test_a_value_decodes_as_pymysql_decodes_it(text):
    assert mysql_decoders.decode_datetime(text) == \
        converters.convert_datetime(text)


def test_other_drivers_get_no_extra_arguments():
    for url in ("sqlite:///x.db", "postgresql+psycopg2://u@h/d",
                "mysql+mysqldb://u@h/d"):
        assert mysql_decoders.connect_args(sa.engine.make_url(url)) == {}


@pytest.fixture(scope="module")
def mysql_url():
    with migrated_server_database("mysql") as url:
        yield url


def test_the_engine_reads_datetimes_with_it(mysql_url):
    db_session.configure(mysql_url)
    when = datetime.datetime(2024, 5, 6, 10, 11, 12, 345678)
    image = api.image_create({"name": "x", "created_at": when})
    with db_session.connection(write=False) as conn:
        decoders = conn.connection.dbapi_connection.decoders
        [stored] = conn.exec_driver_sql(
            "SELECT created_at FROM images").one()
    assert decoders[converters.FIELD_TYPE.DATETIME] is \
        mysql_decoders.decode_datetime
    assert api.image_get(image["id"])["created_at"] == when
    assert stored == when
