"""Index drivers of the image cache, by ``image_cache_driver`` name.

``sqlite`` (the default: an SQLite file in the cache directory) and
``centralized_db`` (the main database, per node) are built in; any other
name falls back to ``sqlite`` (with a warning), as Glance falls back
when a driver cannot be loaded.
"""
from oslo_utils import importutils

DEFAULT = "sqlite"


def driver_class(name):
    """The driver class called ``name``; ImportError if there is none."""
    if not name or "." in name or "/" in name:
        raise ImportError("No image cache driver %r" % (name,))
    return importutils.import_class("%s.%s.Driver" % (__name__, name))
