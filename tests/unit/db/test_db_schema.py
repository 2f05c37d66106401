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
    assert migration.db_version() == migration.head_version() == "0001"
    migration.db_sync()
    migration.db_sync("0001")
    assert migration.db_version() == "0001"


def test_ensure_schema_leaves_servers_alone(db, backend, monkeypatch):
    calls = []
    monkeypatch.setattr(migration, "db_sync", lambda *a: calls.append(a))
    migration.ensure_schema()
    assert calls == []
