"""Write image and task rows the way OpenStack Glance 33 does.

Run by the Python of the separate Glance 33 virtualenv (never by ours),
through Glance's own database API, against a database Glance's
``glance-manage db sync`` made::

    glance33/bin/python glance_oracle_rows.py URL STORE_DIR

Image data goes into STORE_DIR as Glance's file store writes it (a file
named by the image id, the location ``file://STORE_DIR/ID``). Prints a JSON
document describing what it wrote, for the test to compare with what our
glance-api serves.
"""
import datetime
import hashlib
import json
import os
import sys
import uuid


def _glance_db(url):
    from glance import context
    from glance.db.sqlalchemy import api
    from oslo_config import cfg
    from oslo_db import options

    options.set_defaults(cfg.CONF, connection=url)
    cfg.CONF([], project="glance", default_config_files=[])
    return api, context.get_admin_context(show_deleted=True)


def _active_image(api, ctx, store_dir):
    image_id = str(uuid.uuid4())
    data = os.urandom(300 * 1024) + "Glance wrote me \u2603".encode()
    path = os.path.join(store_dir, image_id)
    with open(path, "wb") as f:
        f.write(data)
    api.image_create(ctx, {
        "id": image_id, "name": "cirros \u00fcber \u2603", "status": "active",
        "visibility": "public", "size": len(data),
        "checksum": hashlib.md5(data).hexdigest(),
        "os_hash_algo": "sha512",
        "os_hash_value": hashlib.sha512(data).hexdigest(),
        "disk_format": "raw", "container_format": "bare",
        "min_disk": 1, "min_ram": 64, "owner": "project-a",
        "protected": False, "virtual_size": len(data),
        "properties": {"os_distro": "cirros", "hw_disk_bus": "virtio",
                       "Description": "caf\u00e9"},
        "locations": [{"url": "file://" + path, "metadata": {},
                       "status": "active"}],
    })
    api.image_tag_set_all(ctx, image_id, ["alpha", "beta", "Gamma"])
    return image_id, data


def _shared_image(api, ctx):
    image_id = str(uuid.uuid4())
    api.image_create(ctx, {
        "id": image_id, "name": "shared one", "status": "queued",
        "visibility": "shared", "owner": "project-a",
        "min_disk": 0, "min_ram": 0, "properties": {"purpose": "test"}})
    api.image_member_create(ctx, {"image_id": image_id,
                                  "member": "project-b",
                                  "can_share": False, "status": "accepted"})
    api.image_member_create(ctx, {"image_id": image_id,
                                  "member": "project-c",
                                  "can_share": False, "status": "pending"})
    return image_id


def _deleted_image(api, ctx):
    image_id = str(uuid.uuid4())
    api.image_create(ctx, {
        "id": image_id, "name": "gone", "status": "active",
        "visibility": "private", "owner": "project-a", "min_disk": 0,
        "min_ram": 0, "properties": {"old": "yes"}})
    api.image_tag_set_all(ctx, image_id, ["old"])
    api.image_destroy(ctx, image_id)
    return image_id


def _task(api, ctx, image_id):
    task_id = str(uuid.uuid4())
    expires = (datetime.datetime.utcnow() + datetime.timedelta(days=2))
    api.task_create(ctx, {
        "id": task_id, "type": "import", "status": "success",
        "owner": "project-a", "expires_at": expires,
        "input": {"import_from": "http://example.com/cirros.img",
                  "import_from_format": "raw",
                  "image_properties": {"name": "from a task"}},
        "result": {"image_id": image_id}, "message": "",
        "image_id": image_id, "request_id": "req-" + str(uuid.uuid4()),
        "user_id": "user-a"})
    return task_id


def main(url, store_dir):
    api, ctx = _glance_db(url)
    active_id, data = _active_image(api, ctx, store_dir)
    result = {
        "active": active_id, "data_sha256": hashlib.sha256(data).hexdigest(),
        "shared": _shared_image(api, ctx),
        "deleted": _deleted_image(api, ctx),
    }
    result["task"] = _task(api, ctx, active_id)
    image = api.image_get(ctx, active_id)
    result["created_at"] = image["created_at"].strftime("%Y-%m-%dT%H:%M:%SZ")
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:3])
