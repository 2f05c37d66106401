"""``CacheApp``: the shape shared by the cleaner, pruner and prefetcher.

Each app has one ``run()``: a single pass over the cache, returning what it
did. Cron (the ``glance-cache-*`` console scripts), the cache API's
``prune``/``clean`` endpoints and glance-api's periodic prefetcher all call
that same ``run()``; :meth:`CacheApp.run_forever` repeats it on an
interval.
"""
import threading

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class CacheApp:
    """A job over the node's image cache."""

    def __init__(self, cache=None):
        if cache is None:
            from glance import image_cache
            cache = image_cache.ImageCache()
        self.cache = cache

    def run(self):
        """One pass; what it did."""
        raise NotImplementedError

    def run_forever(self, interval, stop=None):
        """``run()`` every ``interval`` seconds until ``stop`` (an Event)
        is set; a failing pass is logged and the loop goes on."""
        stop = stop or threading.Event()
        while not stop.wait(interval):
            try:
                self.run()
            except Exception:  # noqa: BLE001 - a periodic job goes on
                LOG.exception("%s failed; trying again in %ss",
                              type(self).__name__, interval)
