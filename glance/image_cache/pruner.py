"""The pruner: evicts least recently used images down to
``image_cache_max_size``."""
from glance.image_cache import base


class Pruner(base.CacheApp):
    """``run()`` -> ``(files removed, bytes removed)``."""

    def run(self):
        return self.cache.prune()
