"""glance-cache-prefetcher: cache the images queued for caching (cron job).

Reads the images from their stores, so ``glance-cache.conf`` needs the
``[database]`` and store sections of glance-api. On a terminal it shows
its progress (images done/total, bytes). Exit status 1 if an image could
not be cached.
"""
import sys

from glance.cmd import cache_common
from glance.common import bootstrap

PROG = "glance-cache-prefetcher"


def show_progress(done, total, nbytes):
    sys.stderr.write("\r%s: %d/%d images, %s cached" % (
        PROG, done, total, _human(nbytes)))
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _human(nbytes):
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if nbytes < 1024 or unit == "GiB":
            return ("%d %s" if unit == "bytes" else "%.1f %s") % (nbytes,
                                                                   unit)
        nbytes /= 1024.0
    return str(nbytes)


def main(argv=None):
    status = cache_common.setup(PROG, argv)
    if status is not None:
        return status
    from glance.image_cache import prefetcher
    from glance.services import cache as cache_service

    def job():
        bootstrap.setup_stores()
        progress = show_progress if sys.stderr.isatty() else None
        app = prefetcher.Prefetcher(
            progress=progress, source=cache_service.PrefetchSource())
        done, failed = app.run()
        if failed:
            raise RuntimeError("%d image(s) could not be cached (%d "
                               "cached); see the log" % (failed, done))
        return "Cached %d image(s), %d bytes" % (done, app.bytes_cached)
    return cache_common.run(PROG, job)


if __name__ == "__main__":
    sys.exit(main())
