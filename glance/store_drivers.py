"""What ``glance.store`` needs to know about particular glance_store drivers.

glance_store's drivers differ in ways its ``get``/``delete`` calls do not
hide:

- some (s3, http) cannot read from an offset: glance_store refuses a
  ``get`` with an offset or a length for them
  (StoreRandomGetNotSupported). ``random_access`` tells them apart and
  ``cut`` takes the bytes a Range asks for out of the whole object (the
  bytes skipped are still transferred from the store);
- the http store is read-only: its data belongs to someone else, so it
  is never written (glance_store refuses with StoreAddDisabled) nor
  deleted (``read_only``).
"""
import urllib.parse

import glance_store
from glance_store import capabilities
from oslo_config import cfg

CONF = cfg.CONF

# Location schemes of stores whose data Glance must never delete.
READ_ONLY_SCHEMES = frozenset(("http", "https"))


def scheme_of(url):
    return urllib.parse.urlsplit(url).scheme.lower()


def read_only(url):
    """Whether the data at ``url`` belongs to a read-only store."""
    return scheme_of(url) in READ_ONLY_SCHEMES


def driver_for(url, backend=None):
    """The glance_store driver holding ``url`` (``backend`` names it in
    multi-store mode); UnknownScheme if none is configured."""
    if CONF.enabled_backends:
        if backend:
            return glance_store.get_store_from_store_identifier(backend)
        for store_id in CONF.enabled_backends:
            store = glance_store.get_store_from_store_identifier(store_id)
            if scheme_of(url) in store.get_schemes():
                return store
        raise glance_store.UnknownScheme(scheme=scheme_of(url))
    return glance_store.get_store_from_uri(url)


def random_access(url, backend=None):
    """Whether the driver holding ``url`` can read from an offset."""
    try:
        store = driver_for(url, backend)
    except glance_store.UnknownScheme:
        return True   # let glance_store's get say what is wrong
    return store.is_capable(capabilities.BitMasks.READ_RANDOM)


def cut(data, offset, length):
    """The chunks of ``data`` from byte ``offset``, ``length`` bytes long
    (None: to the end); ``data`` is closed when they are done."""
    if not offset and length is None:
        return data
    return _cut(data, offset or 0, length)


def _cut(data, skip, left):
    chunks = iter(data)
    try:
        for chunk in chunks:
            if skip:
                if len(chunk) <= skip:
                    skip -= len(chunk)
                    continue
                chunk = chunk[skip:]
                skip = 0
            if left is not None:
                if len(chunk) >= left:
                    if left:
                        yield chunk[:left]
                    return
                left -= len(chunk)
            yield chunk
    finally:
        _close(chunks, data)


def _close(*iterables):
    """Close what a read left open. glance_store's ``Indexable`` (http,
    s3) has no ``close``: the iterator it wraps holds the connection."""
    for obj in iterables:
        for target in (obj, getattr(obj, "wrapped", None)):
            close = getattr(target, "close", None)
            if close is not None:
                close()
