"""glance-direct, web-download and copy-image flows run in-process
(executor.run_now) on SQLite and file stores; the import lock."""
import datetime
import hashlib

import pytest
from oslo_config import cfg

from glance.async_.flows import api_image_import as flow
from glance.common import exception
from glance.db import api as db
from glance.db import session as db_session
from glance.services import image_data
from glance.services import image_import
from glance import task_records
from glance import store
from tests.unit.helpers import new_image
from tests.unit.helpers import run_spawned

CONF = cfg.CONF
DATA = b"import-data" * 100


@pytest.fixture
def env(sqlite_db, file_store, spawned_tasks):
    """This module's database, a file store and staging; the tasks the
    executor was given, to run with ``run_spawned``."""
    return spawned_tasks


def test_glance_direct(env, ctx):
    image = new_image(ctx)
    image_data.stage(ctx, image["id"], [DATA], len(DATA))
    task_id = image_import.import_image(
        ctx, image["id"], {"method": {"name": "glance-direct"}})
    got = db.image_get(image["id"])
    assert got["status"] == "importing"
    assert got["properties"][flow.LOCK] == task_id
    [task] = run_spawned(env)
    assert task["status"] == "success", task["message"]
    assert task["result"] == {"image_id": image["id"]}
    assert task["expires_at"] is not None
    got = db.image_get(image["id"])
    assert got["status"] == "active"
    assert got["checksum"] == hashlib.md5(DATA).hexdigest()
    assert got["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert flow.LOCK not in got["properties"]
    assert not store.delete_staged_data(image["id"])



def test_active_is_never_seen_with_the_lock(env, ctx, monkeypatch):
    """The image goes active and lets go of its lock in one update, so a
    client that sees it active may copy it at once (no 409)."""
    image = new_image(ctx)
    image_data.stage(ctx, image["id"], [DATA], len(DATA))
    image_import.import_image(ctx, image["id"],
                              {"method": {"name": "glance-direct"}})
    seen = []
    real_update = db.image_update

    def watching_update(image_id, values, **kw):
        result = real_update(image_id, values, **kw)
        seen.append((result["status"], flow.LOCK in result["properties"]))
        return result
    monkeypatch.setattr(db, "image_update", watching_update)
    [task] = run_spawned(env)
    assert task["status"] == "success", task["message"]
    assert ("active", False) in seen
    assert ("active", True) not in seen


def age_task(task_id, seconds):
    """Make task ``task_id`` look silent for ``seconds``."""
    import sqlalchemy as sa
    from glance.db import models
    past = task_records.utcnow() - datetime.timedelta(seconds=seconds)
    with db_session.writer() as session:
        session.execute(sa.update(models.Task.__table__)
                        .where(models.Task.id == task_id)
                        .values(updated_at=past))


def test_live_lock_refuses_second_import(env, ctx):
    image = new_image(ctx)
    image_data.stage(ctx, image["id"], [DATA], len(DATA))
    image_import.import_image(ctx, image["id"],
                              {"method": {"name": "glance-direct"}})
    with pytest.raises(exception.Conflict):
        image_import.import_image(ctx, image["id"],
                                  {"method": {"name": "glance-direct"}})


def test_dead_import_lock_taken_over(env, ctx, conf):
    """A worker died mid-import: after import_lock_timeout the next
    import takes the lock over and the old task is failed."""
    conf(group="task", import_lock_timeout=60)
    image = new_image(ctx)
    image_data.stage(ctx, image["id"], [DATA], len(DATA))
    old = image_import.import_image(ctx, image["id"],
                                    {"method": {"name": "glance-direct"}})
    env.clear()                       # the worker died: never runs
    db.task_update(old, {"status": "processing"})
    age_task(old, 30)
    with pytest.raises(exception.Conflict):
        image_import.import_image(ctx, image["id"],
                                  {"method": {"name": "glance-direct"}})
    age_task(old, 61)
    new = image_import.import_image(ctx, image["id"],
                                    {"method": {"name": "glance-direct"}})
    assert new != old
    assert db.task_get(old)["status"] == "failure"
    assert db.task_get(old)["message"] == "Expired lock preempted"
    assert db.image_get(image["id"])["properties"][flow.LOCK] == new
    [task] = run_spawned(env)
    assert task["status"] == "success", task["message"]
    assert db.image_get(image["id"])["status"] == "active"


def test_dead_import_without_staged_data_requeues(env, ctx, conf):
    conf(group="task", import_lock_timeout=60)
    image = new_image(ctx)
    image_data.stage(ctx, image["id"], [DATA], len(DATA))
    old = image_import.import_image(ctx, image["id"],
                                    {"method": {"name": "glance-direct"}})
    env.clear()
    store.delete_staged_data(image["id"])
    age_task(old, 120)
    with pytest.raises(exception.Conflict) as info:
        image_import.import_image(ctx, image["id"],
                                  {"method": {"name": "glance-direct"}})
    assert "staged" in str(info.value)
    got = db.image_get(image["id"])
    assert got["status"] == "queued"
    assert flow.LOCK not in got["properties"]


def test_lost_lock_stops_without_touching_image(env, ctx):
    image = new_image(ctx)
    image_data.stage(ctx, image["id"], [DATA], len(DATA))
    image_import.import_image(ctx, image["id"],
                              {"method": {"name": "glance-direct"}})
    props = dict(db.image_get(image["id"])["properties"])
    props[flow.LOCK] = "someone-else"
    db.image_update(image["id"], {"properties": props})
    [task] = run_spawned(env)
    assert task["status"] == "failure"
    assert "taken over" in task["message"]
    got = db.image_get(image["id"])
    assert got["status"] == "importing"
    assert got["properties"][flow.LOCK] == "someone-else"


def test_deleted_image_fails_task(env, ctx):
    image = new_image(ctx)
    image_data.stage(ctx, image["id"], [DATA], len(DATA))
    image_import.import_image(ctx, image["id"],
                              {"method": {"name": "glance-direct"}})
    db.image_destroy(image["id"])
    [task] = run_spawned(env)
    assert task["status"] == "failure"
    assert "not found" in task["message"]


def test_unexpected_error_is_internal_error(env, ctx, monkeypatch):
    image = new_image(ctx)
    image_data.stage(ctx, image["id"], [DATA], len(DATA))
    image_import.import_image(ctx, image["id"],
                              {"method": {"name": "glance-direct"}})
    monkeypatch.setattr(flow, "_import",
                        lambda work, image: 1 / 0)
    [task] = run_spawned(env)
    assert task["status"] == "failure"
    assert task["message"] == "Task failed due to Internal Error"
    got = db.image_get(image["id"])
    assert got["status"] == "queued"
    assert flow.LOCK not in got["properties"]
    assert not store.delete_staged_data(image["id"])


def test_quota_enforced_on_import(env, ctx, conf):
    conf(user_storage_quota=str(len(DATA) - 1))
    image = new_image(ctx)
    with pytest.raises(exception.LimitExceeded):
        image_data.stage(ctx, image["id"], [DATA], len(DATA))


def test_image_deleted_mid_import_leaves_no_data(env, ctx, monkeypatch):
    image = new_image(ctx)
    image_data.stage(ctx, image["id"], [DATA], len(DATA))
    image_import.import_image(ctx, image["id"],
                              {"method": {"name": "glance-direct"}},)
    real = flow._to_store

    def then_delete(work, image, store_id, path, activate):
        real(work, image, store_id, path, False)
        db.image_destroy(image["id"])
        raise flow.ImportFailed(image_id=image["id"], reason="gone")
    monkeypatch.setattr(flow, "_to_store", then_delete)
    [task] = run_spawned(env)
    assert task["status"] == "failure"
    datadir = CONF.glance_store.filesystem_store_datadir
    import os
    assert image["id"] not in os.listdir(datadir)
    assert not store.delete_staged_data(image["id"])


def test_taking_a_finished_copy_lock_over_keeps_its_data(env, ctx,
                                                         monkeypatch):
    """A copy recorded its location, then finished, while a second import
    request, having read the image before that location, found the lock
    held by a finished task: the data the copy wrote stays."""
    image = new_image(ctx)
    task = task_records.create(ctx, "api_image_import",
                               {"image_id": image["id"]},
                               image_id=image["id"])
    stale = db.image_update(image["id"], {"properties": {
        flow.LOCK: task["id"], flow.IMPORTING: "slow"}})
    db.image_location_add(image["id"], "file:///slow/" + image["id"],
                          metadata={"store": "slow"})
    db.task_update(task["id"], {"status": "success"})
    discarded = []
    monkeypatch.setattr(store, "discard_leftover_data",
                        lambda *args: discarded.append(args))
    assert image_import._check_lock(stale) == task["id"]
    got = image_import._undo_stale(stale, task["id"], "stale")
    assert discarded == []
    assert flow.LOCK not in got["properties"]
    assert db.task_get(task["id"])["status"] == "success"


def test_a_lock_let_go_meanwhile_is_not_undone(env, ctx, monkeypatch):
    image = new_image(ctx)
    task = task_records.create(ctx, "api_image_import",
                               {"image_id": image["id"]},
                               image_id=image["id"])
    stale = db.image_update(image["id"], {"properties": {
        flow.LOCK: task["id"], flow.IMPORTING: "slow"}})
    db.image_update(image["id"], {"properties": {flow.IMPORTING: ""}},
                    purge_props=True)
    discarded = []
    monkeypatch.setattr(store, "discard_leftover_data",
                        lambda *args: discarded.append(args))
    got = image_import._undo_stale(stale, task["id"], "stale")
    assert discarded == [] and flow.LOCK not in got["properties"]
