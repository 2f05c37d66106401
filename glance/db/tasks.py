"""Asynchronous task records (``tasks`` plus their ``task_info``).

A task dict has the ``tasks`` columns plus ``input``, ``result`` and
``message`` from ``task_info``; one joined statement reads both.
"""
import uuid

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from glance.common import exception
from glance.db import common
from glance.db import models
from glance.db import session as db_session

Task = models.Task
TaskInfo = models.TaskInfo
TASK = Task.__table__
TASK_INFO = TaskInfo.__table__

TASK_COLUMNS = tuple(c.name for c in TASK.columns)
INFO_KEYS = ("input", "result", "message")
_READ_ONLY = frozenset(("deleted", "deleted_at"))
_SET_ON_CREATE_ONLY = frozenset(("id", "created_at"))
SORT_KEYS = frozenset(("id", "type", "status", "owner", "created_at",
                       "updated_at", "expires_at"))
NULLABLE_SORT_KEYS = frozenset(("owner", "updated_at", "expires_at"))
FILTERS = frozenset(("status", "type", "image_id"))


def _split(values, creating):
    base, info = {}, {}
    for key, value in (values or {}).items():
        if key in INFO_KEYS:
            info[key] = value
        elif key in _READ_ONLY or (
                not creating and key in _SET_ON_CREATE_ONLY):
            continue
        elif key in TASK_COLUMNS:
            base[key] = value
        else:
            raise exception.Invalid("Unknown task attribute %r" % key)
    return base, info


def _task_dict(task, info):
    result = {name: getattr(task, name) for name in TASK_COLUMNS}
    result["input"] = info.input if info is not None else None
    result["result"] = info.result if info is not None else None
    result["message"] = (info.message or "") if info is not None else ""
    return result


def _query():
    return (sa.select(Task, TaskInfo)
            .outerjoin(TaskInfo, TaskInfo.task_id == Task.id))


def _task(session, task_id, include_deleted=False):
    query = _query().where(Task.id == task_id)
    if not include_deleted:
        query = query.where(common.live(Task))
    found = session.execute(query).first()
    if found is None:
        raise exception.TaskNotFound(task_id=task_id)
    return _task_dict(*found)


def task_create(values):
    """Create a task (status 'pending' unless given); its dict."""
    base, info = _split(values, creating=True)
    if not base.get("type"):
        raise exception.Invalid("A task needs a type")
    now = models.utcnow()
    task_id = base.get("id") or str(uuid.uuid4())
    base.update(id=task_id, deleted=False, deleted_at=None)
    base["status"] = base.get("status") or "pending"
    base["created_at"] = base.get("created_at") or now
    base["updated_at"] = base.get("updated_at") or base["created_at"]
    info = {"task_id": task_id, "input": info.get("input") or {},
            "result": info.get("result"),
            "message": info.get("message") or ""}
    try:
        with db_session.writer() as session:
            session.execute(sa.insert(TASK).values(**base))
            session.execute(sa.insert(TASK_INFO).values(**info))
    except sa_exc.IntegrityError as e:
        raise exception.Duplicate(
            "Task %s already exists or lacks a required attribute"
            % task_id) from e
    task = {name: base.get(name) for name in TASK_COLUMNS}
    task.update((key, info[key]) for key in INFO_KEYS)
    return task


def task_get(task_id, include_deleted=False):
    """The dict of a task (TaskNotFound if absent or deleted)."""
    with db_session.reader() as session:
        return _task(session, task_id, include_deleted=include_deleted)


def task_get_all(filters=None, marker=None, limit=None,
                 sort_key="created_at", sort_dir="desc", project_id=None,
                 is_admin=False):
    """A page of the live tasks a viewer may see (its own, or all: admin).

    ``filters`` may hold ``status``, ``type`` and ``image_id``.
    """
    limit = common.check_limit(limit)
    keys, dirs = common.sort_spec(sort_key, sort_dir, SORT_KEYS,
                                  "created_at", ("created_at", "id"))
    conditions = [common.live(Task), _viewer(project_id, is_admin)]
    for key, value in (filters or {}).items():
        if key not in FILTERS:
            raise exception.InvalidParameterValue(
                value=key, param="filters",
                extra_msg="tasks filter on %s" % ", ".join(sorted(FILTERS)))
        conditions.append(getattr(Task, key) == value)
    if limit == 0:
        return []
    high = common.nulls_high(db_session.get_engine().dialect.name)
    with db_session.reader() as session:
        if marker is not None:
            marker_row = session.scalars(sa.select(Task).where(
                Task.id == marker, common.live(Task),
                _viewer(project_id, is_admin))).first()
            if marker_row is None:
                raise exception.NotFound("Marker task %s not found" % marker)
            conditions.append(common.after_marker(Task, marker_row, keys,
                                                  dirs, high))
        query = (_query().where(*conditions)
                 .order_by(*common.order_by(Task, keys, dirs,
                                            NULLABLE_SORT_KEYS, high)))
        if limit is not None:
            query = query.limit(limit)
        return [_task_dict(*found) for found in session.execute(query)]


def _viewer(project_id, is_admin):
    if is_admin:
        return sa.true()
    if project_id is None:
        return sa.false()
    return Task.owner == project_id


def task_update(task_id, values):
    """Change a task (and its input/result/message); its new dict."""
    base, info = _split(values, creating=False)
    base["updated_at"] = models.utcnow()
    with db_session.writer() as session:
        done = session.execute(sa.update(TASK)
                               .where(Task.id == task_id, common.live(Task))
                               .values(**base))
        if done.rowcount != 1:
            raise exception.TaskNotFound(task_id=task_id)
        if info:
            _save_info(session, task_id, info)
        return _task(session, task_id)


def _save_info(session, task_id, info):
    done = session.execute(sa.update(TASK_INFO)
                           .where(TASK_INFO.c.task_id == task_id)
                           .values(**info))
    if done.rowcount == 0:
        session.execute(sa.insert(TASK_INFO).values(task_id=task_id, **info))


def task_delete(task_id):
    """Soft-delete a task; its dict as it was, marked deleted."""
    now = models.utcnow()
    with db_session.writer() as session:
        task = _task(session, task_id)
        session.execute(sa.update(TASK).where(Task.id == task_id)
                        .values(deleted=True, deleted_at=now,
                                updated_at=now))
    task.update(deleted=True, deleted_at=now, updated_at=now)
    return task


def tasks_delete_expired(now=None):
    """Soft-delete live tasks whose ``expires_at`` is before ``now``;
    how many were deleted."""
    now = now or models.utcnow()
    with db_session.writer() as session:
        done = session.execute(
            sa.update(TASK)
            .where(common.live(Task), Task.expires_at.is_not(None),
                   Task.expires_at < now)
            .values(deleted=True, deleted_at=now, updated_at=now))
        return done.rowcount


def tasks_get_by_image(image_id):
    """Live, unexpired tasks about an image, oldest first."""
    now = models.utcnow()
    query = (_query()
             .where(Task.image_id == image_id, common.live(Task),
                    sa.or_(Task.expires_at.is_(None),
                           Task.expires_at >= now))
             .order_by(Task.created_at, Task.id))
    with db_session.reader() as session:
        return [_task_dict(*found) for found in session.execute(query)]
