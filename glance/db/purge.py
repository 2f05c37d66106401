"""Purging soft-deleted rows for good (``glance-manage db purge``).

As Glance does: rows whose ``deleted_at`` is older than the cut-off go,
oldest first, at most ``max_rows`` per table (-1: no limit), from the image
properties, tags, locations and members and from the tasks (with their
``task_info``). The ``images`` rows themselves stay, so that a deleted
image's id can never be reused (OSSN-0075).
"""
import datetime

import sqlalchemy as sa

from glance.db import models
from glance.db import session as db_session

# Children before parents; images are never purged here.
TABLES = ("image_properties", "image_tags", "image_locations",
          "image_members", "tasks")
# Rows deleted at once: keeps each statement's IN list short.
CHUNK = 500


def purge_deleted_rows(age_in_days, max_rows):
    """Delete the old soft-deleted rows; {table: rows deleted}."""
    cutoff = models.utcnow() - datetime.timedelta(days=age_in_days)
    return {name: _purge_table(models.Base.metadata.tables[name], cutoff,
                               max_rows)
            for name in TABLES}


def _purge_table(table, cutoff, max_rows):
    query = (sa.select(table.c.id).where(table.c.deleted_at < cutoff)
             .order_by(table.c.deleted_at, table.c.id))
    if max_rows != -1:
        query = query.limit(max_rows)
    deleted = 0
    with db_session.connection(write=True) as conn:
        ids = conn.execute(query).scalars().all()
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            if table.name == "tasks":
                info = models.TaskInfo.__table__
                conn.execute(info.delete().where(info.c.task_id.in_(chunk)))
            deleted += conn.execute(
                table.delete().where(table.c.id.in_(chunk))).rowcount
    return deleted
