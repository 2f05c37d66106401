"""The ThreadPoolModel contract."""
import threading
import time

import pytest

import glance.async_ as async_


@pytest.fixture(autouse=True)
def fresh_model():
    async_._reset_threadpool_model()
    yield
    async_._reset_threadpool_model()


def test_get_before_set_raises():
    # a real exception, not an assert that python -O would strip
    with pytest.raises(async_.ThreadPoolModelNotSet) as info:
        async_.get_threadpool_model()
    assert not isinstance(info.value, AssertionError)


def test_set_and_get():
    async_.set_threadpool_model("native")
    assert async_.get_threadpool_model() is async_.NativeThreadPoolModel
    async_.set_threadpool_model("native")  # same model again is harmless


def test_set_twice_to_another_model_fails():
    async_.set_threadpool_model("native")
    with pytest.raises(RuntimeError):
        async_.set_threadpool_model("eventlet")


def test_unknown_model():
    with pytest.raises(RuntimeError):
        async_.set_threadpool_model("fibers")


def test_default_sizes():
    assert async_.ThreadPoolModel.DEFAULTSIZE == 1
    assert async_.EventletThreadPoolModel.DEFAULTSIZE == 1024
    assert async_.NativeThreadPoolModel.DEFAULTSIZE == 16
    assert async_.NativeThreadPoolModel().size == 16
    assert async_.NativeThreadPoolModel(3).size == 3


def test_spawn_returns_future():
    pool = async_.NativeThreadPoolModel(2)
    assert pool.spawn(lambda a, b=0: a + b, 2, b=3).result(5) == 5
    assert pool.statistics.executed >= 1
    pool.shutdown()


def test_map_keeps_order_and_bounds_parallelism():
    pool = async_.NativeThreadPoolModel(3)
    lock = threading.Lock()
    running = [0]
    peak = [0]

    def work(i):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02 * (5 - i % 5))
        with lock:
            running[0] -= 1
        return i * i

    assert list(pool.map(work, range(12))) == [i * i for i in range(12)]
    assert 1 < peak[0] <= 3
    pool.shutdown()
