"""Heartbeats and stall decisions on the database's clock.

An upload (an image ``saving``, or ``uploading`` before its data is
staged) and an import (the task holding an image's import lock) keep
their hold by refreshing ``updated_at`` of their row now and then; a
hold whose row stayed silent for longer than a timeout is taken over by
the next attempt, on whichever node it arrives. Several nodes make these
decisions, so they must not depend on the nodes' clocks agreeing: the
heartbeats here write the database server's time, the stall is judged
against the database server's time, and the takeover is one
compare-and-set (:func:`take_over_image`, :func:`take_over_task`) that
only one node wins, and that a heartbeat arriving meanwhile defeats.
"""
import datetime

import sqlalchemy as sa

from glance.db import common
from glance.db import models
from glance.db import session as db_session

IMAGE = models.Image.__table__
TASK = models.Task.__table__
FINISHED = ("success", "failure")

_NOW = {
    "sqlite": "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')",
    "postgresql": "SELECT timezone('utc', clock_timestamp())",
    "mysql": "SELECT UTC_TIMESTAMP(6)",
    "mariadb": "SELECT UTC_TIMESTAMP(6)",
}


def _now(conn):
    """The database server's current UTC time, as a naive datetime."""
    value = conn.exec_driver_sql(_NOW.get(conn.dialect.name,
                                          _NOW["postgresql"])).scalar()
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def now():
    """The database server's current UTC time."""
    with db_session.connection(write=False) as conn:
        return _now(conn)


def silent_for(updated_at):
    """How long ago ``updated_at`` was, on the database's clock."""
    return now() - updated_at


# --- heartbeats ---

def touch_image(image_id, status):
    """Refresh the image's ``updated_at`` (database time) if it is still
    ``status``; the new ``updated_at``, or None if it is not (or gone)."""
    with db_session.connection(write=True) as conn:
        stamp = _now(conn)
        done = conn.execute(sa.update(IMAGE).where(
            IMAGE.c.id == image_id, IMAGE.c.status == status,
            common.live(IMAGE.c)).values(updated_at=stamp))
        return stamp if done.rowcount == 1 else None


def touch_task(task_id):
    """Refresh a running task's ``updated_at`` (database time); False if
    it ended or is gone."""
    with db_session.connection(write=True) as conn:
        done = conn.execute(sa.update(TASK).where(
            TASK.c.id == task_id, TASK.c.status.not_in(FINISHED),
            common.live(TASK.c)).values(updated_at=_now(conn)))
        return done.rowcount == 1


def give_back_image(image_id, status, heartbeat, margin):
    """Put an image back to ``queued`` if it is still ``status`` and its
    ``updated_at`` is still the holder's last ``heartbeat`` (within
    ``margin``: MySQL may round it to the second); a takeover writes a
    later stamp, so an image taken over is left to its new holder.
    Whether it was given back."""
    with db_session.connection(write=True) as conn:
        done = conn.execute(sa.update(IMAGE).where(
            IMAGE.c.id == image_id, IMAGE.c.status == status,
            common.live(IMAGE.c),
            IMAGE.c.updated_at < heartbeat + margin,
        ).values(status="queued", updated_at=_now(conn)))
        return done.rowcount == 1


# --- takeovers ---

def take_over_image(image_id, status, timeout, unsized=False):
    """Claim a stalled hold on an image: True if the image is still
    ``status`` and silent for ``timeout`` seconds (database time), in
    which case its ``updated_at`` is refreshed so that no other node
    claims it too; with ``unsized``, only while its ``size`` is unset
    (a stage that has not finished)."""
    with db_session.connection(write=True) as conn:
        stamp = _now(conn)
        cutoff = stamp - datetime.timedelta(seconds=timeout)
        query = sa.update(IMAGE).where(
            IMAGE.c.id == image_id, IMAGE.c.status == status,
            common.live(IMAGE.c),
            sa.func.coalesce(IMAGE.c.updated_at,
                             IMAGE.c.created_at) < cutoff)
        if unsized:
            query = query.where(IMAGE.c.size.is_(None))
        return conn.execute(query.values(updated_at=stamp)).rowcount == 1


def take_over_task(task_id, timeout):
    """Claim the lock of a stalled task: True if the task is still running
    and silent for ``timeout`` seconds (database time); its ``updated_at``
    is refreshed so that no other node claims it too."""
    with db_session.connection(write=True) as conn:
        stamp = _now(conn)
        cutoff = stamp - datetime.timedelta(seconds=timeout)
        done = conn.execute(sa.update(TASK).where(
            TASK.c.id == task_id, TASK.c.status.not_in(FINISHED),
            common.live(TASK.c),
            sa.func.coalesce(TASK.c.updated_at, TASK.c.created_at) < cutoff,
        ).values(updated_at=stamp))
        return done.rowcount == 1
