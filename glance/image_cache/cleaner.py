"""The cleaner: removes invalid cache files and incomplete files nobody
wrote to for ``image_cache_stall_time`` seconds."""
from glance.image_cache import base


class Cleaner(base.CacheApp):
    """``run()`` -> ``(files removed, bytes removed)``."""

    def __init__(self, cache=None, stall_time=None):
        super().__init__(cache)
        self.stall_time = stall_time

    def run(self):
        return self.cache.clean(stall_time=self.stall_time)
