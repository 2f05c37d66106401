"""glance-api's periodic prefetcher runs the cron apps' ``run_forever``
over the process's one-pass-at-a-time prefetcher."""
import threading

from glance.image_cache import base
from glance.services import cache


def test_the_daemon_prefetcher_is_a_cache_app_over_run_prefetcher(
        monkeypatch, tmp_path):
    stop = threading.Event()
    passes = []

    def one_pass():
        passes.append(1)
        if len(passes) == 3:
            stop.set()
        return len(passes)
    monkeypatch.setattr(cache, "run_prefetcher", one_pass)
    app = cache.PeriodicPrefetch(cache=object())
    assert isinstance(app, base.CacheApp)
    app.run_forever(0.001, stop)
    assert len(passes) == 3


def test_a_pass_already_running_is_not_doubled(monkeypatch):
    runs = []
    monkeypatch.setattr(cache.prefetcher, "Prefetcher",
                        lambda *a, **kw: runs.append(1))
    monkeypatch.setattr(cache, "get_cache", lambda: None)
    with cache._PREFETCH_LOCK:       # a pass started by a queued image
        assert cache.PeriodicPrefetch(cache=object()).run() is None
    assert runs == []
