"""glance-download: the request check, the catalog lookup, the remote
record check, the properties copied, and the flow's revert (in-process,
with the remote Glance replaced by canned answers)."""
import io
import json

import pytest
import webob
from oslo_config import cfg

from glance.api.middleware import context as context_mw
from glance.async_.flows import api_image_import as flow
from glance.async_.flows import glance_download as gd
from glance.common import config
from glance.common import exception
from glance.db import api as db
from glance.services import image_import
from glance import store
from tests.unit.helpers import new_image
from tests.unit.helpers import run_spawned

CONF = cfg.CONF
REMOTE_ID = "36d4b546-64a2-4bb9-bdd0-ba676aa48f2c"
CATALOG = [
    {"type": "identity", "endpoints": [{"region": "RegionTwo",
                                        "publicURL": "http://ks"}]},
    {"type": "image", "name": "glance", "endpoints": [
        {"region": "RegionOne", "publicURL": "http://one:9292/"},
        {"region": "RegionTwo", "publicURL": "http://two/image",
         "internalURL": "http://two-internal:9292"}]},
]


@pytest.fixture
def env(sqlite_db, file_store, spawned_tasks):
    """The in-process import set-up (tests/unit/conftest.py); the tasks
    started, to run with ``run_spawned``."""
    return spawned_tasks


def method(**fields):
    fields.setdefault("name", "glance-download")
    return fields


# --- the API's check ---

@pytest.mark.parametrize("fields, message", [
    ({"glance_image_id": REMOTE_ID}, "'glance_region' needs to be set"),
    ({"glance_region": "RegionTwo"}, "'glance_image_id' needs to be set"),
    ({}, "'glance_region' needs to be set"),        # region checked first
    ({"glance_region": "R", "glance_image_id": "foo"},
     "Remote image id does not look like a UUID: foo"),
    ({"glance_region": "R", "glance_image_id": 12},
     "does not look like a UUID"),
    ({"glance_region": "R", "glance_image_id": None},
     "does not look like a UUID"),
    ({"glance_region": ["R"], "glance_image_id": REMOTE_ID},
     "'glance_region' must be a string"),
    ({"glance_region": "R", "glance_image_id": REMOTE_ID,
      "glance_service_interface": 1},
     "'glance_service_interface' must be a string"),
])
def test_bad_requests_are_400(fields, message):
    with pytest.raises(exception.Invalid) as e:
        gd.check_request(method(**fields))
    assert e.value.code == 400
    assert message in str(e.value)


def test_interface_defaults_to_public():
    fields = method(glance_region="RegionTwo", glance_image_id=REMOTE_ID)
    gd.check_request(fields)
    assert fields["glance_service_interface"] == "public"
    fields = method(glance_region="RegionTwo", glance_image_id=REMOTE_ID,
                    glance_service_interface="internal")
    gd.check_request(fields)
    assert fields["glance_service_interface"] == "internal"
    # uuid.UUID's other spellings pass, as in Glance
    gd.check_request(method(glance_region="R",
                            glance_image_id=REMOTE_ID.replace("-", "")))


# --- the catalog ---

def test_endpoint_by_region_and_interface():
    assert gd.endpoint(CATALOG, "RegionTwo", "public") == "http://two/image"
    assert gd.endpoint(CATALOG, "regiontwo", "internal") == \
        "http://two-internal:9292"
    assert gd.endpoint(CATALOG, "RegionOne", "public") == \
        "http://one:9292"


@pytest.mark.parametrize("catalog, region, interface", [
    (CATALOG, "RegionThree", "public"),
    (CATALOG, "RegionOne", "internal"),        # no such interface there
    (CATALOG, "RegionTwo", "not an interface"),
    (None, "RegionTwo", "public"),             # no catalog in the context
    ([{"type": "image"}, "junk", {"type": "image", "endpoints": [
        "x", {"publicURL": "http://noregion"}]}], "RegionTwo", "public"),
])
def test_endpoint_not_found(catalog, region, interface):
    with pytest.raises(gd.EndpointNotFound) as e:
        gd.endpoint(catalog, region, interface)
    assert str(e.value) == ("%s glance endpoint not found for region %s"
                            % (interface, region))


def test_context_middleware_keeps_the_catalog():
    req = webob.Request.blank("/v2/images", headers={
        "X-Identity-Status": "Confirmed", "X-Project-Id": "p",
        "X-Roles": "member", "X-Auth-Token": "tok",
        "X-Service-Catalog": json.dumps(CATALOG)})
    mw = context_mw.ContextMiddleware(None)
    mw.process_request(req)
    assert req.context.service_catalog == CATALOG
    assert req.context.auth_token == "tok"
    assert gd.image_url(req.context, method(
        glance_region="RegionTwo", glance_image_id=REMOTE_ID,
        glance_service_interface="public")) == \
        "http://two/image/v2/images/" + REMOTE_ID


def test_context_middleware_refuses_a_catalog_that_is_not_json():
    req = webob.Request.blank("/v2/images", headers={
        "X-Identity-Status": "Confirmed", "X-Project-Id": "p",
        "X-Roles": "member", "X-Service-Catalog": "[{"})
    with pytest.raises(webob.exc.HTTPBadRequest) as e:
        context_mw.ContextMiddleware(None).process_request(req)
    assert "Invalid service catalog json." in str(e.value)


# --- the remote record ---

def record(**values):
    base = {"id": REMOTE_ID, "status": "active", "size": 10,
            "disk_format": "raw", "container_format": "bare",
            "checksum": "c", "os_hash_algo": "sha512", "os_hash_value": "h",
            "name": "remote", "visibility": "public", "min_ram": 0,
            "tags": [], "os_hidden": False, "protected": False,
            "hw_cpu_cores": "5", "hw_disk_bus": "scsi",
            "trait:STORAGE_DISK_SSD": "required", "os_distro": "rhel",
            "os_distro_version": "9", "os_type": "linux", "speed": "88mph",
            "os_glance_import_task": "t", "os_secure_boot": "required"}
    base.update(values)
    return base


@pytest.mark.parametrize("values, reason", [
    ({"status": "queued"},
     "Source image status should be active instead of queued"),
    ({"status": "deactivated"}, "instead of deactivated"),
    ({"size": None}, "Size attribute of remote image"),
    ({"size": "10"}, "Size attribute of remote image"),
    ({"disk_format": "nope"}, "its disk_format nope is not one of"),
    ({"container_format": None}, "its container_format None"),
])
def test_unusable_remote_images(values, reason):
    with pytest.raises(gd.RemoteImageInvalid) as e:
        gd.check_record(record(**values))
    assert reason in str(e.value)
    assert REMOTE_ID in str(e.value)


def test_default_properties_copied():
    assert CONF.glance_download_properties.extra_properties == [
        "hw_", "trait:", "os_distro", "os_secure_boot", "os_type"]
    assert gd.copied_properties(record()) == {
        "hw_cpu_cores": "5", "hw_disk_bus": "scsi",
        "trait:STORAGE_DISK_SSD": "required", "os_distro": "rhel",
        "os_distro_version": "9", "os_type": "linux",
        "os_secure_boot": "required"}


def test_configured_prefixes_never_copy_attributes_or_reserved():
    got = gd.copied_properties(record(os_other=["not", "a", "string"]),
                               prefixes=["os_", "spe", ""])
    # os_hash_*, os_hidden: the remote's attributes; os_glance_*: ours
    assert got == {"os_distro": "rhel", "os_distro_version": "9",
                   "os_type": "linux", "os_secure_boot": "required",
                   "speed": "88mph"}


def test_extra_properties_in_glance_syntax(tmp_path):
    conf_file = tmp_path / "glance-api.conf"
    conf_file.write_text("[glance_download_properties]\n"
                         "extra_properties = ['hw_', \"architecture\"]\n")
    local = cfg.ConfigOpts()
    local.register_opts(gd.glance_download_opts,
                        group="glance_download_properties")
    local([], default_config_files=[str(conf_file)])
    assert local.glance_download_properties.extra_properties == [
        "hw_", "architecture"]
    listed = dict(gd.list_opts())["glance_download_properties"]
    assert isinstance(listed[0], config.BracketListOpt)


def test_changes_and_their_undo():
    image = {"disk_format": "iso", "container_format": "ovf",
             "properties": {"hw_cpu_cores": "1", "os_distro": "windows",
                            "mine": "x"}}
    values, props, undo = gd.changes(record(), image)
    assert values == {"disk_format": "raw", "container_format": "bare"}
    assert props["hw_cpu_cores"] == "5" and "speed" not in props
    old_values, old_props, added = undo
    assert old_values == {"disk_format": "iso", "container_format": "ovf"}
    assert old_props == {"hw_cpu_cores": "1", "os_distro": "windows"}
    assert set(added) == set(props) - {"hw_cpu_cores", "os_distro"}


def test_copied_properties_count_against_the_quota(conf):
    conf(image_property_quota=3)
    image = {"disk_format": "raw", "container_format": "bare",
             "properties": {"a": "1"}}
    with pytest.raises(exception.ImagePropertyLimitExceeded):
        gd.changes(record(), image)


# --- the flow, with canned remote answers ---

class Remote:
    """Stands for the remote Glance: its record and its data."""

    def __init__(self, monkeypatch, data=b"remote-data" * 50, **values):
        self.data = data
        self.record = record(size=len(data), **values)
        self.seen = []
        monkeypatch.setattr(gd.web_download, "open_uri", self.open_uri)

    def open_uri(self, url, headers=None):
        self.seen.append((url, dict(headers or {})))
        if url.endswith("/file"):
            return Body(self.data), len(self.data)
        if self.record is None:
            raise gd.web_download.DownloadError(uri=url,
                                                reason="HTTP status 404")
        return Body(json.dumps(self.record).encode()), None


class Body(io.BytesIO):
    def read(self, size=-1):
        return super().read(size if size and size > 0 else -1)


def import_from(ctx, image_id, region="RegionTwo", **fields):
    ctx.service_catalog = CATALOG
    ctx.auth_token = "user-token"
    body = {"method": method(glance_region=region,
                             glance_image_id=REMOTE_ID, **fields)}
    return image_import.import_image(ctx, image_id, body)


@pytest.fixture
def enabled(conf):
    conf(enabled_import_methods=["glance-direct", "glance-download"])


def test_import_copies_formats_properties_and_data(env, ctx, enabled,
                                                   monkeypatch):
    remote = Remote(monkeypatch)
    image = new_image(ctx, disk_format="iso", container_format="ovf",
                      properties={"hw_cpu_cores": "1", "speed": "slow"})
    task_id = import_from(ctx, image["id"])
    run_spawned(env)
    assert db.task_get(task_id)["status"] == "success"
    got = db.image_get(image["id"])
    assert got["status"] == "active"
    assert (got["disk_format"], got["container_format"]) == ("raw", "bare")
    assert got["size"] == len(remote.data)
    props = got["properties"]
    assert props["hw_cpu_cores"] == "5" and props["speed"] == "slow"
    assert props["trait:STORAGE_DISK_SSD"] == "required"
    assert "os_glance_import_task" not in props
    base = "http://two/image/v2/images/" + REMOTE_ID
    assert [url for url, _h in remote.seen] == [base, base + "/file"]
    assert all(h["X-Auth-Token"] == "user-token" for _u, h in remote.seen)
    assert not store.delete_staged_data(image["id"])   # nothing left


@pytest.mark.parametrize("setup, reason", [
    (lambda r: r.record.update(status="queued"),
     "Source image status should be active instead of queued"),
    (lambda r: setattr(r, "record", None), "HTTP status 404"),
    (lambda r: setattr(r, "data", r.data[:-1]),
     "downloaded data size 549 is different from expected 550"),
    (lambda r: setattr(r, "data", b"QFI\xfb" + r.data[4:]), "qcow2"),
])
def test_failure_puts_the_image_back(env, ctx, enabled, monkeypatch, setup,
                                     reason):
    remote = Remote(monkeypatch)
    setup(remote)
    image = new_image(ctx, disk_format="iso", container_format="ovf",
                      properties={"hw_cpu_cores": "1", "mine": "x"})
    task_id = import_from(ctx, image["id"])
    run_spawned(env)
    task = db.task_get(task_id)
    assert task["status"] == "failure"
    assert reason in task["message"]
    got = db.image_get(image["id"])
    assert got["status"] == "queued"
    assert (got["disk_format"], got["container_format"]) == ("iso", "ovf")
    props = {k: v for k, v in got["properties"].items()
             if not k.startswith("os_glance")}
    assert props == {"hw_cpu_cores": "1", "mine": "x"}
    assert flow.LOCK not in got["properties"]
    assert not got["locations"] and got["size"] is None
    assert not store.delete_staged_data(image["id"])


def test_region_not_in_catalog_fails_the_task(env, ctx, enabled,
                                              monkeypatch):
    Remote(monkeypatch)
    image = new_image(ctx)
    task_id = import_from(ctx, image["id"], region="not a region",
                          glance_service_interface="not an interface")
    run_spawned(env)
    task = db.task_get(task_id)
    assert task["status"] == "failure"
    assert "not an interface glance endpoint not found for region not a " \
        "region" in task["message"]
    assert db.image_get(image["id"])["status"] == "queued"


def test_api_refuses_before_taking_the_lock(env, ctx, enabled):
    image = new_image(ctx)
    with pytest.raises(exception.Invalid, match="does not look like a UUID"):
        image_import.import_image(ctx, image["id"], {"method": method(
            glance_region="RegionTwo", glance_image_id="foo")})
    got = db.image_get(image["id"])
    assert got["status"] == "queued" and flow.LOCK not in got["properties"]
    assert not env                                  # no task started


def test_not_offered_unless_enabled(env, ctx):
    image = new_image(ctx)
    with pytest.raises(exception.Invalid, match="Unknown import method"):
        import_from(ctx, image["id"])
