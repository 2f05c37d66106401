"""Alembic migrations of the metadata schema (run via glance.db.migration)."""
