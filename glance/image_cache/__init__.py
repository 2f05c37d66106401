"""The image cache: an LRU of image files on the local disk of a node.

:class:`ImageCache` is the one facade every user goes through (the
download service, the cache API, the prefetcher, pruner and cleaner); it
holds a driver (:mod:`glance.image_cache.drivers`) that keeps the files and
their index. Downloads read it through :meth:`ImageCache.read_image` and
fill it through :meth:`ImageCache.fill`. Data enters the cache only through
:meth:`ImageCache.cache_tee_iter` (a download passing by) or
:meth:`ImageCache.cache_image_iter` (the prefetcher), both of which verify
the image's checksum before the file is renamed into place.
"""
import contextlib
import hashlib
import os
import time

from oslo_config import cfg
from oslo_log import log as logging

from glance.common import config
from glance.common import file_body
from glance.common import memory
from glance.common import utils
from glance.i18n import _
from glance.image_cache import drivers
from glance.image_cache.drivers import base as driver_base

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

CHUNK_SIZE = 64 * 1024
# chunks teed into the cache from a local file; chunks in flight at once
TEE_CHUNK_SIZE = 8 * 1024 * 1024
WRITE_BEHIND = 3

image_cache_opts = [
    cfg.StrOpt("image_cache_dir",
               sample_default="<state_path>/image-cache",
               help=_("Base directory of the image cache; defaults to "
                      "'image-cache' under state_path.")),
    cfg.StrOpt("image_cache_driver", default="sqlite",
               help=_("Driver keeping the index of the image cache: "
                      "'sqlite' (a file in image_cache_dir) or "
                      "'centralized_db' (the main database, per node: "
                      "needs worker_self_reference_url); other names "
                      "fall back to 'sqlite'.")),
    cfg.IntOpt("image_cache_max_size", default=10 * 1024 ** 3, min=0,
               help=_("Size in bytes the pruner brings the image cache "
                      "down to (least recently used images go first).")),
    cfg.IntOpt("image_cache_stall_time", default=86400, min=0,
               help=_("Seconds after which the cleaner removes an "
                      "incomplete cache file nobody wrote to.")),
    cfg.StrOpt("image_cache_sqlite_db", default="cache.db",
               help=_("File name of the SQLite index, inside "
                      "image_cache_dir.")),
    cfg.IntOpt("cache_prefetcher_interval", default=300, min=1,
               help=_("Seconds between two runs of glance-api's "
                      "periodic prefetcher of queued images.")),
]

CONF.register_opts(image_cache_opts)


def list_opts():
    """The options of the image cache, for glance.opts."""
    return [(None, image_cache_opts)]


def cache_dir():
    """The configured cache directory (not created here)."""
    return CONF.image_cache_dir or config.state_path("image-cache")


class ImageCache:
    """The node's image cache; see the module docstring."""

    def __init__(self):
        self.driver_class = None
        self.driver = None
        self.init_driver()

    # --- the driver ---

    def init_driver(self):
        """Load the configured driver (SQLite if it cannot be loaded)."""
        name = CONF.image_cache_driver
        try:
            self.driver_class = drivers.driver_class(name)
        except ImportError:
            LOG.warning("Image cache driver %r is not available; using "
                        "the SQLite driver", name)
            self.driver_class = drivers.driver_class(drivers.DEFAULT)
        self.configure_driver()

    def configure_driver(self):
        """Configure the driver, falling back to SQLite if that fails."""
        try:
            self.driver = self._make_driver(self.driver_class)
        except Exception:
            fallback = drivers.driver_class(drivers.DEFAULT)
            if self.driver_class is fallback:
                raise
            LOG.exception("Image cache driver %s failed to configure; "
                          "falling back to the SQLite driver",
                          self.driver_class.__module__)
            self.driver_class = fallback
            self.driver = self._make_driver(fallback)

    @staticmethod
    def _make_driver(cls):
        driver = cls(cache_dir(), CONF.image_cache_max_size,
                     **_driver_kwargs(cls))
        driver.configure()
        return driver

    # --- queries ---

    def is_cached(self, image_id):
        return self.driver.is_cached(image_id)

    def is_queued(self, image_id):
        return self.driver.is_queued(image_id)

    def get_cache_size(self):
        return self.driver.get_cache_size()

    def get_hit_count(self, image_id):
        return self.driver.get_hit_count(image_id)

    def get_cached_images(self):
        return self.driver.get_cached_images()

    def get_queued_images(self):
        """Queued image ids, first queued first."""
        return self.driver.get_queued_images()

    def get_image_size(self, image_id):
        return self.driver.get_image_size(image_id)

    def get_cached_nodes(self, image_id):
        """URLs of the nodes caching ``image_id``: the ``centralized_db``
        driver knows them; None from a driver that knows only its node."""
        nodes = getattr(self.driver, "get_cached_nodes", None)
        return nodes(image_id) if nodes is not None else None

    # --- changes ---

    def queue_image(self, image_id):
        """Queue for the prefetcher; False if queued or cached already."""
        return self.driver.queue_image(image_id)

    def delete_cached_image(self, image_id):
        return self.driver.delete_cached_image(image_id)

    def delete_all_cached_images(self):
        """Empty the cache; the number of images removed."""
        return self.driver.delete_all_cached_images()

    def delete_queued_image(self, image_id):
        return self.driver.delete_queued_image(image_id)

    def delete_all_queued_images(self):
        return self.driver.delete_all_queued_images()

    # --- maintenance ---

    def prune(self):
        """Evict least recently used images until the cache holds at most
        ``image_cache_max_size`` bytes; ``(files removed, bytes removed)``.
        """
        max_size = CONF.image_cache_max_size
        entries = self.driver.get_least_recently_accessed()
        size = sum(entry["size"] for entry in entries)
        if size <= max_size:
            LOG.debug("Image cache holds %(size)d bytes, limit %(max)d: "
                      "nothing to prune", {"size": size, "max": max_size})
            return 0, 0
        victims = []
        nbytes = 0
        for entry in entries:
            if size - nbytes <= max_size:
                break
            victims.append(entry["image_id"])
            nbytes += entry["size"]
        # one index transaction for all of them: pruning 10,000 entries
        # one commit at a time took seconds
        files = self.driver.delete_cached_images(victims)
        LOG.info("Pruned %(files)d image(s), %(bytes)d bytes, from the "
                 "image cache", {"files": files, "bytes": nbytes})
        return files, nbytes

    def clean(self, stall_time=None):
        """Remove invalid files and incomplete files untouched for
        ``stall_time`` seconds (``image_cache_stall_time``);
        ``(files removed, bytes removed)``."""
        if stall_time is None:
            stall_time = CONF.image_cache_stall_time
        invalid = self.driver.delete_invalid_files()
        stalled = self.driver.delete_stalled_files(time.time() - stall_time)
        return invalid[0] + stalled[0], invalid[1] + stalled[1]

    # --- reading ---

    @contextlib.contextmanager
    def open_for_read(self, image_id):
        """The cached file, open; the hit counts once the block ends
        without an error."""
        with self.driver.open_for_read(image_id) as f:
            yield f
        self.driver.record_hit(image_id)

    def read_iter(self, image_id, offset=0, length=None,
                  chunk_size=CHUNK_SIZE):
        """``(chunks, size)``: the cached data from ``offset``, a
        ``FileRegion`` (iterable, or sent by ``sendfile``); the hit counts
        when the last bytes are read. FileNotFoundError if the image is
        not cached (the file is open when this returns, so a later
        eviction does not cut the read short)."""
        f = self.driver.open_for_read(image_id)
        try:
            size = os.fstat(f.fileno()).st_size
            if length is None:
                length = max(size - offset, 0)
            f.seek(offset)
        except BaseException:
            f.close()
            raise
        return _CachedRegion(self.driver, image_id, f, length,
                             chunk_size), length

    # --- downloads (glance.services.image_data chooses the source) ---

    def read_image(self, image, offset=0, length=None):
        """``(chunks, length)`` of ``image``'s cached data from
        ``offset``, or None when the download must read a store: not
        cached, evicted meanwhile, or a cached file of the wrong size
        (dropped from the cache)."""
        image_id = image["id"]
        size = self.get_image_size(image_id)
        if size is None:
            return None
        if image["size"] is not None and size != image["size"]:
            LOG.error("Cached image %(id)s has %(got)s bytes, not %(want)s; "
                      "dropping it from the cache",
                      {"id": image_id, "got": size, "want": image["size"]})
            self.delete_cached_image(image_id)
            return None
        try:
            found = self.read_iter(image_id, offset, length)
        except FileNotFoundError:
            return None
        LOG.debug("Serving image %s from the cache", image_id)
        return found

    def fill(self, image, chunks, length):
        """``chunks`` (a whole image read from a store), teed into the
        cache unless the image is cached or being cached already. The
        cache file is put in place before the last chunk goes to the
        client, so its next request finds the image cached."""
        try:
            if not self.driver.is_cacheable(image["id"]):
                return chunks
        except Exception:  # noqa: BLE001 - never fail the download
            LOG.exception("Cannot tee image %s into the cache", image["id"])
            return chunks
        return _one_behind(self.cache_tee_iter(
            image["id"], chunks, image["checksum"], image_size=length))

    # --- writing ---

    def get_caching_iter(self, image_id, image_checksum, image_iter):
        """``image_iter``, teeing into the cache unless the image is cached
        or being cached already."""
        if not self.driver.is_cacheable(image_id):
            return image_iter
        return self.cache_tee_iter(image_id, image_iter, image_checksum)

    def cache_tee_iter(self, image_id, image_iter, image_checksum,
                       image_size=None):
        """Yield the chunks of ``image_iter`` and write the same chunks
        into the cache; the file goes into place when the whole image went
        by and its checksum matched. A client that goes away, or a source
        that fails, leaves nothing in the cache."""
        try:
            writer = self.driver.open_for_write(image_id)
        except (driver_base.CacheBusy, OSError) as e:
            LOG.debug("Not caching image %(id)s: %(e)r", {"id": image_id,
                                                          "e": e})
            yield from image_iter
            return
        md5 = hashlib.md5(usedforsecurity=False)
        yield from _write_behind(_large_chunks(image_iter), writer, md5)
        self._commit(writer, md5.hexdigest(), image_checksum, image_size)

    def _commit(self, writer, actual, expected, expected_size=None):
        ok = not expected or actual == expected
        if expected_size is not None and writer.size != expected_size:
            ok = False
        if not ok:
            LOG.error("Image %(id)s: checksum %(actual)s (%(size)d bytes) "
                      "does not match the expected %(expected)s; not "
                      "cached", {"id": writer.image_id, "actual": actual,
                                 "size": writer.size, "expected": expected})
        return writer.commit(checksum_ok=ok, checksum=actual)

    def cache_image_iter(self, image_id, image_iter, image_checksum=None,
                         image_size=None):
        """Write all of ``image_iter`` into the cache; whether the image
        is now cached (by this call or another writer)."""
        try:
            writer = self.driver.open_for_write(image_id)
        except driver_base.CacheBusy:
            return self.is_cached(image_id)
        md5 = hashlib.md5(usedforsecurity=False)
        for _chunk in _write_behind(_large_chunks(image_iter), writer, md5):
            pass
        return self._commit(writer, md5.hexdigest(), image_checksum,
                            image_size)

    def cache_image_file(self, image_id, image_file, image_checksum=None):
        """Copy an open binary file into the cache."""
        chunks = iter(lambda: image_file.read(CHUNK_SIZE), b"")
        return self.cache_image_iter(image_id, chunks, image_checksum)


def _one_behind(chunks):
    """``chunks``, one behind: what the iterator does after its last
    chunk is done before the consumer has the last one."""
    it = iter(chunks)
    try:
        held = next(it, None)
        if held is None:
            return
        for chunk in it:
            yield held
            held = chunk
        yield held
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()   # a client gone mid-body: the tee cleans up


def _large_chunks(image_iter):
    """``image_iter``, in large chunks when it reads a local file: each
    chunk costs two hand-offs to native threads (see ``_write_behind``).
    With ``data_direct_io`` they are read past the page cache (the
    store's copy of an image being cached is read once); by default the
    store's file is read through the page cache, where a new image
    usually still is."""
    region = getattr(image_iter, "body", image_iter)
    if isinstance(region, file_body.FileRegion) and \
            not region.read_direct(TEE_CHUNK_SIZE):
        region.chunk_size = max(region.chunk_size, TEE_CHUNK_SIZE)
    return image_iter


def _write_behind(chunks, writer, md5):
    """Yield ``chunks`` while each is hashed into ``md5`` and written by
    ``writer`` in two native threads (two lanes, each in order), at most
    ``WRITE_BEHIND`` chunks behind. ``chunks`` is closed at the end; on
    an error, or when the consumer stops early, the lanes are waited for
    and the writer aborted. The writer (``glance.common.filewriter``)
    copies the chunks into the cache file's pages in the page cache, so
    the first hit is served from memory (with ``data_direct_io``: past
    the page cache, O_DIRECT)."""
    with memory.transfer():
        yield from _write_behind_lanes(chunks, writer, md5)


def _write_behind_lanes(chunks, writer, md5):
    # glance.common.utils.Lanes, the upload's hashing lanes: at most
    # WRITE_BEHIND chunks in flight when one is handed on
    lanes = utils.Lanes((md5.update, writer.write), WRITE_BEHIND)
    try:
        for chunk in chunks:
            lanes.feed(chunk)
            yield chunk
        lanes.finish()
    except BaseException:
        lanes.stop()
        writer.abort()
        raise
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _driver_kwargs(cls):
    from glance.image_cache.drivers import sqlite
    if issubclass(cls, sqlite.Driver):
        return {"db_name": CONF.image_cache_sqlite_db}
    return {}


class _CachedRegion(file_body.FileRegion):
    """A cached file being served; a complete read counts as a hit."""

    def __init__(self, driver, image_id, f, length, chunk_size):
        super().__init__(f, length, chunk_size)
        self.driver = driver
        self.image_id = image_id

    def short(self):
        raise OSError(_("Cached image %s is shorter than expected")
                      % self.image_id)

    def done(self):
        try:
            self.driver.record_hit(self.image_id)
        except Exception:  # noqa: BLE001 - a lost count, not a lost read
            LOG.exception("Cannot count a hit of cached image %s",
                          self.image_id)
