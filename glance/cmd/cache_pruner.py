"""glance-cache-pruner: evict least recently used images from the image
cache until it holds at most ``image_cache_max_size`` bytes (cron job).
"""
import sys

from glance.cmd import cache_common
from glance.common import bootstrap  # noqa: F401 - every entry point's step

PROG = "glance-cache-pruner"


def main(argv=None):
    status = cache_common.setup(PROG, argv)
    if status is not None:
        return status
    from glance.image_cache import pruner

    def job():
        files, nbytes = pruner.Pruner().run()
        return "Pruned %d image(s), %d bytes" % (files, nbytes)
    return cache_common.run(PROG, job)


if __name__ == "__main__":
    sys.exit(main())
