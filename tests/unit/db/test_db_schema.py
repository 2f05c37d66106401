"""The migrations build exactly the models' schema, on every backend."""
from alembic import autogenerate
from alembic import migration as alembic_migration

from glance.db import migration
from glance.db import models
from glance.db import session as db_session


def test_migrated_schema_matches_models(db):
    with db_session.connection(write=False) as conn:
        context = alembic_migration.MigrationContext.configure(
            conn, opts={"compare_type": True})
        diff = autogenerate.compare_metadata(context, models.Base.metadata)
    assert diff == []


def test_version_is_head_and_sync_is_idempotent(db):
    head = migration.head_version()
    assert migration.db_version() == head
    migration.db_sync()
    migration.db_sync(head)
    assert migration.db_version() == head


def test_ensure_schema_leaves_servers_alone(db, backend, monkeypatch):
    calls = []
    monkeypatch.setattr(migration, "db_sync", lambda *a: calls.append(a))
    migration.ensure_schema()
    assert calls == []


def test_a_database_behind_is_named(db, monkeypatch, caplog):
    """A database not at our revision (say, Glance's, not adopted yet)
    is named with what to run (glance-api's workers check at boot)."""
    caplog.set_level("WARNING", logger="glance.db.migration")
    migration.warn_if_behind()
    assert "db sync" not in caplog.text   # at head
    monkeypatch.setattr(migration, "db_heads",
                        lambda: ("2024_1_contract01",))
    migration.warn_if_behind()
    assert "OpenStack Glance's revision 2024_1_contract01" in caplog.text
    assert "run 'glance-manage db sync'" in caplog.text


def test_the_pool_hands_out_the_connection_used_last(backend):
    # its database session and caches are warm; the ones used least
    # stay idle and may be closed by the server (pre-ping and recycle
    # replace them)
    engine = db_session.get_engine()
    first, second = engine.connect(), engine.connect()
    first_raw = first.connection.dbapi_connection
    second_raw = second.connection.dbapi_connection
    first.close()
    second.close()
    for _ in range(3):
        with engine.connect() as conn:
            assert conn.connection.dbapi_connection is second_raw
    assert first_raw is not second_raw
