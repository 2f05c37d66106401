"""glance-cache-cleaner: remove invalid image cache files and incomplete
ones nobody wrote to for ``image_cache_stall_time`` seconds (cron job).
"""
import sys

from glance.cmd import cache_common
from glance.common import bootstrap  # noqa: F401 - every entry point's step

PROG = "glance-cache-cleaner"


def main(argv=None):
    status = cache_common.setup(PROG, argv)
    if status is not None:
        return status
    from glance.image_cache import cleaner

    def job():
        files, nbytes = cleaner.Cleaner().run()
        return "Cleaned %d file(s), %d bytes" % (files, nbytes)
    return cache_common.run(PROG, job)


if __name__ == "__main__":
    sys.exit(main())
