"""Image cache benchmark: a teeing first download, a cache hit, pruning.

Starts ``glance-api`` (2 workers) with the cache and cache-management
filters, uploads an image, then downloads it twice: the first download
reads the store and tees into the cache (checksum checked), the next
ones are cache hits: first with the cache file on disk only (the tee
writes it with O_DIRECT), then with it in the page cache. Each is paired
with a fresh measure of its limit (md5 for the tee; for the hits, a plain
sendfile server sending a copy of the bytes just written with O_DIRECT,
or a cached file). Then times ``ImageCache.prune``
over ``--entries`` cache entries in-process. Run: ``python -m benchmarks
cachepath [--size-mib 1024] [--repeat 3] [--entries 10000]``.
"""
import argparse
import hashlib
import os
import statistics
import tempfile
import time

from benchmarks import datapath
from benchmarks import loadgen
from tests.functional.server import GlanceServer

MiB = datapath.MiB


def measure_downloads(server, path, data, sendfile_url, repeat):
    """Per run: the teeing first download, then a hit with the cache
    file on disk only (the tee writes it with O_DIRECT) against sendfile
    of a copy of the bytes just written the same way, then a hit with it
    in the page cache against sendfile of a cached file."""
    size = len(data)
    tee, cold_hit, hit = [], [], []
    for i in range(repeat):
        image_id = datapath.create_image(server.url, "cached-%d" % i)
        datapath.upload(server.url, "/v2/images/%s/file" % image_id, path,
                        datapath.HEADERS)
        file_path = "/v2/images/%s/file" % image_id
        datapath.evict(os.path.join(datapath.server_datadir(server),
                                    image_id))
        md5_limit = size / MiB / datapath.timed(
            datapath.hash_one("md5"), data)
        tee.append(_one(server, file_path, size, md5_limit))
        time.sleep(0.5)  # the tee renames the file into place at the end
        cached = os.path.join(server.conf["DEFAULT"]["image_cache_dir"],
                              image_id)
        # the tee writes with O_DIRECT (unless data_direct_io is off):
        # make sure the first hit reads from disk either way
        datapath.evict(cached)
        for runs, cold in ((cold_hit, True), (hit, False)):
            seconds = (datapath.cold_sendfile_seconds(data, path) if cold
                       else datapath.download(sendfile_url)[0])
            runs.append(_one(server, file_path, size, size / MiB / seconds))
        datapath.delete_image(server.url, image_id)
    return tee, cold_hit, hit


def _one(server, file_path, size, limit):
    before = loadgen.process_cpu_seconds(server.pid)
    seconds, got = datapath.download(server.url, file_path,
                                     datapath.HEADERS)
    assert got == size, (got, size)
    cpu = loadgen.process_cpu_seconds(server.pid) - before
    rate = size / MiB / seconds
    return rate, rate / limit, cpu / (size / (1024 * MiB))


def measure_prune(tmp, entries):
    """Seconds of one prune over ``entries`` cached images (in-process)."""
    from oslo_config import cfg

    import glance.common.config  # noqa: F401
    from glance import image_cache
    conf = cfg.CONF
    if conf._args is None:
        conf([], project="glance", default_config_files=[])
    conf.set_override("image_cache_dir", os.path.join(tmp, "prune-cache"))
    conf.set_override("image_cache_max_size", 1024 * 1024)
    cache = image_cache.ImageCache()
    chunk = b"x" * 1024
    checksum = hashlib.md5(chunk).hexdigest()
    start = time.perf_counter()
    for i in range(entries):
        image_id = "00000000-0000-4000-8000-%012d" % i
        for _ in cache.get_caching_iter(image_id, checksum, iter([chunk])):
            pass
    filled = time.perf_counter() - start
    start = time.perf_counter()
    removed, freed = cache.prune()
    return filled, time.perf_counter() - start, removed, freed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--entries", type=int, default=10000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cachepath-") as tmp:
        path = os.path.join(tmp, "image.img")
        datapath.make_file(path, args.size_mib * MiB)
        data = datapath.load(path)
        sendfile_server = datapath.SendfileServer(path)
        sendfile_url = "http://127.0.0.1:%d" % sendfile_server.port
        server = GlanceServer(
            os.path.join(tmp, "server"), workers=2,
            flavor="trusted-auth+cachemanagement",
            conf={"DEFAULT": {"image_cache_dir": os.path.join(tmp, "cache")},
                  "glance_store": {"filesystem_store_datadir":
                                   os.path.join(tmp, "images")}})
        try:
            with server:
                tee, cold_hit, hit = measure_downloads(
                    server, path, data, sendfile_url, args.repeat)
        finally:
            sendfile_server.close()
        prune = measure_prune(tmp, args.entries)
    report(args, tee, cold_hit, hit, prune)
    return 0


def report(args, tee, cold_hit, hit, prune):
    print("cache benchmark: %d MiB, median of %d runs (all runs in [])"
          % (args.size_mib, args.repeat))
    for name, runs, limit in (
            ("first download (tee)", tee, "md5"),
            ("hit, file on disk only", cold_hit,
             "sendfile of a file just written with O_DIRECT"),
            ("hit, file in page cache", hit, "sendfile of a cached file")):
        rates = [r[0] for r in runs]
        print("  %-24s %7.0f MiB/s  %.2f of %s  %.2f CPU s/GiB  [%s]" % (
            name, statistics.median(rates),
            statistics.median(r[1] for r in runs), limit,
            statistics.median(r[2] for r in runs),
            " ".join("%.0f" % r for r in rates)))
    filled, seconds, removed, freed = prune
    print("  prune over %d entries: %.3f s (removed %d files, %d bytes; "
          "filling the cache took %.1f s)" % (args.entries, seconds,
                                              removed, freed, filled))


if __name__ == "__main__":
    main()
