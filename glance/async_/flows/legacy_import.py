"""The tasks API's ``import`` task: a new image from a URI.

``POST /v2/tasks`` with ``{"type": "import", "input": {"import_from":
URI, "import_from_format": disk format, "image_properties": {...}}}``
creates an image with those properties (owned by the task's owner) and
fills it as a web-download import would: same URI filtering, limits,
format inspection and hashing. The task's result names the image.
"""
from oslo_config import cfg

from glance.async_.flows import api_image_import as flow
from glance.async_.flows import web_download
from glance.common import exception
from glance.db import api as db
from glance.domain import images as rules
from glance.i18n import _
from glance import store

CONF = cfg.CONF

REQUIRED = ("import_from", "import_from_format", "image_properties")


def validate_input(task_input):
    """Invalid (400) unless ``task_input`` is a usable import input."""
    if not isinstance(task_input, dict):
        raise exception.Invalid(_("Task input must be a JSON object."))
    uri = task_input.get("import_from")
    if not uri or not isinstance(uri, str):
        raise exception.Invalid(_("Invalid location: %s") % uri)
    if uri.startswith(("file:///", "filesystem:///")):
        raise exception.Invalid(_("File based imports are not allowed. "
                                  "Please use a non-local source of image "
                                  "data."))
    if not uri.startswith(("http://", "https://")):
        raise exception.Invalid(_(
            "The given uri is not valid. Please specify a valid uri from "
            "the following list of supported uri %s") % ["http", "https"])
    if not web_download.validate_import_uri(uri):
        raise exception.Invalid(_("URI for legacy import task does not "
                                  "pass filtering: %s") % uri)
    for key in REQUIRED:
        if key not in task_input:
            raise exception.Invalid(_("Input does not contain '%s' field")
                                    % key)
    if not isinstance(task_input["image_properties"], dict):
        raise exception.Invalid(_("'image_properties' must be an "
                                  "object."))


def _new_image(task):
    task_input = task["input"]
    props = dict(task_input["image_properties"])
    props.setdefault("disk_format", task_input["import_from_format"])
    props.setdefault("container_format", "bare")
    base, custom, tags = rules.split_body(props)
    for key in list(base):
        if key in rules.READ_ONLY or key == "id":
            base.pop(key)
    custom = {k: v for k, v in custom.items() if not rules.is_reserved(k)}
    custom[flow.LOCK] = task["id"]
    values = dict(base, owner=task["owner"], status="importing",
                  properties=custom, tags=tags or [])
    return db.image_create(values)


def run(context, task, executor=None):
    try:
        validate_input(task["input"] or {})
    except exception.Invalid as e:
        raise flow.ImportFailed(image_id=None, reason=str(e)) from e
    image = _new_image(task)
    db.task_update(task["id"], {"image_id": image["id"]})
    backend = store.resolve_store_id(None)
    fake = {"id": task["id"], "input": {
        "image_id": image["id"], "backend": [backend],
        "import_req": {"method": {"name": "web-download",
                                  "uri": task["input"]["import_from"]}}}}
    return flow.run(context, fake, executor)
