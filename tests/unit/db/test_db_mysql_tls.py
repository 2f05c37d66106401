"""PyMySQL's TLS context of the connections given no TLS options: one per
process (glance.db.mysql_tls)."""
import ssl

import certifi
import pytest

pymysql_connections = pytest.importorskip("pymysql.connections")

from glance.db import mysql_tls  # noqa: E402
from glance.db import session as db_session  # noqa: E402
from tests.unit.db.conftest import migrated_server_database  # noqa: E402

# any CA bundle will do: requests' (certifi's)
CA_FILE = certifi.where()


def _unconnected(**options):
    return mysql_tls.Connection(host="127.0.0.1", defer_connect=True,
                                **options)


def test_pymysql_still_has_what_it_needs():
    assert mysql_tls.missing_internals() == []


def test_connections_without_options_share_one_context():
    first, second = _unconnected(), _unconnected()
    assert isinstance(first.ctx, ssl.SSLContext)
    assert first.ctx is second.ctx
    # PyMySQL's own connection builds one each time
    plain = pymysql_connections.Connection(host="127.0.0.1",
                                           defer_connect=True)
    assert plain.ctx is not first.ctx


def test_the_shared_context_is_the_one_pymysql_builds():
    shared = _unconnected().ctx
    own = pymysql_connections.Connection(host="127.0.0.1",
                                         defer_connect=True).ctx
    for name in ("verify_mode", "check_hostname", "verify_flags",
                 "minimum_version", "maximum_version", "options",
                 "protocol"):
        assert getattr(shared, name) == getattr(own, name), name


def test_connections_with_options_build_their_own():
    verified = _unconnected(ssl_ca=CA_FILE)
    assert verified.ctx is not _unconnected().ctx
    own = pymysql_connections.Connection(host="127.0.0.1", ssl_ca=CA_FILE,
                                         ssl_verify_cert=True,
                                         defer_connect=True).ctx
    verified = _unconnected(ssl_ca=CA_FILE, ssl_verify_cert=True)
    assert verified.ctx.verify_mode == own.verify_mode == ssl.CERT_REQUIRED
    assert _unconnected(ssl_disabled=True).ssl is False


@pytest.fixture(scope="module")
def mysql_url():
    with migrated_server_database("mysql") as url:
        yield url


def test_engine_connections_share_it(mysql_url):
    db_session.configure(mysql_url)
    engine = db_session.get_engine()
    engine.dispose()
    first, second = engine.raw_connection(), engine.raw_connection()
    try:
        a, b = first.dbapi_connection, second.dbapi_connection
        assert a is not b
        assert isinstance(a, mysql_tls.Connection)
        assert a.ctx is b.ctx
        cursor = a.cursor()
        cursor.execute("SELECT 1")
        assert cursor.fetchall() == ((1,),)
    finally:
        first.close()
        second.close()
