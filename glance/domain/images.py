"""Image rules: which attributes exist, who may write them, status moves.

Plain data and functions over image dicts; no database, no HTTP.
"""
from glance.common import exception
from glance.i18n import _

# Columns of the image record that the API shows as top-level attributes.
BASE_ATTRIBUTES = frozenset([
    "id", "name", "status", "visibility", "protected", "os_hidden",
    "checksum", "os_hash_algo", "os_hash_value", "owner", "size",
    "virtual_size", "min_ram", "min_disk", "disk_format",
    "container_format", "created_at", "updated_at", "tags",
])

# Attributes the server computes; a client may never write them.
READ_ONLY = frozenset([
    "status", "size", "virtual_size", "checksum", "os_hash_algo",
    "os_hash_value", "created_at", "updated_at", "self", "file", "schema",
    "direct_url", "stores",
])

# Names kept for the service's own use.
RESERVED = frozenset(["location", "locations", "deleted", "deleted_at"])
RESERVED_PREFIX = "os_glance"

STATUSES = ("queued", "saving", "active", "killed", "deleted", "uploading",
            "importing", "pending_delete", "deactivated")
VISIBILITIES = ("community", "public", "private", "shared")

INT32_MAX = 2 ** 31 - 1

# status -> statuses it may move to (Glance's image state machine)
TRANSITIONS = {
    "queued": ("saving", "active", "deleted", "uploading", "importing"),
    "saving": ("active", "killed", "deleted", "queued"),
    "uploading": ("importing", "queued", "deleted"),
    "importing": ("active", "deleted", "queued"),
    "active": ("pending_delete", "deleted", "deactivated"),
    "killed": ("deleted",),
    "pending_delete": ("deleted",),
    "deleted": (),
    "deactivated": ("active", "deleted"),
}


def is_reserved(name):
    return name in RESERVED or name.startswith(RESERVED_PREFIX)


def check_writable(name, creating=False):
    """Refuse writes of read-only and reserved attributes (403)."""
    if name in READ_ONLY or (name == "id" and not creating):
        raise exception.Forbidden(_("Attribute '%s' is read-only.") % name)
    if is_reserved(name):
        raise exception.ReservedProperty(property=name)


def check_min_values(values):
    """min_ram/min_disk must be non-negative 32-bit integers (400)."""
    for key in ("min_ram", "min_disk"):
        value = values.get(key)
        if value is None:
            continue
        if value < 0:
            raise exception.InvalidParameterValue(
                value=value, param=key,
                extra_msg=_("Cannot be a negative value"))
        if value > INT32_MAX:
            raise exception.Invalid(
                _("'%(key)s' value out of range, must not exceed "
                  "%(max)d") % {"key": key, "max": INT32_MAX})


def split_body(body):
    """(base values, custom properties, tags) of a create/patch body."""
    base, props = {}, {}
    for key, value in body.items():
        if key == "tags":
            continue
        if key in BASE_ATTRIBUTES:
            base[key] = value
        else:
            props[key] = value
    tags = body.get("tags")
    return base, props, (dedup(tags) if tags is not None else None)


def dedup(items):
    """The items without repeats, first occurrence kept."""
    seen = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def check_quota(kind, attempted, maximum):
    """Raise the 413 of ``kind`` when ``attempted`` exceeds ``maximum``.

    A negative maximum means unlimited, as in Glance.
    """
    if maximum < 0 or attempted <= maximum:
        return
    errors = {"properties": exception.ImagePropertyLimitExceeded,
              "tags": exception.ImageTagLimitExceeded,
              "members": exception.ImageMemberLimitExceeded,
              "locations": exception.ImageLocationLimitExceeded}
    raise errors[kind](attempted=attempted, maximum=maximum)
