"""The pool pings a connection only after it sat idle (session
_ping_when_idle), and replaces a dead one then; PostgreSQL and MariaDB."""
import pytest
import sqlalchemy as sa
from sqlalchemy import pool as sa_pool

from glance.db import api
from glance.db import direct_read
from glance.db import migration
from glance.db import session as db_session
from tests.unit.db.conftest import server_database
from tests.unit.db.conftest import SERVERS

SESSION_ID = {"postgresql": "SELECT pg_backend_pid()",
              "mysql": "SELECT CONNECTION_ID()"}
KILL = {"postgresql": "SELECT pg_terminate_backend(%d)",
        "mysql": "KILL CONNECTION %d"}


@pytest.fixture(params=["postgresql", "mysql"])
def server(request, monkeypatch):
    """(backend, its engine, a list the pings are counted in)."""
    with server_database(request.param) as url:
        db_session.configure(url)
        migration.db_sync()
        engine = db_session.get_engine()
        pings = []
        ping = engine.dialect.do_ping

        def counted(dbapi_conn):
            pings.append(dbapi_conn)
            return ping(dbapi_conn)

        monkeypatch.setattr(engine.dialect, "do_ping", counted)
        yield request.param, engine, pings


def _session_id(backend):
    read = direct_read.DirectRead(sa.text(SESSION_ID[backend]).columns(
        sa.column("id", sa.Integer)))
    return read.all({})[0][0]


def _kill(backend, session_id):
    admin = sa.create_engine(SERVERS[backend], poolclass=sa_pool.NullPool,
                             isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(KILL[backend] % session_id)
    finally:
        admin.dispose()


def test_a_connection_in_use_is_handed_out_without_a_ping(server):
    backend, engine, pings = server
    image = api.image_create({"name": "x"})
    for _ in range(5):
        assert api.image_get(image["id"])["name"] == "x"
        assert len(api.image_get_all(limit=5, is_admin=True)) == 1
        api.image_update(image["id"], {"min_ram": 1})
    assert pings == []


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(
        server, monkeypatch):
    backend, engine, pings = server
    image = api.image_create({"name": "x"})
    first = _session_id(backend)
    _kill(backend, first)
    monkeypatch.setattr(db_session, "PING_AFTER_IDLE", 0.0)
    # the direct read and a Core write each get a live connection
    assert api.image_get(image["id"])["name"] == "x"
    api.image_update(image["id"], {"min_ram": 2})
    assert pings
    second = _session_id(backend)
    assert second != first
    _kill(backend, second)
    api.image_update(image["id"], {"min_ram": 3})
    assert api.image_get(image["id"])["min_ram"] == 3
