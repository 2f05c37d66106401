"""JSON-patch request bodies of ``PATCH /v2/images/{id}``.

Two media types, as in Glance: ``application/openstack-images-v2.1-json-
patch`` (RFC 6902 style ``{"op": "add", "path": "/x", "value": ...}``) and
``application/openstack-images-v2.0-json-patch`` (the older draft form
``{"add": "/x", "value": ...}``, where ``add`` of an existing property is
a conflict).
"""
import re

from glance.common import exception
from glance.i18n import _

MEDIA_TYPE_21 = "application/openstack-images-v2.1-json-patch"
MEDIA_TYPE_20 = "application/openstack-images-v2.0-json-patch"
MEDIA_TYPES = (MEDIA_TYPE_21, MEDIA_TYPE_20)
OPERATIONS = ("add", "remove", "replace")

_POINTER_RE = re.compile(r"^/(?:[^/~]|~0|~1)*(?:/(?:[^/~]|~0|~1)*)*$")


def parse(changes, media_type):
    """A list of ``{"op", "path": [segments], "value"?, "strict_add"}``."""
    if not isinstance(changes, list):
        raise exception.Invalid(_("Request body must be a JSON array of "
                                  "operation objects."))
    return [_parse_change(change, media_type) for change in changes]


def _parse_change(raw, media_type):
    if not isinstance(raw, dict):
        raise exception.Invalid(_("Operations must be JSON objects."))
    if media_type == MEDIA_TYPE_20:
        op, path = _draft_op(raw)
    else:
        op, path = raw.get("op"), raw.get("path")
        if op not in OPERATIONS:
            raise exception.Invalid(
                _("Invalid operation: `%s`. It must be one of the "
                  "following: add, remove, replace.") % (op,))
        if path is None:
            raise exception.Invalid(
                _("Unable to find `path` in JSON Schema change. It must "
                  "be one of the following: add, remove, replace."))
    change = {"op": op, "path": decode_pointer(path),
              "strict_add": media_type == MEDIA_TYPE_20}
    if op in ("add", "replace"):
        if "value" not in raw:
            raise exception.Invalid(
                _("Operation \"%s\" requires a member named \"value\".")
                % op)
        change["value"] = raw["value"]
    return change


def _draft_op(raw):
    ops = [op for op in OPERATIONS if op in raw]
    if len(ops) != 1:
        raise exception.Invalid(
            _("Operation objects must contain exactly one member named "
              "\"add\", \"remove\", or \"replace\"."))
    return ops[0], raw[ops[0]]


def decode_pointer(pointer):
    """The segments of a JSON pointer such as ``/a/b~1c``."""
    if not isinstance(pointer, str) or not _POINTER_RE.match(pointer):
        raise exception.Invalid(_("Pointer `%s` does not start with \"/\" "
                                  "or contains an invalid escape.")
                                % (pointer,))
    segments = [part.replace("~1", "/").replace("~0", "~")
                for part in pointer[1:].split("/")]
    if any(part == "" for part in segments):
        raise exception.Invalid(_("Pointer `%s` contains adjacent \"/\".")
                                % pointer)
    return segments
