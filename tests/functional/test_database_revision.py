"""glance-api on a database server that ``glance-manage db sync`` was not
run for (a real PostgreSQL database of the test's own): it serves, and
its workers say at boot what to run."""
import sqlalchemy as sa

from tests.functional.server import GlanceServer
from tests.functional.test_database_outage import _db_sync
from tests.unit.db.conftest import server_database


def test_a_database_behind_is_named_at_boot(tmp_path):
    with server_database("postgresql") as url:
        srv = GlanceServer(tmp_path, workers=1,
                           conf={"database": {"connection": url}})
        _db_sync(srv)
        engine = sa.create_engine(url)
        try:
            with engine.begin() as conn:
                ours = conn.exec_driver_sql(
                    "SELECT version_num FROM alembic_version").scalar()
                conn.exec_driver_sql(
                    "UPDATE alembic_version SET version_num = "
                    "'2024_1_contract01'")
        finally:
            engine.dispose()
        with srv:
            assert srv.get("/versions").status_code == 200
            log = srv.log_text()
        assert "The database is at OpenStack Glance's revision " \
            "2024_1_contract01, not at this service's revision %s: run " \
            "'glance-manage db sync'" % ours in log
