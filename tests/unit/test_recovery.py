"""Releasing what a dead glance-api worker held (glance.services.recovery)
on SQLite and a file store: uploads, stages and imports recorded with
glance.common.claims are given back, their partial data removed.

The supervisor's side (forking the janitor that calls release_claims)
is in test_server.py; the real thing, with SIGKILL and a hung worker, in
tests/functional/test_server_faults.py.
"""
import os

import futurist
import pytest
from oslo_config import cfg

from glance.async_ import executor
from glance.async_.flows import api_image_import as flow
from glance.common import claims
from glance.db import api as db
from glance.services import image_data
from glance.services import image_import
from glance.services import recovery
from glance import task_records
from glance import store
from tests.unit.helpers import new_image

CONF = cfg.CONF
DATA = b"recovered" * 100
DEAD = 4242   # the dead worker's pid


@pytest.fixture
def env(sqlite_db, file_store, tmp_path, monkeypatch):
    """(datadir, claim registry, futures of the tasks started: executor,
    task id, future, for the test to settle)."""
    futures = []

    def begin_processing(self, task_id):
        future = futurist.Future()
        futures.append((self, task_id, future))
        return future

    monkeypatch.setattr(executor.TaskExecutor, "begin_processing",
                        begin_processing)
    registry = claims.ClaimRegistry(str(tmp_path / "claims"))
    yield file_store, registry, futures
    claims.activate(None)


def left_by(registry, pid, kind, *parts):
    """A claim record as dead worker ``pid`` left it."""
    directory = os.path.join(registry.directory, str(pid))
    os.makedirs(directory, exist_ok=True)
    name = ".".join((kind,) + parts)
    open(os.path.join(directory, name), "w").close()


def test_a_dead_upload_is_released(env, ctx):
    datadir, registry, _futures = env
    image = new_image(ctx)
    db.image_update(image["id"], {"status": "saving"})
    datadir.mkdir(exist_ok=True)
    (datadir / image["id"]).write_bytes(b"partial")
    left_by(registry, DEAD, "upload", image["id"], "saving")

    assert recovery.release_claims(registry, DEAD) == 1
    assert db.image_get(image["id"])["status"] == "queued"
    assert not (datadir / image["id"]).exists()
    assert registry.claims_of(DEAD) == []
    # the retry works
    got = image_data.upload(ctx, image["id"], [DATA], len(DATA))
    assert got["status"] == "active"


def test_an_upload_that_ended_is_left_alone(env, ctx):
    _datadir, registry, _futures = env
    image = new_image(ctx)
    image_data.upload(ctx, image["id"], [DATA], len(DATA))
    left_by(registry, DEAD, "upload", image["id"], "saving")
    assert recovery.release_claims(registry, DEAD) == 0
    got = db.image_get(image["id"])
    assert got["status"] == "active" and got["locations"]


def test_a_dead_stage_is_released_a_finished_one_kept(env, ctx):
    _datadir, registry, _futures = env
    dead, done = new_image(ctx), new_image(ctx)
    db.image_update(dead["id"], {"status": "uploading"})
    path = store.staging_path(dead["id"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").close()
    image_data.stage(ctx, done["id"], [DATA], len(DATA))
    left_by(registry, DEAD, "stage", dead["id"], "uploading")
    left_by(registry, DEAD, "stage", done["id"], "uploading")

    assert recovery.release_claims(registry, DEAD) == 1
    assert db.image_get(dead["id"])["status"] == "queued"
    assert not os.path.exists(path)
    got = db.image_get(done["id"])
    assert got["status"] == "uploading" and got["size"] == len(DATA)
    assert os.path.exists(store.staging_path(done["id"]))


def test_claims_are_recorded_while_held(env, ctx):
    _datadir, registry, futures = env
    claims.activate(registry)
    me = os.getpid()
    image = new_image(ctx)
    seen = []

    def body():
        seen.append(registry.claims_of(me))
        yield DATA

    image_data.upload(ctx, image["id"], body(), len(DATA))
    assert seen == [[("upload", [image["id"], "saving"])]]
    assert registry.claims_of(me) == []

    staged = new_image(ctx)
    image_data.stage(ctx, staged["id"], [DATA], len(DATA))
    assert registry.claims_of(me) == []
    task_id = image_import.import_image(
        ctx, staged["id"], {"method": {"name": "glance-direct"}})
    assert registry.claims_of(me) == [("import", [staged["id"], task_id])]
    futures[0][2].set_result(None)     # the task ended
    assert registry.claims_of(me) == []


def test_a_dead_glance_direct_import_is_released(env, ctx):
    datadir, registry, futures = env
    image = new_image(ctx)
    image_data.stage(ctx, image["id"], [DATA], len(DATA))
    task_id = image_import.import_image(
        ctx, image["id"], {"method": {"name": "glance-direct"}})
    task_records.start(task_id)
    datadir.mkdir(exist_ok=True)
    (datadir / image["id"]).write_bytes(b"half")   # its partial write
    left_by(registry, DEAD, "import", image["id"], task_id)

    assert recovery.release_claims(registry, DEAD) == 1
    got = db.image_get(image["id"])
    assert got["status"] == "uploading" and got["size"] == len(DATA)
    assert flow.LOCK not in got["properties"]
    task = db.task_get(task_id)
    assert task["status"] == "failure"
    assert task["message"] == image_import.DEAD_WORKER
    assert not (datadir / image["id"]).exists()
    assert os.path.exists(store.staging_path(image["id"]))
    # the retry works
    futures.clear()
    new = image_import.import_image(
        ctx, image["id"], {"method": {"name": "glance-direct"}})
    ex, spawned, _future = futures[0]
    assert spawned == new
    assert ex.run_now(new)["status"] == "success"
    assert db.image_get(image["id"])["status"] == "active"


def test_a_dead_import_with_locations_loses_them(env, ctx):
    """Killed after its first store of two: the image is not active, so
    the location (and data) the import added go with the lock."""
    datadir, registry, _futures = env
    image = new_image(ctx)
    image_data.stage(ctx, image["id"], [DATA], len(DATA))
    task_id = image_import.import_image(
        ctx, image["id"], {"method": {"name": "glance-direct"}})
    datadir.mkdir(exist_ok=True)
    (datadir / image["id"]).write_bytes(DATA)
    db.image_location_add(image["id"], "file://%s/%s" % (datadir,
                                                        image["id"]))
    assert image_import.release_lock(image["id"], task_id,
                                     image_import.DEAD_WORKER)
    got = db.image_get(image["id"])
    assert got["status"] == "uploading" and got["locations"] == []
    assert not (datadir / image["id"]).exists()


def test_a_dead_download_import_requeues(env, ctx):
    _datadir, registry, _futures = env
    image = new_image(ctx)
    task = task_records.create(ctx, "api_image_import", {
        "image_id": image["id"], "backend": [None],
        "import_req": {"method": {"name": "web-download",
                                  "uri": "http://x/y"}}})
    image_import._lock(image, task["id"], "web-download", [None])
    path = store.staging_path(image["id"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").close()     # half downloaded
    left_by(registry, DEAD, "import", image["id"], task["id"])
    assert recovery.release_claims(registry, DEAD) == 1
    got = db.image_get(image["id"])
    assert got["status"] == "queued" and flow.LOCK not in got["properties"]
    assert not os.path.exists(path)


def test_a_lock_no_longer_held_is_left_alone(env, ctx):
    _datadir, registry, _futures = env
    image = new_image(ctx)
    image_data.stage(ctx, image["id"], [DATA], len(DATA))
    task_id = image_import.import_image(
        ctx, image["id"], {"method": {"name": "glance-direct"}})
    # the task never ran: its lock was taken over by another import
    other = task_records.create(ctx, "api_image_import", {})
    props = dict(db.image_get(image["id"])["properties"])
    props[flow.LOCK] = other["id"]
    db.image_update(image["id"], {"properties": props})
    assert image_import.release_lock(image["id"], task_id,
                                     image_import.DEAD_WORKER) is None
    assert db.task_get(task_id)["status"] == "failure"
    got = db.image_get(image["id"])
    assert got["status"] == "importing"
    assert got["properties"][flow.LOCK] == other["id"]


def test_one_failed_release_does_not_stop_the_others(env, ctx,
                                                     monkeypatch):
    _datadir, registry, _futures = env
    image = new_image(ctx)
    db.image_update(image["id"], {"status": "saving"})
    left_by(registry, DEAD, "import", "bad", "task")
    left_by(registry, DEAD, "unknown", "x")
    left_by(registry, DEAD, "upload", image["id"], "saving")
    monkeypatch.setitem(recovery.RELEASES, "import", lambda *a: 1 / 0)
    assert recovery.release_claims(registry, DEAD) == 1
    assert db.image_get(image["id"])["status"] == "queued"
    assert registry.claims_of(DEAD) == []
