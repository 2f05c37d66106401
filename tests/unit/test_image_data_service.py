"""glance.services.image_data on SQLite and a file store: status moves,
cleanup on failure, the takeover of stalled uploads, download ranges."""
import datetime
import hashlib
import os

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from glance.common import exception
from glance import context
from glance.db import api as db
from glance.db import models
from glance.db import session as db_session
from glance.services import image_data
from glance.services import images
from glance import store
from tests.unit.helpers import new_image as make_image

CONF = cfg.CONF


@pytest.fixture
def env(sqlite_db, file_store):
    """This module's database; the file store's data directory."""
    return file_store


def files(directory):
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


def set_status(image_id, status, age=0):
    """Force a status, as a dead worker would have left it."""
    then = models.utcnow() - datetime.timedelta(seconds=age)
    with db_session.writer() as session:
        session.execute(sa.update(models.Image)
                        .where(models.Image.id == image_id)
                        .values(status=status, updated_at=then))


def test_upload_makes_image_active(env, ctx):
    img = make_image(ctx)
    data = os.urandom(300_000)
    got = image_data.upload(ctx, img["id"], iter([data]), len(data))
    assert got["status"] == "active"
    assert got["size"] == len(data) and got["virtual_size"] == len(data)
    assert got["checksum"] == hashlib.md5(data).hexdigest()
    assert got["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert [loc["url"] for loc in got["locations"]] == [
        "file://%s/%s" % (env, img["id"])]


def test_second_upload_409(env, ctx):
    img = make_image(ctx)
    image_data.upload(ctx, img["id"], [b"one"], 3)
    with pytest.raises(exception.InvalidImageStatusTransition) as err:
        image_data.upload(ctx, img["id"], [b"two"], 3)
    assert err.value.code == 409
    assert "from active to saving" in str(err.value)


@pytest.mark.parametrize("status", ["saving", "deactivated", "killed",
                                    "uploading", "importing"])
def test_upload_in_other_states_409(env, ctx, status):
    img = make_image(ctx)
    set_status(img["id"], status)
    with pytest.raises(exception.InvalidImageStatusTransition):
        image_data.upload(ctx, img["id"], [b"x"], 1)
    assert db.image_get(img["id"])["status"] == status


def test_upload_needs_formats(env, ctx):
    img = db.image_create({"owner": ctx.project_id})
    with pytest.raises(exception.BadRequest) as err:
        image_data.upload(ctx, img["id"], [b"x"], 1)
    assert "disk_format, container_format must be set" in str(err.value)
    assert db.image_get(img["id"])["status"] == "queued"


@pytest.mark.parametrize("make_failure", [
    lambda conf: conf(image_size_cap=10),
    lambda conf: conf(user_storage_quota="5B"),
])
def test_limits_put_image_back_to_queued(env, ctx, conf, make_failure):
    make_failure(conf)
    img = make_image(ctx)
    with pytest.raises(exception.LimitExceeded):
        image_data.upload(ctx, img["id"], [b"x" * 6, b"y" * 6], None)
    got = db.image_get(img["id"])
    assert got["status"] == "queued" and got["locations"] == []
    assert files(env) == []


def test_format_refusal_puts_image_back_to_queued(env, ctx):
    img = make_image(ctx, disk_format="qcow2")
    with pytest.raises(store.InvalidImageData):
        image_data.upload(ctx, img["id"], [os.urandom(70_000)], 70_000)
    assert db.image_get(img["id"])["status"] == "queued"
    assert files(env) == []


def test_disconnect_puts_image_back_to_queued(env, ctx):
    def client():
        yield b"a" * 100_000
        raise ConnectionResetError("peer reset")

    img = make_image(ctx)
    with pytest.raises(store.UploadInterrupted):
        image_data.upload(ctx, img["id"], client(), 1_000_000)
    assert db.image_get(img["id"])["status"] == "queued"
    assert files(env) == []
    # and the upload can be retried
    assert image_data.upload(ctx, img["id"], [b"ok"], 2)["size"] == 2


def test_store_failure_after_write_cleans_up(env, ctx, monkeypatch):
    img = make_image(ctx)

    def broken(*args, **kwargs):
        raise RuntimeError("db went away")

    monkeypatch.setattr(db, "image_location_add", broken)
    with pytest.raises(RuntimeError):
        image_data.upload(ctx, img["id"], [b"data"], 4)
    monkeypatch.undo()
    got = db.image_get(img["id"])
    assert got["status"] == "queued" and got["locations"] == []
    assert files(env) == []


def test_image_deleted_during_upload_410(env, ctx, conf):
    conf(saving_stall_timeout=1)     # heartbeat every 0.25 s
    img = make_image(ctx)

    def client():
        yield b"a" * 65536
        images.delete_image(ctx, img["id"])
        yield b"b" * 65536
        import time
        time.sleep(0.3)
        yield b"c" * 65536

    with pytest.raises(image_data.ImageGoneDuringUpload) as err:
        image_data.upload(ctx, img["id"], client(), None)
    assert err.value.code == 410
    assert files(env) == []


def test_stalled_saving_image_is_taken_over(env, ctx, conf):
    """A worker killed mid-upload: image saving, partial file left."""
    conf(saving_stall_timeout=60)
    img = make_image(ctx)
    set_status(img["id"], "saving", age=61)
    env.mkdir(parents=True, exist_ok=True)
    (env / img["id"]).write_bytes(b"partial data of the dead worker")
    got = image_data.upload(ctx, img["id"], [b"complete"], 8)
    assert got["status"] == "active" and got["size"] == 8
    assert (env / img["id"]).read_bytes() == b"complete"


def test_recent_saving_image_is_not_taken_over(env, ctx, conf):
    conf(saving_stall_timeout=60)
    img = make_image(ctx)
    set_status(img["id"], "saving", age=30)
    with pytest.raises(exception.InvalidImageStatusTransition):
        image_data.upload(ctx, img["id"], [b"x"], 1)
    conf(saving_stall_timeout=0)   # takeover disabled
    set_status(img["id"], "saving", age=3600)
    with pytest.raises(exception.InvalidImageStatusTransition):
        image_data.upload(ctx, img["id"], [b"x"], 1)


def test_stalled_stage_is_taken_over_but_not_a_staged_image(env, ctx,
                                                            conf):
    conf(saving_stall_timeout=60)
    img = make_image(ctx)
    set_status(img["id"], "uploading", age=120)       # size still None
    got = image_data.stage(ctx, img["id"], [b"staged"], 6)
    assert got["status"] == "uploading" and got["size"] == 6
    set_status(img["id"], "uploading", age=120)       # staged: size set
    with pytest.raises(exception.InvalidImageStatusTransition) as err:
        image_data.stage(ctx, img["id"], [b"again"], 5)
    assert "uploading to uploading" in str(err.value)


def test_old_upload_that_was_taken_over_leaves_new_data(env, ctx, conf,
                                                        monkeypatch):
    conf(saving_stall_timeout=1)
    img = make_image(ctx)
    clock = [1000.0]
    # the stream and the upload's heartbeat (glance.store) share a clock
    monkeypatch.setattr(store.time, "monotonic", lambda: clock[0])

    def stalled_client():
        yield b"old" * 1000
        # the client stalls; the image is taken over by a new upload
        clock[0] += 10
        set_status(img["id"], "saving", age=5)
        new = image_data.upload(ctx, img["id"], [b"new data"], 8)
        assert new["status"] == "active"
        yield b"more old data" * 100

    with pytest.raises(store.UploadTakenOver) as err:
        image_data.upload(ctx, img["id"], stalled_client(), None)
    assert err.value.code == 409
    got = db.image_get(img["id"])
    assert got["status"] == "active" and got["size"] == 8
    assert (env / img["id"]).read_bytes() == b"new data"


def test_stage_and_its_cleanup(env, ctx, tmp_path):
    img = make_image(ctx)
    got = image_data.stage(ctx, img["id"], [b"staged!"], 7)
    assert got["status"] == "uploading" and got["size"] == 7
    assert got["checksum"] is None
    staged = tmp_path / "staging" / img["id"]
    assert staged.read_bytes() == b"staged!"
    images.delete_image(ctx, img["id"])
    assert not staged.exists()


def test_failed_stage_back_to_queued(env, ctx, tmp_path, conf):
    conf(image_size_cap=3)
    img = make_image(ctx)
    with pytest.raises(exception.ImageSizeLimitExceeded):
        image_data.stage(ctx, img["id"], [b"abcd"], None)
    assert db.image_get(img["id"])["status"] == "queued"
    assert files(tmp_path / "staging") == []


def test_stage_needs_glance_direct(env, ctx, conf):
    conf(enabled_import_methods=["web-download"])
    img = make_image(ctx)
    with pytest.raises(exception.NotFound):
        image_data.stage(ctx, img["id"], [b"x"], 1)


def test_download_ranges_and_no_data(env, ctx):
    img = make_image(ctx)
    assert image_data.download(ctx, img["id"]).chunks is None
    data = bytes(range(256)) * 40
    image_data.upload(ctx, img["id"], [data], len(data))
    full = image_data.download(ctx, img["id"])
    assert b"".join(full.chunks) == data and full.length == len(data)
    assert full.checksum == hashlib.md5(data).hexdigest()
    part = image_data.download(ctx, img["id"], (10, 19))
    assert b"".join(part.chunks) == data[10:20]
    assert part.content_range == (10, 19, len(data))
    suffix = image_data.download(ctx, img["id"], (None, 5))
    assert b"".join(suffix.chunks) == data[-5:]
    assert suffix.content_range == (10235, 10239, 10240)
    clamp = image_data.download(ctx, img["id"], (10235, 99999))
    assert clamp.content_range == (10235, 10239, 10240)


@pytest.mark.parametrize("byte_range", [(10240, None), (20000, 30000),
                                        (None, 0)])
def test_download_unsatisfiable(env, ctx, byte_range):
    img = make_image(ctx)
    image_data.upload(ctx, img["id"], [b"x" * 10240], 10240)
    with pytest.raises(exception.RequestedRangeNotSatisfiable) as err:
        image_data.download(ctx, img["id"], byte_range)
    assert err.value.code == 416


def test_download_deactivated_forbidden_for_non_admin(env, ctx):
    img = make_image(ctx)
    image_data.upload(ctx, img["id"], [b"abc"], 3)
    set_status(img["id"], "deactivated")
    with pytest.raises(exception.Forbidden) as err:
        image_data.download(ctx, img["id"])
    assert "deactivated" in str(err.value)
    admin = context.RequestContext(project_id="adm", is_admin=True,
                                   roles=["admin", "member", "reader"])
    assert b"".join(image_data.download(admin, img["id"]).chunks) == b"abc"


def test_download_missing_data_410(env, ctx, caplog):
    img = make_image(ctx)
    image_data.upload(ctx, img["id"], [b"abc"], 3)
    os.unlink(env / img["id"])
    with pytest.raises(image_data.ImageDataMissing) as err:
        image_data.download(ctx, img["id"])
    assert err.value.code == 410
    assert "data is missing at file://" in caplog.text


def test_delete_removes_data(env, ctx):
    img = make_image(ctx)
    image_data.upload(ctx, img["id"], [b"abc"], 3)
    assert files(env) == [img["id"]]
    images.delete_image(ctx, img["id"])
    assert files(env) == []


def test_delete_logs_what_it_cannot_remove(env, ctx, caplog, monkeypatch):
    img = make_image(ctx)
    image_data.upload(ctx, img["id"], [b"abc"], 3)

    def fail(location, context=None):
        raise store.StorageWriteDenied(reason="read-only")

    monkeypatch.setattr(store, "delete_image_data", fail)
    images.delete_image(ctx, img["id"])
    assert "orphaned" in caplog.text and img["id"] in caplog.text
    with pytest.raises(exception.NotFound):
        db.image_get(img["id"])


def test_delete_of_stuck_upload_removes_partial_data(env, ctx):
    img = make_image(ctx)
    set_status(img["id"], "saving", age=10)
    env.mkdir(parents=True, exist_ok=True)
    (env / img["id"]).write_bytes(b"partial")
    images.delete_image(ctx, img["id"])
    assert files(env) == []


def test_takeover_of_a_stalled_stage_removes_the_staged_part(env, ctx,
                                                             tmp_path,
                                                             conf):
    conf(saving_stall_timeout=60)
    img = make_image(ctx)
    set_status(img["id"], "uploading", age=120)
    staging = tmp_path / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    (staging / img["id"]).write_bytes(b"half a stage")
    got = image_data.upload(ctx, img["id"], [b"direct"], 6)
    assert got["status"] == "active"
    assert files(staging) == []


def test_takeover_of_a_stalled_upload_before_a_stage(env, ctx, conf):
    conf(saving_stall_timeout=60)
    img = make_image(ctx)
    set_status(img["id"], "saving", age=120)
    env.mkdir(parents=True, exist_ok=True)
    (env / img["id"]).write_bytes(b"partial")
    assert image_data.stage(ctx, img["id"], [b"s"], 1)["size"] == 1
    assert files(env) == []
