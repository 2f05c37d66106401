"""What this deployment offers: import methods, stores, quota usage."""
from oslo_config import cfg

from glance.api import policy
from glance.common import exception
from glance.common import store_setup
from glance.db import api as db
from glance.i18n import _

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
            entry["properties"] = {}
        stores.append(entry)
    return {"stores": stores}


def _description(store_id):
    try:
        return getattr(CONF, store_id).store_description
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError, AttributeError):
        return None


def usage(context):
    """Quota usage of the caller's project, as /v2/info/usage shows it.

    Glance reports usage only with keystone's unified limits; without
    them the document is empty. With them, the limits we know locally are
    shown (-1: unlimited).
    """
    if not CONF.use_keystone_limits:
        return {"usage": {}}
    owner = context.project_id
    return {"usage": {
        "image_size_total": {"limit": _storage_limit(),
                             "usage": db.user_get_storage_usage(owner)},
        "image_count_total": {"limit": -1,
                              "usage": db.image_count_for_owner(owner)},
        "image_stage_total": {"limit": -1, "usage": 0},
        "image_count_uploading": {
            "limit": -1,
            "usage": db.image_count_for_owner(owner, status="uploading")},
    }}


def _storage_limit():
    from glance.common import units
    limit = units.parse_size(CONF.user_storage_quota)
    return limit if limit > 0 else -1
