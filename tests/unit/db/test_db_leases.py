"""Heartbeats and takeovers on the database's clock (glance.db.leases):
a node whose clock is off by an hour neither takes over a live hold nor
keeps a dead one alive."""
import datetime
import uuid

import pytest
import sqlalchemy as sa

from glance.db import api
from glance.db import leases
from glance.db import models
from glance.db import session
from glance.services import image_data
from glance.services import image_import
from tests.functional.server import wait_for

HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def skewed(monkeypatch):
    """Set this node's clock ``delta`` away from the database's."""
    real = models.utcnow

    def skew(delta):
        monkeypatch.setattr(models, "utcnow", lambda: real() + delta)
    return skew


def new_image(status="queued", **values):
    return api.image_create(dict({"id": str(uuid.uuid4()), "status": status,
                                  "owner": "p", "disk_format": "raw",
                                  "container_format": "bare"}, **values))


def test_database_now_is_utc(db):
    assert abs(leases.now() - models.utcnow()) < datetime.timedelta(
        seconds=5)


def test_touch_writes_database_time(db, skewed):
    skewed(-HOUR)
    image = new_image("saving")
    assert image["updated_at"] < leases.now() - HOUR / 2
    stamp = leases.touch_image(image["id"], "saving")
    assert abs(stamp - leases.now()) < datetime.timedelta(seconds=5)
    assert api.image_get(image["id"])["updated_at"] == stamp
    assert leases.touch_image(image["id"], "queued") is None


@pytest.mark.parametrize("delta", [HOUR, -HOUR])
def test_live_upload_not_taken_over_whatever_the_node_clock(db, skewed,
                                                            conf, delta):
    conf(saving_stall_timeout=60)
    skewed(delta)
    image = new_image()
    image = image_data._claim(image, "saving")
    image_data.Ownership(image).end()     # its first heartbeat
    assert not image_data._stalled(api.image_get(image["id"]), "saving")
    assert not leases.take_over_image(image["id"], "saving", 60)


def test_silent_upload_taken_over_once(db, conf):
    conf(saving_stall_timeout=1)
    image = new_image("saving")
    leases.touch_image(image["id"], "saving")
    assert not leases.take_over_image(image["id"], "saving", 1)
    wait_for(lambda: image_data._stalled(api.image_get(image["id"]),
                                         "saving"),
             message="the upload to be silent for 1 s of database time")
    assert leases.take_over_image(image["id"], "saving", 1)
    assert not leases.take_over_image(image["id"], "saving", 1)  # once


def test_staged_image_is_not_a_stalled_stage(db):
    image = new_image("uploading", size=3)
    unstaged = new_image("uploading")        # silent as long, no size
    wait_for(lambda: leases.take_over_image(unstaged["id"], "uploading", 1,
                                            unsized=True),
             message="a silent stage to be taken over")
    assert not leases.take_over_image(image["id"], "uploading", 1,
                                      unsized=True)


@pytest.mark.parametrize("delta", [HOUR, -HOUR])
def test_import_lock_judged_on_database_time(db, skewed, conf, delta):
    conf(import_lock_timeout=60, group="task")
    skewed(delta)
    task = api.task_create({"type": "api_image_import",
                            "status": "processing", "owner": "p",
                            "input": {}})
    leases.touch_task(task["id"])  # the import's heartbeat
    image = new_image("importing", properties={
        "os_glance_import_task": task["id"]})
    with pytest.raises(Exception) as e:
        image_import._check_lock(api.image_get(image["id"]))
    assert getattr(e.value, "code", None) == 409


def test_task_takeover_claimed_once(db):
    task = api.task_create({"type": "api_image_import",
                            "status": "processing", "owner": "p",
                            "input": {}})
    assert leases.touch_task(task["id"])
    assert not leases.take_over_task(task["id"], 1)
    wait_for(lambda: leases.take_over_task(task["id"], 1),
             message="the task to be silent for 1 s of database time")
    assert not leases.take_over_task(task["id"], 1)
    api.task_update(task["id"], {"status": "success"})
    assert not leases.touch_task(task["id"])


def test_give_back_only_to_an_untouched_hold(db):
    margin = datetime.timedelta(seconds=1)
    image = new_image("saving")
    stamp = leases.touch_image(image["id"], "saving")
    assert leases.give_back_image(image["id"], "saving", stamp, margin)
    assert api.image_get(image["id"])["status"] == "queued"
    # a later holder's heartbeat (as a takeover writes) keeps its image
    taken = new_image("saving")
    old = leases.touch_image(taken["id"], "saving")
    with session.connection(write=True) as conn:
        conn.execute(sa.update(models.Image.__table__).where(
            models.Image.__table__.c.id == taken["id"]).values(
                updated_at=old + 2 * margin))
    assert not leases.give_back_image(taken["id"], "saving", old, margin)
    assert api.image_get(taken["id"])["status"] == "saving"
    assert not leases.give_back_image(image["id"], "saving", stamp, margin)
