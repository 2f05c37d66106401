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

# How many segments a path may have per operation (Glance's limits):
# '/locations/N' adds or removes one location; everything else is flat.
_DEPTH = {"locations": {"add": 2, "remove": 2, "replace": 1}}


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
        op = raw.get("op")
        if op is None:
            raise exception.Invalid(
                _("Unable to find `op` in JSON Schema change. It must be "
                  "one of the following: add, remove, replace."))
        if op not in OPERATIONS:
            raise exception.Invalid(
                _("Invalid operation: `%s`. It must be one of the "
                  "following: add, remove, replace.") % (op,))
        if "path" not in raw:
            raise exception.Invalid(
                _("Unable to find 'path' in JSON Schema change"))
        path = raw["path"]
    segments = decode_pointer(path)
    _check_depth(op, segments)
    change = {"op": op, "path": segments,
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


def _check_depth(op, segments):
    if len(segments) != _DEPTH.get(segments[0], {}).get(op, 1):
        raise exception.Invalid(
            _("Invalid JSON pointer for this resource: '/%s'")
            % "/".join(segments))


def decode_pointer(pointer):
    """The segments of a JSON pointer such as ``/a/b~1c`` (spaces around
    a segment dropped, as Glance does)."""
    _check_pointer(pointer)
    return [part.replace("~1", "/").replace("~0", "~").strip()
            for part in pointer.lstrip("/").split("/")]


def _check_pointer(pointer):
    """Glance's checks of a pointer, in its order and with its words."""
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise exception.Invalid(_("Pointer `%s` does not start with "
                                  "\"/\".") % (pointer,))
    if re.search(r"/\s*?/", pointer[1:]):
        raise exception.Invalid(_("Pointer `%s` contains adjacent \"/\".")
                                % pointer)
    if len(pointer) > 1 and pointer.endswith("/"):
        raise exception.Invalid(_("Pointer `%s` end with \"/\".")
                                % pointer)
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise exception.Invalid(_("Pointer `%s` contains \"~\" not part of "
                                  "a recognized escape sequence.") % pointer)
