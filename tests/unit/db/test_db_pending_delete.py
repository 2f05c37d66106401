"""Delayed delete's queries: the scrub queue's compare-and-sets, restore."""
import datetime

import pytest

from glance.common import exception
from glance.db import api
from glance.db import models


def _pending(db, locations=2, **values):
    image = api.image_create(dict({"name": "p", "status": "active",
                                   "properties": {"a": "1"},
                                   "tags": ["t"]}, **values))
    for n in range(locations):
        api.image_location_add(image["id"], "file:///x/%s-%d"
                               % (image["id"], n))
    api.image_member_create(image["id"], "other")
    deleted = api.image_destroy_delayed(image["id"])
    assert deleted["status"] == "pending_delete"
    return image["id"]


def _queue(cutoff=None):
    cutoff = cutoff or models.utcnow() + datetime.timedelta(seconds=1)
    return {i["id"]: i for i in api.pending_images(cutoff)}


def test_pending_image_is_hidden_and_queued(db):
    iid = _pending(db)
    with pytest.raises(exception.NotFound):
        api.image_get(iid)
    queued = _queue()[iid]
    assert [loc["status"] for loc in queued["locations"]] == [
        "pending_delete", "pending_delete"]
    past = models.utcnow() - datetime.timedelta(hours=1)
    assert iid not in _queue(past)      # scrub_time not reached


def test_one_claim_wins(db):
    iid = _pending(db, locations=1)
    loc = _queue()[iid]["locations"][0]
    assert api.location_claim(loc) is True
    assert api.location_claim(loc) is False      # the second scrubber
    # while claimed it is not stale: nobody else gets it
    claimed = _queue()[iid]["locations"][0]
    assert claimed["status"] == "deleting"
    assert api.location_claim(claimed, stale_after=3600) is False
    assert api.image_scrubbed(iid) is False      # a location still waits
    api.location_release(loc["id"], scrubbed=True)
    assert api.image_scrubbed(iid) is True
    assert iid not in _queue()


def test_stale_claim_is_taken_over_once(db):
    iid = _pending(db, locations=1)
    loc = _queue()[iid]["locations"][0]
    assert api.location_claim(loc)
    stale = _queue()[iid]["locations"][0]
    assert api.location_claim(stale, stale_after=0) is True
    assert api.location_claim(stale, stale_after=0) is False


def test_failed_delete_goes_back_to_the_queue(db):
    iid = _pending(db, locations=1)
    loc = _queue()[iid]["locations"][0]
    api.location_claim(loc)
    api.location_release(loc["id"], scrubbed=False)
    assert _queue()[iid]["locations"][0]["status"] == "pending_delete"


def test_restore_brings_back_what_was_deleted_with_it(db):
    iid = _pending(db)
    image = api.image_restore(iid)
    assert image["status"] == "active" and image["deleted"] is False
    assert image["properties"] == {"a": "1"} and image["tags"] == ["t"]
    assert [loc["status"] for loc in image["locations"]] == ["active"] * 2
    assert [m["member"] for m in api.image_member_find(image_id=iid)] == [
        "other"]
    with pytest.raises(exception.Conflict):
        api.image_restore(iid)


def test_restore_keeps_scrubbed_locations_deleted(db):
    iid = _pending(db)
    first, second = _queue()[iid]["locations"]
    api.location_claim(first)                      # being scrubbed
    image = api.image_restore(iid)
    assert [loc["id"] for loc in image["locations"]] == [second["id"]]
    api.location_release(first["id"], scrubbed=True)
    assert api.image_scrubbed(iid) is False        # restored: stays


def test_restore_refuses_when_no_data_is_left(db):
    iid = _pending(db, locations=1)
    loc = _queue()[iid]["locations"][0]
    api.location_claim(loc)
    with pytest.raises(exception.Conflict):
        api.image_restore(iid)
    assert iid in _queue()                         # nothing changed
