"""The import flow refuses unsafe data whatever way it was staged, and a
refusal by the format inspection fails the whole import (run in-process
on SQLite and a file store)."""
import os
import types

import pytest
from oslo_config import cfg

from glance.async_.flows import api_image_import as flow
from glance.db import api as db
from glance.services import image_data
from glance.services import image_import
from glance import store
from tests import disk_images as di

CONF = cfg.CONF


@pytest.fixture
def env(sqlite_db, file_store, spawned_tasks):
    """A file store in ``tmp_path/images``; tasks run when asked."""
    return types.SimpleNamespace(spawned=spawned_tasks, images=file_store)


def staged_in_a_container(ctx, data, disk_format="raw"):
    """Stage ``data`` as an 'ova' (not inspected: not a bare disk), then
    declare it a bare disk before importing it."""
    image = db.image_create({"disk_format": disk_format,
                             "container_format": "ova",
                             "owner": ctx.project_id})
    image_data.stage(ctx, image["id"], [data], len(data))
    db.image_update(image["id"], {"container_format": "bare"})
    return image


def run_import(env, ctx, image, **body):
    body.setdefault("method", {"name": "glance-direct"})
    image_import.import_image(ctx, image["id"], body)
    [(ex, task_id)] = env.spawned
    env.spawned.clear()
    return ex.run_now(task_id)


def test_unsafe_data_staged_uninspected_is_refused_at_import(env, ctx):
    image = staged_in_a_container(ctx, di.gpt_disk(bad="start_lba"))
    task = run_import(env, ctx, image)
    assert task["status"] == "failure"
    assert "gpt image failed safety checks" in task["message"]
    assert "invalid start LBA" in task["message"]
    got = db.image_get(image["id"])
    assert got["status"] == "queued" and got["locations"] == []
    assert flow.LOCK not in got["properties"]
    assert not (env.images.exists() and os.listdir(env.images))
    assert not store.delete_staged_data(image["id"])


def test_format_mismatch_refused_at_import(env, ctx):
    image = staged_in_a_container(ctx, di.qcow2(), disk_format="raw")
    task = run_import(env, ctx, image)
    assert task["status"] == "failure"
    assert "qcow2 format, not the declared disk_format raw" in \
        task["message"]


def test_safe_data_imported(env, ctx):
    image = staged_in_a_container(ctx, di.gpt_disk())
    task = run_import(env, ctx, image)
    assert task["status"] == "success", task["message"]
    got = db.image_get(image["id"])
    assert got["status"] == "active" and got["virtual_size"] == di.MiB


def test_refused_copy_fails_the_whole_copy(monkeypatch):
    done = []
    work = types.SimpleNamespace(
        image_id="img", context=None, all_must_succeed=False,
        store_done=lambda store_id, ok: done.append((store_id, ok)))
    monkeypatch.setattr(store, "read_image",
                        lambda *a, **kw: (iter([b"x"]), 1))

    def refuse(*args, **kwargs):
        raise store.InvalidImageData(reason="the gpt image failed safety "
                                            "checks")

    monkeypatch.setattr(store, "write_image", refuse)
    with pytest.raises(flow.ImportFailed, match="safety checks"):
        flow._copy_to(work, {"size": 1}, [{"url": "file:///a"},
                                          {"url": "file:///b"}], "slow")
    assert done == [("slow", False)]


def test_copy_to_a_store_holding_the_image_writes_nothing(monkeypatch):
    """A copy that waited for an earlier copy's lock finds its store done:
    it succeeds without writing (a write would hit the earlier copy's
    file)."""
    done = []
    work = types.SimpleNamespace(
        image_id="img", context=None, all_must_succeed=True,
        store_done=lambda store_id, ok: done.append((store_id, ok)))

    def no_io(*args, **kwargs):
        raise AssertionError("no read or write expected")

    monkeypatch.setattr(store, "read_image", no_io)
    monkeypatch.setattr(store, "write_image", no_io)
    sources = [{"url": "file:///fast/img", "metadata": {"store": "fast"}},
               {"url": "file:///slow/img", "metadata": {"store": "slow"}}]
    assert flow._copy_to(work, {"size": 1}, sources, "slow") is True
    assert done == [("slow", True)]


def test_format_changed_during_the_import_not_activated(env, ctx,
                                                       monkeypatch):
    # An uninspected 'ova' import whose image is declared a bare disk
    # while its data is being written: it must not end up active as a
    # bare disk whose data nobody inspected.
    image = db.image_create({"disk_format": "qcow2",
                             "container_format": "ova",
                             "owner": ctx.project_id})
    data = di.qcow2(backing_file=b"/etc/shadow")
    image_data.stage(ctx, image["id"], [data], len(data))
    real = store.write_image

    def write_then_patch(*args, **kwargs):
        result = real(*args, **kwargs)
        db.image_update(image["id"], {"container_format": "bare"})
        return result

    monkeypatch.setattr(store, "write_image", write_then_patch)
    task = run_import(env, ctx, image)
    assert task["status"] == "failure"
    assert "container_format changed during the import" in task["message"]
    got = db.image_get(image["id"])
    assert got["status"] == "queued" and got["locations"] == []
    assert not (env.images.exists() and os.listdir(env.images))
