"""What the image cache API and the prefetcher do.

Each function reads top to bottom: find the image the caller may see,
authorize, act on the node's :class:`~glance.image_cache.ImageCache`.
The cache management calls are admin-only by default (``cache_list``,
``cache_image``, ``cache_delete``, ``manage_image_cache``).
"""
import threading

from oslo_config import cfg
from oslo_log import log as logging

from glance import async_
from glance.common import exception
from glance.common import process
from glance.i18n import _
from glance import image_cache
from glance.image_cache import base
from glance.image_cache import cleaner
from glance.image_cache import prefetcher
from glance.image_cache import pruner
from glance import policy
from glance.services import image_data
from glance.services import images

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

CLEAR_TARGETS = ("cache", "queue", "both")

_CACHE = None
_CACHE_LOCK = threading.Lock()
process.per_process(__name__, "_CACHE", locks=["_CACHE_LOCK"])


def get_cache():
    """The process's ImageCache, made on first use."""
    global _CACHE
    if _CACHE is None:
        with _CACHE_LOCK:
            if _CACHE is None:
                _CACHE = image_cache.ImageCache()
    return _CACHE


def reset():
    """Forget the process's ImageCache (tests; after a config change)."""
    global _CACHE
    _CACHE = None


# --- the cache management API ---

def list_cache(context):
    policy.enforce(context, "cache_list")
    cache = get_cache()
    return {"cached_images": [_entry(e) for e in cache.get_cached_images()],
            "queued_images": cache.get_queued_images()}


def _entry(row):
    return {"image_id": row["image_id"], "hits": row["hits"],
            "last_accessed": row["last_accessed"],
            "last_modified": row["last_modified"], "size": row["size"]}


def queue_image(context, image_id):
    """Queue an active image for the prefetcher, which starts at once."""
    image = images.find_image(context, image_id, _("Image %s not found."))
    policy.enforce(context, "cache_image", policy.image_target(image,
                                                               context))
    if image["status"] != "active":
        raise exception.BadRequest(
            _("Only images with status active can be targeted for "
              "queueing"))
    queued = get_cache().queue_image(image_id)
    if queued:
        start_prefetcher()
    return queued


def delete_cached_image(context, image_id):
    image = images.find_image(context, image_id)
    policy.enforce(context, "cache_delete", policy.image_target(image,
                                                                context))
    cache = get_cache()
    cache.delete_cached_image(image_id)
    cache.delete_queued_image(image_id)


def delete_queued_image(context, image_id):
    image = images.find_image(context, image_id)
    policy.enforce(context, "cache_delete", policy.image_target(image,
                                                                context))
    get_cache().delete_queued_image(image_id)


def clear(context, target="both"):
    """Empty the cache, the queue or both; the counts removed."""
    policy.enforce(context, "cache_delete")
    if target not in CLEAR_TARGETS:
        raise exception.BadRequest(
            _("If provided 'x-image-cache-clear-target' must be 'cache', "
              "'queue' or empty string."))
    cache = get_cache()
    result = {"cached_images": 0, "queued_images": 0}
    if target in ("cache", "both"):
        result["cached_images"] = cache.delete_all_cached_images()
    if target in ("queue", "both"):
        result["queued_images"] = cache.delete_all_queued_images()
    return result


def prune(context):
    policy.enforce(context, "cache_prune")
    files, nbytes = pruner.Pruner(get_cache()).run()
    return {"total_files_pruned": files, "total_bytes_pruned": nbytes}


def clean(context):
    policy.enforce(context, "cache_clean")
    files, nbytes = cleaner.Cleaner(get_cache()).run()
    return {"total_files_cleaned": files, "total_bytes_cleaned": nbytes}


# --- the legacy routes (glance-cache-manage's cached_images and
# queued_images): as in Glance, the one ``manage_image_cache`` policy for
# all of them, and a queued image waits for the prefetcher's next run.

def legacy_list(context):
    policy.enforce(context, "manage_image_cache")
    cache = get_cache()
    return {"cached_images": [_entry(e) for e in cache.get_cached_images()],
            "queued_images": cache.get_queued_images()}


def legacy_queue(context, image_id):
    policy.enforce(context, "manage_image_cache")
    images.find_image(context, image_id)  # queue files of images only
    get_cache().queue_image(image_id)


def legacy_delete(context, image_id, cached=True, queued=True):
    policy.enforce(context, "manage_image_cache")
    images.find_image(context, image_id)
    cache = get_cache()
    if cached:
        cache.delete_cached_image(image_id)
    if queued:
        cache.delete_queued_image(image_id)


def legacy_clear(context, target):
    """Empty the cache or the queue; the number of entries removed."""
    policy.enforce(context, "manage_image_cache")
    cache = get_cache()
    if target == "cache":
        return cache.delete_all_cached_images()
    return cache.delete_all_queued_images()


def cache_nodes(context, image_id, self_url=None):
    """URLs of the nodes whose cache holds ``image_id``:
    ``list_cached_nodes`` policy first, then 404 for an image the caller
    cannot see. The ``centralized_db`` driver knows every node; the SQLite
    index only this one, so it answers with this node when it holds the
    image (Glance 33's code answers 409 there; see doc/differences.rst)."""
    policy.enforce(context, "list_cached_nodes", {})
    images.find_image(context, image_id, _("Image %s not found."))
    cache = get_cache()
    nodes = cache.get_cached_nodes(image_id) \
        if CONF.image_cache_driver == "centralized_db" else None
    if nodes is not None:
        return nodes
    if not cache.is_cached(image_id):
        return []
    return [CONF.worker_self_reference_url or self_url or ""]


# --- the prefetcher in the daemon ---

class PrefetchSource:
    """What the prefetcher reads images through: the API's own image and
    download services (looked up at each call), as an admin."""

    @staticmethod
    def find_image(context, image_id):
        return images.find_image(context, image_id)

    @staticmethod
    def download(context, image_id):
        return image_data.download(context, image_id)


_PREFETCH_LOCK = threading.Lock()


def start_prefetcher():
    """Run the prefetcher in the background now (one run at a time per
    process; a run already going picks up what was queued)."""
    try:
        pool = async_.get_threadpool_model()(1)
    except async_.ThreadPoolModelNotSet:
        LOG.debug("No thread pool model; the queue waits for the "
                  "periodic prefetcher")
        return
    pool.spawn(run_prefetcher)
    pool.shutdown(wait=False)


def start_periodic_prefetcher(interval=None):
    """glance-api's periodic prefetcher: a background thread running the
    cron apps' ``run_forever`` over :func:`run_prefetcher` every
    ``cache_prefetcher_interval`` seconds."""
    interval = interval or CONF.cache_prefetcher_interval
    thread = threading.Thread(target=PeriodicPrefetch(get_cache()).run_forever,
                              args=(interval,), name="image-prefetcher",
                              daemon=True)
    thread.start()
    return thread


class PeriodicPrefetch(base.CacheApp):
    """The daemon's pass: the prefetcher, one pass at a time in this
    process (a queued image may have started one already)."""

    def run(self):
        return run_prefetcher()


def run_prefetcher():
    """One prefetcher pass unless one is running in this process."""
    if not _PREFETCH_LOCK.acquire(blocking=False):
        return None
    try:
        return prefetcher.Prefetcher(get_cache(),
                                     source=PrefetchSource()).run()
    except Exception:  # noqa: BLE001 - a background job logs and goes on
        LOG.exception("The image prefetcher failed")
        return None
    finally:
        _PREFETCH_LOCK.release()
