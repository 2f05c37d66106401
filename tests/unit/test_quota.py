"""Keystone unified-limit quotas (glance.services.quota) and the service
steps that check them, on SQLite and a file store.

Keystone is replaced by a small fake of the openstacksdk identity
connection oslo.limit talks to (the one it caches per process); the
functional test tests/functional/test_keystone_limits.py runs against a
real Keystone.
"""
import types

import pytest
from oslo_config import cfg
from oslo_limit import exception as limit_exc
from oslo_limit import limit

from glance.common import exception
from glance import context
from glance.db import api as db
from glance.services import discovery
from glance.services import image_data
from glance.services import image_import
from glance.services import images
from glance.services import quota
from tests.unit.helpers import new_image

CONF = cfg.CONF
MIB = 1024 * 1024
GLANCE_TEXT = ("The request returned a 413 Request Entity Too Large. This "
               "generally means that rate limiting or a quota threshold "
               "was breached.\n\nThe response body:\nProject %s is over a "
               "limit for [Resource %s is over limit of %d due to current "
               "usage %d and delta %d]")


class FakeIdentity:
    """The calls oslo.limit's flat enforcer makes on Keystone."""

    def __init__(self):
        self.registered = {}           # resource -> default limit
        self.project = {}              # (project, resource) -> limit
        self.calls = 0

    def get(self, path):
        assert path == "/limits/model"
        self.calls += 1
        return types.SimpleNamespace(
            json=lambda: {"model": {"name": "flat"}})

    def get_endpoint(self, endpoint_id):
        return types.SimpleNamespace(service_id="glance-svc",
                                     region_id="RegionOne")

    def registered_limits(self, service_id, region_id):
        assert (service_id, region_id) == ("glance-svc", "RegionOne")
        return [types.SimpleNamespace(resource_name=k, default_limit=v)
                for k, v in self.registered.items()]

    def limits(self, service_id, region_id, project_id):
        return [types.SimpleNamespace(resource_name=r, resource_limit=v,
                                      project_id=p)
                for (p, r), v in self.project.items() if p == project_id]


@pytest.fixture
def keystone(sqlite_db, file_store, conf, monkeypatch):
    """Quotas on, against a fake Keystone (all four limits at 10)."""
    conf(use_keystone_limits=True)
    conf(group="oslo_limit", endpoint_id="ENDPOINT")
    fake = FakeIdentity()
    fake.registered = dict.fromkeys(quota.USAGE, 10)
    monkeypatch.setattr(limit, "_SDK_CONNECTION", fake)
    return fake


def upload(ctx, size=MIB):
    image = new_image(ctx)
    return image_data.upload(ctx, image["id"], [b"x" * size], size)


def stage(ctx, size=MIB):
    image = new_image(ctx)
    return image_data.stage(ctx, image["id"], [b"x" * size], size)


# --- off ---

def test_off_nothing_asks_keystone(sqlite_db, conf, monkeypatch, ctx):
    conf(use_keystone_limits=False)

    def no_keystone(*args, **kwargs):
        raise AssertionError("Keystone asked")

    monkeypatch.setattr(limit, "Enforcer", no_keystone)
    quota.check_image_count(ctx)
    quota.check_size_total(ctx, 10 * MIB)
    quota.check_import_started(ctx, "web-download", None)
    assert quota.usage(ctx) == {}
    assert discovery.usage(ctx) == {"usage": {}}


# --- the checks and Glance's text ---

def test_image_count_total(keystone, ctx):
    keystone.registered["image_count_total"] = 1
    images.create_image(ctx, {"name": "one"}, {}, [])
    with pytest.raises(exception.LimitExceeded) as err:
        images.create_image(ctx, {"name": "two"}, {}, [])
    assert err.value.code == 413
    assert str(err.value) == GLANCE_TEXT % (
        ctx.project_id, "image_count_total", 1, 1, 1)
    assert db.image_count_for_owner(ctx.project_id) == 1


def test_project_limit_overrides_registered(keystone, ctx):
    keystone.registered["image_count_total"] = 0
    keystone.project[(ctx.project_id, "image_count_total")] = 2
    images.create_image(ctx, {}, {}, [])
    images.create_image(ctx, {}, {}, [])
    with pytest.raises(exception.LimitExceeded):
        images.create_image(ctx, {}, {}, [])
    other = context.RequestContext(project_id="other-" + ctx.project_id)
    with pytest.raises(exception.LimitExceeded):
        quota.check_image_count(other)


def test_unregistered_limit_is_zero(keystone, ctx):
    # oslo.limit: no registered limit means no use of the resource
    del keystone.registered["image_count_total"]
    with pytest.raises(exception.LimitExceeded):
        quota.check_image_count(ctx)


def test_unlimited(keystone, ctx):
    keystone.registered["image_count_total"] = -1
    for _ in range(3):
        quota.check_image_count(ctx)


def test_limits_are_read_afresh_for_each_check(keystone, ctx):
    keystone.registered["image_count_total"] = 0
    with pytest.raises(exception.LimitExceeded):
        quota.check_image_count(ctx)
    keystone.registered["image_count_total"] = 1
    quota.check_image_count(ctx)


def test_size_total_is_checked_before_upload(keystone, ctx):
    # as in Glance: the size to come is not known, so the upload that
    # reaches the limit passes and the next one is refused
    keystone.registered["image_size_total"] = 1
    upload(ctx)
    upload(ctx)           # 1 MiB used, at the limit: not over it
    refused = new_image(ctx)
    with pytest.raises(exception.LimitExceeded) as err:
        image_data.upload(ctx, refused["id"], [b"x"], 1)
    assert "Resource image_size_total is over limit of 1 due to current " \
           "usage 2 and delta 0" in str(err.value)
    assert db.image_get(refused["id"])["status"] == "queued"


def test_usage_counts_whole_mib(keystone, ctx):
    keystone.registered["image_size_total"] = 0
    upload(ctx, MIB - 1)   # 0 MiB used: under a limit of 0
    upload(ctx, MIB - 1)
    with pytest.raises(exception.LimitExceeded):
        upload(ctx)


def test_stage_total(keystone, ctx):
    keystone.registered["image_stage_total"] = 1
    stage(ctx, 2 * MIB)
    refused = new_image(ctx)
    with pytest.raises(exception.LimitExceeded) as err:
        image_data.stage(ctx, refused["id"], [b"x"], 1)
    assert "image_stage_total is over limit of 1" in str(err.value)
    assert db.image_get(refused["id"])["status"] == "queued"
    upload(ctx)   # the stores' quota is another one


def test_count_uploading_puts_upload_and_stage_back(keystone, ctx):
    keystone.registered["image_count_uploading"] = 1
    staged = stage(ctx)
    for action in (image_data.upload, image_data.stage):
        image = new_image(ctx)
        with pytest.raises(exception.LimitExceeded) as err:
            action(ctx, image["id"], [b"x"], 1)
        assert "Resource image_count_uploading is over limit of 1 due to " \
               "current usage 2 and delta 0" in str(err.value)
        assert db.image_get(image["id"])["status"] == "queued"
    assert db.image_get(staged["id"])["status"] == "uploading"


def test_import_checks_size_total_first(keystone, ctx):
    keystone.registered["image_size_total"] = 0
    upload(ctx)
    staged = stage(ctx)
    with pytest.raises(exception.LimitExceeded):
        image_import.import_image(ctx, staged["id"],
                                  {"method": {"name": "glance-direct"}})
    assert db.image_get(staged["id"])["status"] == "uploading"


def test_glance_direct_import_over_size_total_fails_its_task(keystone, ctx):
    keystone.registered["image_size_total"] = 1
    staged = stage(ctx, 2 * MIB)
    task_id = image_import.import_image(
        ctx, staged["id"], {"method": {"name": "glance-direct"}})
    task = db.task_get(task_id)
    assert task["status"] == "failure"
    assert "image_size_total is over limit of 1 due to current usage 0 " \
           "and delta 2" in task["message"]
    image = db.image_get(staged["id"])
    # the lock is released, the staged data kept for another try
    assert image["status"] == "uploading"
    assert "os_glance_import_task" not in image["properties"]


def test_web_download_import_over_stage_total_fails_its_task(
        keystone, ctx, monkeypatch):
    # the URI's host is not looked up here (no name service needed)
    monkeypatch.setattr(image_import.web_download, "validate_import_uri",
                        lambda uri: True)
    keystone.registered["image_stage_total"] = 0
    stage(ctx, MIB)
    image = new_image(ctx)
    task_id = image_import.import_image(
        ctx, image["id"], {"method": {"name": "web-download",
                                      "uri": "http://example.com/x.img"}})
    assert "image_stage_total is over limit" in \
           db.task_get(task_id)["message"]
    assert db.image_get(image["id"])["status"] == "queued"


def test_usage_reports_the_four(keystone, ctx):
    keystone.project[(ctx.project_id, "image_size_total")] = 50
    upload(ctx, 3 * MIB)
    stage(ctx, 2 * MIB)
    new_image(ctx)
    assert discovery.usage(ctx) == {"usage": {
        "image_size_total": {"limit": 50, "usage": 3},
        "image_stage_total": {"limit": 10, "usage": 2},
        "image_count_total": {"limit": 10, "usage": 3},
        "image_count_uploading": {"limit": 10, "usage": 1}}}


def test_keystone_misconfigured_is_logged_and_raised(keystone, ctx,
                                                     monkeypatch, caplog):
    def cannot(*args):
        raise limit_exc.SessionInitError("no auth_url")

    monkeypatch.setattr(limit, "_get_keystone_connection", cannot)
    with pytest.raises(limit_exc.SessionInitError):
        quota.check_image_count(ctx)
    assert "Failed to initialize oslo_limit" in caplog.text


def test_check_storage_is_the_uploads_local_quota_step(conf, monkeypatch):
    from glance.db import storage_quota
    monkeypatch.setattr(storage_quota.db, "user_get_storage_usage",
                        lambda owner, image_id=None: 600)
    image = {"id": "i1", "owner": "p1"}
    conf(image_size_cap=10_000, user_storage_quota="1000B")
    limit, make_error = quota.check_storage(image)
    assert limit == 400
    assert isinstance(make_error(), exception.StorageQuotaFull)
    with pytest.raises(exception.StorageQuotaFull):
        quota.check_storage(image, 401)
    conf(user_storage_quota="0")
    assert quota.check_storage(image)[0] == 10_000
    with pytest.raises(exception.ImageSizeLimitExceeded):
        quota.check_storage(image, 10_001)
