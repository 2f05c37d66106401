"""The metadata database: SQLAlchemy models, queries and migrations.

Callers use ``glance.db.api`` (plain dicts in and out, no HTTP, no policy);
``glance.db.session`` owns the engine and transactions,
``glance.db.migration`` the schema (``db_sync``, ``db_version``,
``ensure_schema``).
"""
