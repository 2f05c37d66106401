"""Creating the glance_store stores at start-up, single or multi-store.

With no store configuration the file stores live under ``state_path``:
``images/`` (single store), ``images/<store id>`` (multi-store), the
staging directory and ``tasks/`` for the reserved stores.
"""
import contextlib
import importlib
import logging as std_logging

import glance_store
from oslo_config import cfg

from glance.common import config
from glance.i18n import _

CONF = cfg.CONF

RESERVED_STORES = {"os_glance_staging_store": "file",
                   "os_glance_tasks_store": "file"}

# Store types whose glance_store driver needs a library of an extra.
DRIVER_LIBRARIES = {"s3": ("boto3", "s3"),
                    "swift": ("swiftclient", "swift")}


def initialize_stores():
    """Create the configured stores: multi-store or single-store."""
    with _quiet_driver_loading():
        if CONF.enabled_backends:
            initialize_multi_store()
        else:
            initialize_glance_store()


@contextlib.contextmanager
def _quiet_driver_loading():
    """glance_store loads every driver for its options; one missing an
    optional library (cinder without os-brick) is not an error of ours.
    A configured store that cannot load still fails verification."""
    logger = std_logging.getLogger("stevedore.extension")
    level = logger.level
    logger.setLevel(std_logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def initialize_glance_store():
    """Single store: ``[glance_store] stores`` and ``default_store``."""
    glance_store.register_opts(CONF)
    check_driver_libraries(CONF.glance_store.stores)
    CONF.set_default("filesystem_store_datadir", config.state_path("images"),
                     group="glance_store")
    glance_store.create_stores(CONF)
    glance_store.verify_default_store()


def initialize_multi_store():
    """Multi-store: ``enabled_backends`` plus the reserved file stores.

    The reserved staging and tasks stores default to the staging directory
    and ``<state_path>/tasks``; file backends to ``<state_path>/images/<id>``.
    """
    clash = sorted(set(CONF.enabled_backends) & set(RESERVED_STORES))
    if clash:
        raise RuntimeError(_("enabled_backends uses the reserved store "
                             "name(s) %s") % ", ".join(clash))
    check_driver_libraries(CONF.enabled_backends.values())
    glance_store.register_store_opts(CONF, reserved_stores=RESERVED_STORES)
    _default_datadir("os_glance_staging_store", config.staging_dir())
    _default_datadir("os_glance_tasks_store", config.state_path("tasks"))
    for store_id, kind in CONF.enabled_backends.items():
        if kind == "file" and store_id not in RESERVED_STORES:
            _default_datadir(store_id, config.state_path("images", store_id))
    glance_store.create_multi_stores(CONF, reserved_stores=RESERVED_STORES)
    glance_store.verify_store()


def _default_datadir(group, path):
    """Point a file store left unconfigured at ``path`` under state_path.

    An override, not a default: glance_store registers its options again
    when it creates the stores, which would wipe a changed default.
    """
    opt = CONF[group]._group._opts["filesystem_store_datadir"]["opt"]
    if CONF[group].filesystem_store_datadir in (None, opt.default):
        CONF.set_override("filesystem_store_datadir", path, group=group)


def check_driver_libraries(store_types):
    """Stop with a clear message when a configured store's driver lacks
    its library (glance_store would only say the store is unknown)."""
    for kind in sorted(set(store_types)):
        library, extra = DRIVER_LIBRARIES.get(kind, (None, None))
        if library is None:
            continue
        try:
            importlib.import_module(library)
        except ImportError as e:
            raise RuntimeError(
                _("The %(kind)s store needs the %(lib)s library: install "
                  "glance with its '%(extra)s' extra (pip install "
                  "'glance[%(extra)s]'); %(err)s")
                % {"kind": kind, "lib": library, "extra": extra,
                   "err": e}) from e
