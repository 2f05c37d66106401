"""What this deployment offers: import methods, stores, quota usage."""
from oslo_config import cfg

from glance import policy
from glance.common import exception
from glance.common import store_setup
from glance.i18n import _
from glance.services import quota

CONF = cfg.CONF

RESERVED_STORES = tuple(store_setup.RESERVED_STORES)
READ_ONLY_TYPES = ("http",)


def enabled_backends():
    """{store id: store type} of the user-facing stores (multi-store)."""
    # glance_store adds the reserved stores to the option: not user-facing
    return {k: v for k, v in (CONF.enabled_backends or {}).items()
            if k not in RESERVED_STORES}


def writable_backends():
    """The user-facing store ids data can be written to: not the
    read-only http stores (what ``all_stores`` means, as in Glance)."""
    return [k for k, v in enabled_backends().items()
            if v not in READ_ONLY_TYPES]


def store_ids():
    """Store ids a client may name, reserved ones last; [] single-store."""
    backends = enabled_backends()
    if not backends:
        return []
    return list(backends) + list(RESERVED_STORES)


def default_backend():
    try:
        return CONF.glance_store.default_backend
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return None


def import_info():
    return {"import-methods": {
        "description": "Import methods available.",
        "type": "array",
        "value": list(CONF.enabled_import_methods)}}


def stores_info(context, detail=False):
    """The ``stores`` list; 404 when multi-store is not configured."""
    backends = enabled_backends()
    if not backends:
        raise exception.NotFound(
            _("Multi backend is not supported at this site."))
    if detail:
        policy.enforce(context, "stores_info_detail", {})
    default = default_backend()
    stores = []
    for store_id, store_type in backends.items():
        entry = {"id": store_id}
        description = _description(store_id)
        if description:
            entry["description"] = description
        if store_id == default:
            entry["default"] = "true"  # a string, as Glance sends it
        if store_type in READ_ONLY_TYPES:
            entry["read-only"] = "true"
        if detail:
            entry["type"] = store_type
            entry["properties"] = _properties(store_id, store_type)
            entry["weight"] = store_weight(store_id)
        stores.append(entry)
    return {"stores": stores}


def _store_option(store_id, name, default=None):
    """``[<store_id>] <name>``; glance_store resets the defaults of its
    options to None once the stores are made (they keep their values),
    so an unset option reads as its declared default."""
    try:
        group = getattr(CONF, store_id)
        value = getattr(group, name)
        if value is None:
            value = group._group._opts[name]["opt"].default
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError,
            KeyError):
        return default
    return default if value is None else value


def _description(store_id):
    return _store_option(store_id, "store_description")


# What stores/detail shows of each store type's configuration, as Glance
# does: {type: ((shown name, option name, default), ...)}
_PROPERTIES = {
    "file": (("data_dir", "filesystem_store_datadir", None),
             ("chunk_size", "filesystem_store_chunk_size", 65536),
             ("thin_provisioning", "filesystem_thin_provisioning", False)),
    "rbd": (("chunk_size", "rbd_store_chunk_size", 8),
            ("pool", "rbd_store_pool", "images"),
            ("thin_provisioning", "rbd_thin_provisioning", False)),
    "cinder": (("volume_type", "cinder_volume_type", None),
               ("use_multipath", "cinder_use_multipath", False)),
    "swift": (("container", "swift_store_container", None),
              ("large_object_size", "swift_store_large_object_size", None),
              ("large_object_chunk_size",
               "swift_store_large_object_chunk_size", None)),
    "s3": (("large_object_size", "s3_store_large_object_size", None),
           ("large_object_chunk_size", "s3_store_large_object_chunk_size",
            None),
           ("thread_pools", "s3_store_thread_pools", None)),
}


def _properties(store_id, store_type):
    props = {shown: _store_option(store_id, option, default)
             for shown, option, default in _PROPERTIES.get(store_type, ())}
    if store_type == "rbd" and isinstance(props["chunk_size"], int):
        props["chunk_size"] *= 1024 * 1024   # configured in MiB
    return props


def store_weight(store_id):
    """The ``[<store>] weight`` option (0 when unset or unknown): the
    stores of an image are listed heaviest first."""
    weight = _store_option(store_id, "weight", 0) if store_id else 0
    return weight if isinstance(weight, int) else 0


def sort_locations(locations):
    """``locations`` heaviest store first (stable), as Glance orders an
    image's locations in multi-store deployments."""
    locations = list(locations)
    if len(locations) < 2 or not enabled_backends():
        return locations     # most images have one location
    return sorted(locations, key=lambda loc: store_weight(
        (loc.get("metadata") or {}).get("store")), reverse=True)


def usage(context):
    """Quota usage of the caller's project, as /v2/info/usage shows it:
    Keystone's limits for the image service and what the project uses
    (``glance.services.quota``); empty without ``use_keystone_limits``,
    as in Glance."""
    return {"usage": quota.usage(context)}
