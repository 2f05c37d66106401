"""Helpers shared by the in-process unit tests (fixtures are in
conftest.py)."""
from glance.db import api as db


def new_image(ctx, **values):
    """An image record owned by ``ctx``'s project; raw/bare unless told."""
    values.setdefault("disk_format", "raw")
    values.setdefault("container_format", "bare")
    return db.image_create(dict(values, owner=ctx.project_id))


def run_spawned(spawned):
    """Run, in order, the tasks ``spawned_tasks`` recorded (and any they
    start); return the finished task records."""
    results = []
    while spawned:
        ex, task_id = spawned.pop(0)
        results.append(ex.run_now(task_id))
    return results
