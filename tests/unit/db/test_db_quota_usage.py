"""The usage counts of Keystone's unified limits (glance.db.quota_usage),
on every backend: which images count, and for how much."""
from glance.db import api
from glance.db import quota_usage as usage

MIB = 1024 * 1024


def _image(owner, status, size=None, locations=0, properties=None):
    image = api.image_create({"owner": owner, "status": status,
                              "size": size,
                              "properties": properties or {}})
    for n in range(locations):
        api.image_location_add(image["id"], "file:///s/%s-%d"
                               % (image["id"], n))
    return api.image_get(image["id"]) if locations else image


def test_nothing_counts_for_a_new_project(db):
    for fn in (usage.stored_bytes, usage.staged_bytes, usage.image_count,
               usage.uploading_count):
        assert fn("nobody") == 0


def test_stored_bytes_count_each_location(db):
    _image("p", "active", 3 * MIB, locations=1)
    _image("p", "active", 2 * MIB, locations=2)   # copied to a 2nd store
    _image("p", "killed", 7 * MIB, locations=1)
    _image("p", "uploading", 5 * MIB)             # staged only
    _image("q", "active", 11 * MIB, locations=1)  # another project's
    assert usage.stored_bytes("p") == 7 * MIB


def test_deleted_locations_and_images_do_not_count(db):
    image = _image("p", "active", MIB, locations=2)
    api.image_location_delete(image["locations"][0]["id"])
    assert usage.stored_bytes("p") == MIB
    api.image_destroy(image["id"])
    assert usage.stored_bytes("p") == 0
    assert usage.image_count("p") == 0


def test_pending_delete_counts_until_scrubbed(db):
    # its data is still in the store, as Glance counts it
    image = _image("p", "active", MIB, locations=1)
    api.image_destroy_delayed(image["id"])
    assert usage.stored_bytes("p") == MIB
    assert usage.image_count("p") == 1


def test_staged_bytes(db):
    _image("p", "uploading", 2 * MIB)
    _image("p", "importing", 3 * MIB)
    _image("p", "active", 4 * MIB, locations=1, properties={
        "os_glance_importing_to_stores": "cheap"})   # being copied
    _image("p", "active", 8 * MIB, locations=1, properties={
        "os_glance_importing_to_stores": ""})        # copy finished
    _image("p", "queued")
    _image("p", "uploading")                          # stage not finished
    assert usage.staged_bytes("p") == 9 * MIB


def test_image_count(db):
    for status in ("queued", "saving", "active", "deactivated",
                   "uploading", "importing"):
        _image("p", status)
    _image("p", "killed")
    _image("q", "active")
    assert usage.image_count("p") == 6


def test_uploading_count(db):
    for status in ("saving", "uploading", "importing"):
        _image("p", status)
    _image("p", "active", MIB, locations=1, properties={
        "os_glance_importing_to_stores": "cheap,fast"})
    _image("p", "active", MIB, locations=1)
    _image("p", "queued")
    _image("p", "killed", properties={
        "os_glance_importing_to_stores": "cheap"})
    assert usage.uploading_count("p") == 4


def test_a_purged_property_does_not_count(db):
    image = _image("p", "active", MIB, locations=1, properties={
        "os_glance_importing_to_stores": "cheap"})
    assert usage.uploading_count("p") == 1
    api.image_update(image["id"], {"properties": {}}, purge_props=True)
    assert usage.uploading_count("p") == 0
    assert usage.staged_bytes("p") == 0
