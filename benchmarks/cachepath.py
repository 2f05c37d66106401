"""Image cache benchmark: a teeing first download, cache hits, pruning.

Starts ``glance-api`` (2 workers) with the cache and cache-management
filters, uploads an image, then downloads it: the first download reads
the store (where the upload left it: the page cache by default) and
tees into the cache (checksum checked), paired with md5 of the same
bytes; then the first hit right after the tee (wherever the tee left
the cache file: the page cache by default) against sendfile of a cached
file, with the cold-read limit printed beside it; then a hit with the
cache file dropped from the page cache against sendfile of a copy of the
bytes just written with O_DIRECT; then a hit from the page cache. Each
figure is paired with a fresh measure of its limit, and comes with the
server's CPU per GiB; the server's memory (RSS and PSS of its processes) is
printed after start-up and each run. Then times ``ImageCache.prune``
over ``--entries`` cache entries in-process. ``--direct-io`` runs
glance-api with ``data_direct_io = True``. Run: ``python -m benchmarks
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
from benchmarks import memwarm
from tests.functional.server import GlanceServer

MiB = datapath.MiB


def measure_downloads(server, path, data, sendfile_url, repeat, memory):
    """Per run: the teeing first download, the first hit right after
    it, a hit with the cache file on disk only and a hit with it in the
    page cache, each paired with its limit (see the module's
    docstring)."""
    size = len(data)
    runs = {name: [] for name in ("tee", "first", "cold", "warm",
                                  "first_cold_limit")}
    for i in range(repeat):
        image_id = datapath.create_image(server.url, "cached-%d" % i)
        datapath.upload(server.url, "/v2/images/%s/file" % image_id, path,
                        datapath.HEADERS)
        file_path = "/v2/images/%s/file" % image_id
        md5_limit = size / MiB / datapath.timed(
            datapath.hash_one("md5"), data)
        runs["tee"].append(_one(server, file_path, size, md5_limit))
        time.sleep(0.5)  # the tee renames the file into place at the end
        cached = os.path.join(server.conf["DEFAULT"]["image_cache_dir"],
                              image_id)
        runs["first_cold_limit"].append(
            size / MiB / datapath.cold_sendfile_seconds(data, path))
        for name in ("first", "cold", "warm"):
            if name == "cold":
                datapath.evict(cached)
                seconds = datapath.cold_sendfile_seconds(data, path)
            else:
                seconds = datapath.download(sendfile_url)[0]
            runs[name].append(_one(server, file_path, size,
                                   size / MiB / seconds))
        memory.append(("after run %d" % i,
                       datapath.server_memory_mib(server)))
        datapath.delete_image(server.url, image_id)
    return runs


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
    parser.add_argument("--no-ballast", action="store_true",
                        help="leave the free memory free (see "
                             "benchmarks/memwarm.py)")
    parser.add_argument("--direct-io", action="store_true",
                        help="run glance-api with data_direct_io = True")
    args = parser.parse_args(argv)
    with memwarm.for_benchmark(args.no_ballast) as ballast:
        print(ballast, flush=True)
        return run_benchmark(args)


def run_benchmark(args):
    with tempfile.TemporaryDirectory(prefix="cachepath-") as tmp:
        path = os.path.join(tmp, "image.img")
        datapath.make_file(path, args.size_mib * MiB)
        data = datapath.load(path)
        sendfile_server = datapath.SendfileServer(path)
        sendfile_url = "http://127.0.0.1:%d" % sendfile_server.port
        server = GlanceServer(
            os.path.join(tmp, "server"), workers=2,
            flavor="trusted-auth+cachemanagement",
            conf={"DEFAULT": {"image_cache_dir": os.path.join(tmp, "cache"),
                              "data_direct_io": args.direct_io},
                  "glance_store": {"filesystem_store_datadir":
                                   os.path.join(tmp, "images")}})
        memory = []
        try:
            with server:
                memory.append(("started",
                               datapath.server_memory_mib(server)))
                runs = measure_downloads(server, path, data, sendfile_url,
                                         args.repeat, memory)
                time.sleep(2)
                memory.append(("idle 2 s later",
                               datapath.server_memory_mib(server)))
        finally:
            sendfile_server.close()
        prune = measure_prune(tmp, args.entries)
    report(args, runs, prune, memory)
    return 0


def report(args, runs, prune, memory):
    print("cache benchmark: %d MiB%s, median of %d runs (all runs in [])"
          % (args.size_mib, ", data_direct_io" if args.direct_io else "",
             args.repeat))
    for name, key, limit in (
            ("first download (tee)", "tee", "md5"),
            ("first hit after the tee", "first",
             "sendfile of a cached file"),
            ("hit, file on disk only", "cold",
             "sendfile of a file just written with O_DIRECT"),
            ("hit, file in page cache", "warm", "sendfile of a cached file")):
        rates = [r[0] for r in runs[key]]
        print("  %-24s %7.0f MiB/s  %.2f of %s [%s]  %.2f CPU s/GiB [%s]  "
              "[%s]" % (
                  name, statistics.median(rates),
                  statistics.median(r[1] for r in runs[key]), limit,
                  " ".join("%.2f" % r[1] for r in runs[key]),
                  statistics.median(r[2] for r in runs[key]),
                  " ".join("%.2f" % r[2] for r in runs[key]),
                  " ".join("%.0f" % r for r in rates)))
    cold = runs["first_cold_limit"]
    print("  %-24s %7.0f MiB/s  (the cold-read limit, measured before each "
          "first hit: not its limit) [%s]" % (
              "  cold limit", statistics.median(cold),
              " ".join("%.0f" % r for r in cold)))
    filled, seconds, removed, freed = prune
    print("  prune over %d entries: %.3f s (removed %d files, %d bytes; "
          "filling the cache took %.1f s)" % (args.entries, seconds,
                                              removed, freed, filled))
    print(datapath.format_memory(memory))


if __name__ == "__main__":
    main()
