"""The prefetcher: caches the images queued for caching.

``run()`` takes the queue (first queued first), reads each image from its
store as an admin, through the same download service as the API, and writes
it into the cache with its checksum verified. It goes round again while the
queue gets new entries, so an image queued during a run is not left for the
next one. A ``progress`` callable, when given, is told
``(images done, images total, bytes cached)`` after each image.

The images are read through a ``source`` the caller hands in (the image
and download services, ``glance.services.cache.PrefetchSource``): the
cache sits below the services and does not import them.
"""
from oslo_log import log as logging

from glance.common import exception
from glance import context as glance_context
from glance.image_cache import base

LOG = logging.getLogger(__name__)


class Prefetcher(base.CacheApp):
    """``run()`` -> ``(images cached, images failed)``.

    ``source.find_image(context, image_id)`` gives an image's dict
    (NotFound when there is none) and ``source.download(context,
    image_id)`` its data (``chunks``, None when it has none).
    """

    def __init__(self, cache=None, progress=None, *, source):
        super().__init__(cache)
        self.progress = progress
        self.source = source
        # an admin by role too: the download policy checks roles
        self.context = glance_context.RequestContext(
            is_admin=True, roles=["admin"], overwrite=False)
        self.bytes_cached = 0

    def fetch_image_into_cache(self, image_id):
        """Cache one image; whether it is cached now."""
        try:
            image = self.source.find_image(self.context, image_id)
        except exception.NotFound:
            LOG.warning("Image %s is queued for caching but does not "
                        "exist; dropping it from the queue", image_id)
            self.cache.delete_queued_image(image_id)
            return False
        if image["status"] != "active":
            LOG.warning("Image %(id)s is %(status)s, not active; not "
                        "caching it", {"id": image_id,
                                       "status": image["status"]})
            self.cache.delete_queued_image(image_id)
            return False
        if self.cache.is_cached(image_id):
            self.cache.delete_queued_image(image_id)
            return True
        if self.cache.driver.is_being_cached(image_id):
            LOG.debug("Image %s is being cached by another writer", image_id)
            return True
        data = self.source.download(self.context, image_id)
        if data.chunks is None:
            LOG.warning("Image %s has no data; not caching it", image_id)
            return False
        cached = self.cache.cache_image_iter(image_id, data.chunks,
                                             image["checksum"],
                                             image["size"])
        if cached:
            self.bytes_cached += image["size"] or 0
            LOG.info("Cached image %s", image_id)
        return cached

    def run(self):
        done, failed, seen = 0, 0, set()
        while True:
            todo = [i for i in self.cache.get_queued_images()
                    if i not in seen]
            if not todo:
                break
            total = len(seen) + len(todo)
            for image_id in todo:
                seen.add(image_id)
                if self._fetch(image_id):
                    done += 1
                else:
                    failed += 1
                if self.progress is not None:
                    self.progress(done + failed, total, self.bytes_cached)
        if seen:
            LOG.info("Prefetcher: %(done)d image(s) cached, %(failed)d "
                     "failed", {"done": done, "failed": failed})
        return done, failed

    def _fetch(self, image_id):
        try:
            return self.fetch_image_into_cache(image_id)
        except Exception:  # noqa: BLE001 - one image must not stop the rest
            LOG.exception("Failed to cache image %s", image_id)
            return False
