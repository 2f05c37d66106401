"""The JSON-schema documents of the Images API and their HTTP controller.

``GET /v2/schemas/{image,images,member,members,task,tasks}`` publish what
the resources look like; the same schema objects validate request bodies
and filter responses elsewhere. The documents reproduce Glance's field by
field (names, types, ``readOnly``, enums, patterns, lengths, descriptions,
links), since clients such as python-glanceclient build their models from
them.

The image schema depends on configuration (the allowed disk and container
formats, and the operator's ``schema-image.json`` of extra properties); it
is built on demand and cached per configuration.
"""
import copy
import json
import os
import threading

from oslo_config import cfg
from oslo_log import log as logging

from glance.common import exception
from glance.common import wsgi
from glance.i18n import _
from glance import schema

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
CONF.import_group("image_format", "glance.common.config")

UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$")

CUSTOM_PROPERTIES_FILE = "schema-image.json"

IMAGE_STATUSES = ["queued", "saving", "active", "killed", "deleted",
                  "uploading", "importing", "pending_delete", "deactivated"]
IMAGE_VISIBILITIES = ["community", "public", "private", "shared"]
MEMBER_STATUSES = ["pending", "accepted", "rejected"]
TASK_TYPES = ["import", "api_image_import", "location_import"]
TASK_STATUSES = ["pending", "processing", "success", "failure"]


# -- image --

def _string(description, **extra):
    prop = {"type": "string", "description": description}
    prop.update(extra)
    return prop


def _nullable(kind, description, **extra):
    prop = {"type": ["null", kind], "description": description}
    prop.update(extra)
    return prop


def _read_only(prop):
    prop["readOnly"] = True
    return prop


def _location_items():
    validation_data = {
        "description": _("Values to be used to populate the corresponding "
                         "image properties. If the image status is not "
                         "'queued', values must exactly match those "
                         "already contained in the image properties."),
        "type": "object",
        "writeOnly": True,
        "additionalProperties": False,
        "properties": {
            "checksum": {"type": "string", "minLength": 32,
                         "maxLength": 32},
            "os_hash_algo": {"type": "string", "maxLength": 64},
            "os_hash_value": {"type": "string", "maxLength": 128},
        },
        "required": ["os_hash_algo", "os_hash_value"],
    }
    return {
        "type": "object",
        "properties": {
            "url": {"type": "string", "maxLength": 255},
            "metadata": {"type": "object"},
            "validation_data": validation_data,
        },
        "required": ["url", "metadata"],
    }


def _identity_properties():
    return {
        "id": _string(_("An identifier for the image"),
                      pattern=UUID_PATTERN),
        "name": _nullable("string", _("Descriptive name for the image"),
                          maxLength=255),
        "status": _read_only(_string(_("Status of the image"),
                                     enum=list(IMAGE_STATUSES))),
        "visibility": _string(_("Scope of image accessibility"),
                              enum=list(IMAGE_VISIBILITIES)),
        "protected": {"type": "boolean",
                      "description": _("If true, image will not be "
                                       "deletable.")},
        "os_hidden": {"type": "boolean",
                      "description": _("If true, image will not appear in "
                                       "default image list response.")},
    }


def _data_properties(disk_formats, container_formats):
    return {
        "checksum": _read_only(_nullable(
            "string", _("md5 hash of image contents."), maxLength=32)),
        "os_hash_algo": _read_only(_nullable(
            "string", _("Algorithm to calculate the os_hash_value"),
            maxLength=64)),
        "os_hash_value": _read_only(_nullable(
            "string", _("Hexdigest of the image contents using the "
                        "algorithm specified by the os_hash_algo"),
            maxLength=128)),
        "owner": _nullable("string", _("Owner of the image"),
                           maxLength=255),
        "size": _read_only(_nullable(
            "integer", _("Size of image file in bytes"))),
        "virtual_size": _read_only(_nullable(
            "integer", _("Virtual size of image in bytes"))),
        "container_format": _nullable(
            "string", _("Format of the container"),
            enum=[None] + list(container_formats)),
        "disk_format": _nullable(
            "string", _("Format of the disk"),
            enum=[None] + list(disk_formats)),
    }


def _bookkeeping_properties():
    return {
        "created_at": _read_only(_string(
            _("Date and time of image registration"))),
        "updated_at": _read_only(_string(
            _("Date and time of the last image modification"))),
        "tags": {"type": "array",
                 "description": _("List of strings related to the image"),
                 "items": {"type": "string", "maxLength": 255}},
        "direct_url": _read_only(_string(
            _("URL to access the image file kept in external store"))),
        "min_ram": {"type": "integer",
                    "description": _("Amount of ram (in MB) required to "
                                     "boot image.")},
        "min_disk": {"type": "integer",
                     "description": _("Amount of disk space (in GB) "
                                      "required to boot image.")},
        "self": _read_only(_string(_("An image self url"))),
        "file": _read_only(_string(_("An image file url"))),
        "stores": _read_only(_string(
            _("Store in which image data resides.  Only present when the "
              "operator has enabled multiple stores.  May be a "
              "comma-separated list of store identifiers."))),
        "schema": _read_only(_string(_("An image schema url"))),
        "locations": {
            "type": "array",
            "items": _location_items(),
            "description": _("A set of URLs to access the image file kept "
                             "in external store"),
        },
    }


def get_base_image_properties(disk_formats=None, container_formats=None):
    """The image's own (base) properties, as JSON-schema fragments."""
    if disk_formats is None:
        disk_formats = CONF.image_format.disk_formats
    if container_formats is None:
        container_formats = CONF.image_format.container_formats
    properties = _identity_properties()
    properties.update(_data_properties(disk_formats, container_formats))
    properties.update(_bookkeeping_properties())
    return properties


def get_image_links():
    return [
        {"rel": "self", "href": "{self}"},
        {"rel": "enclosure", "href": "{file}"},
        {"rel": "describedby", "href": "{schema}"},
    ]


_PROPERTY_KEYS_DOC = ("https://docs.openstack.org/python-glanceclient/"
                      "latest/cli/property-keys.html")

# What Glance ships as etc/schema-image.json: the well-known custom
# properties published in the image schema. An operator's own
# schema-image.json (found beside the configuration files) replaces it.
DEFAULT_CUSTOM_PROPERTIES = {
    "kernel_id": {
        "type": ["null", "string"],
        "pattern": UUID_PATTERN,
        "description": "ID of image stored in Glance that should be used as "
                       "the kernel when booting an AMI-style image.",
    },
    "ramdisk_id": {
        "type": ["null", "string"],
        "pattern": UUID_PATTERN,
        "description": "ID of image stored in Glance that should be used as "
                       "the ramdisk when booting an AMI-style image.",
    },
    "instance_uuid": {
        "type": "string",
        "description": "Metadata which can be used to record which instance "
                       "this image is associated with. (Informational only, "
                       "does not create an instance snapshot.)",
    },
    "architecture": {
        "description": "Operating system architecture as specified in "
                       + _PROPERTY_KEYS_DOC,
        "type": "string",
    },
    "os_distro": {
        "description": "Common name of operating system distribution as "
                       "specified in " + _PROPERTY_KEYS_DOC,
        "type": "string",
    },
    "os_version": {
        "description": "Operating system version as specified by the "
                       "distributor.",
        "type": "string",
    },
    "description": {
        "description": "A human-readable string describing this image.",
        "type": "string",
    },
}


def _custom_properties_path():
    try:
        return CONF.find_file(CUSTOM_PROPERTIES_FILE)
    except cfg.Error:
        return None


def load_custom_properties(path=None):
    """The extra image properties to publish, from ``schema-image.json``.

    ``path`` defaults to the file found beside the configuration files;
    without one, the properties Glance ships are used.
    """
    path = path or _custom_properties_path()
    if not path:
        return copy.deepcopy(DEFAULT_CUSTOM_PROPERTIES)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise exception.SchemaLoadError(
            reason=_("cannot read %(path)s: %(err)s") % {"path": path,
                                                          "err": e}) from e
    if not isinstance(data, dict) or not all(
            isinstance(v, dict) for v in data.values()):
        raise exception.SchemaLoadError(
            reason=_("%s must map property names to JSON-schema "
                     "objects") % path)
    return data


def build_image_schema(custom_properties=None, disk_formats=None,
                       container_formats=None):
    """A new image schema: base properties plus ``custom_properties``.

    Custom properties are marked ``"is_base": false`` in the published
    document, as Glance does.
    """
    image = schema.PermissiveSchema(
        "image", get_base_image_properties(disk_formats, container_formats),
        get_image_links())
    if custom_properties:
        extra = copy.deepcopy(custom_properties)
        for prop in extra.values():
            prop["is_base"] = False
        image.merge_properties(extra)
    return image


_cache_lock = threading.Lock()
_image_cache = {}


def _file_stamp(path):
    try:
        st = os.stat(path)
        return (path, st.st_mtime_ns, st.st_size)
    except OSError:
        return (path, None, None)


def _image_cache_key():
    path = _custom_properties_path()
    return (tuple(CONF.image_format.disk_formats),
            tuple(CONF.image_format.container_formats),
            _file_stamp(path) if path else None)


def get_image_schema():
    """The image schema for the current configuration (cached; shared).

    Callers must not modify the returned object.
    """
    key = _image_cache_key()
    with _cache_lock:
        cached = _image_cache.get(key)
        if cached is None:
            path = key[2][0] if key[2] else None
            cached = build_image_schema(load_custom_properties(path))
            _image_cache.clear()
            _image_cache[key] = cached
        return cached


def get_images_schema():
    return schema.CollectionSchema("images", get_image_schema())


def reset_cache():
    """Forget cached image schemas (tests, configuration reloads)."""
    with _cache_lock:
        _image_cache.clear()


# -- members --

def _member_properties():
    return {
        "member_id": _string(
            _("An identifier for the image member (tenantId)")),
        "image_id": _string(_("An identifier for the image"),
                            pattern=UUID_PATTERN),
        "created_at": _string(_("Date and time of image member creation")),
        "updated_at": _string(
            _("Date and time of last modification of image member")),
        "status": _string(_("The status of this image member"),
                          enum=list(MEMBER_STATUSES)),
        "schema": {"readOnly": True, "type": "string"},
    }


_MEMBER_SCHEMA = schema.Schema("member", _member_properties())
_MEMBERS_SCHEMA = schema.CollectionSchema("members", _MEMBER_SCHEMA)


def get_member_schema():
    return _MEMBER_SCHEMA


def get_members_schema():
    return _MEMBERS_SCHEMA


# -- tasks --

def _task_properties():
    return {
        "id": _string(_("An identifier for the task"),
                      pattern=UUID_PATTERN),
        # keys in Glance's order: an error message prints this schema
        "type": {"description":
                 _("The type of task represented by this content"),
                 "enum": list(TASK_TYPES), "type": "string"},
        "status": _string(_("The current status of this task"),
                          enum=list(TASK_STATUSES)),
        "input": _nullable("object",
                           _("The parameters required by task, JSON blob")),
        "result": _nullable("object",
                            _("The result of current task, JSON blob")),
        "owner": _string(_("An identifier for the owner of this task")),
        "message": _string(_("Human-readable informative message only "
                             "included when appropriate (usually on "
                             "failure)")),
        "image_id": _string(_("Image associated with the task")),
        "request_id": _string(_("Human-readable informative request-id")),
        "user_id": _string(_("User associated with the task")),
        "expires_at": _nullable(
            "string", _("Datetime when this resource would be subject to "
                        "removal")),
        "created_at": _string(_("Datetime when this resource was created")),
        "updated_at": _string(_("Datetime when this resource was updated")),
        "self": {"readOnly": True, "type": "string"},
        "schema": {"readOnly": True, "type": "string"},
    }


# The list view leaves out the bulky fields.
_TASK_STUB_HIDDEN = ("input", "result", "message")

_TASK_SCHEMA = schema.Schema("task", _task_properties())
_TASK_STUB_SCHEMA = schema.Schema(
    "task", {k: v for k, v in _task_properties().items()
             if k not in _TASK_STUB_HIDDEN})
_TASKS_SCHEMA = schema.CollectionSchema("tasks", _TASK_STUB_SCHEMA)


def get_task_schema():
    return _TASK_SCHEMA


def get_task_stub_schema():
    """The task as shown in lists (no input, result or message)."""
    return _TASK_STUB_SCHEMA


def get_tasks_schema():
    return _TASKS_SCHEMA


# -- HTTP --

class Controller:
    """Serves the schema documents; anyone authenticated may read them.

    The image documents are the full ones (``raw``); member and task
    documents are the short ones (``minimal``), as Glance publishes them.
    """

    def image(self, req):
        return get_image_schema().raw()

    def images(self, req):
        return get_images_schema().raw()

    def member(self, req):
        return get_member_schema().minimal()

    def members(self, req):
        return get_members_schema().minimal()

    def task(self, req):
        return get_task_schema().minimal()

    def tasks(self, req):
        return get_tasks_schema().minimal()


def create_resource():
    """The schemas resource for the router."""
    return wsgi.Resource(Controller())
