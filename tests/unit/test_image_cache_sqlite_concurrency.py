"""Several workers configuring the cache index on a new file at once."""
import multiprocessing

from glance.image_cache.drivers import sqlite

FORK = multiprocessing.get_context("fork")


def _configure(barrier, base_dir, results):
    barrier.wait(30)
    try:
        sqlite.Driver(base_dir).configure()
        results.put("ok")
    except Exception as e:  # noqa: BLE001 - reported to the parent
        results.put(repr(e))


def test_concurrent_configure_on_a_new_cache(tmp_path):
    for attempt in range(5):  # the race is timing-dependent: try it often
        base_dir = str(tmp_path / ("cache%d" % attempt))
        workers = 6
        barrier, results = FORK.Barrier(workers), FORK.Queue()
        children = [FORK.Process(target=_configure,
                                 args=(barrier, base_dir, results))
                    for _ in range(workers)]
        for child in children:
            child.start()
        for child in children:
            child.join(60)
        outcomes = [results.get(timeout=5) for _ in range(workers)]
        assert outcomes == ["ok"] * workers
