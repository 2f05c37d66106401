"""glance.store_drivers: cutting whole-object reads to a range, read-only
stores, and the start-up check for a driver's missing library."""
import pytest

from glance.common import store_setup
from glance import store_drivers


class Closing(list):
    closed = False

    def close(self):
        self.closed = True


DATA = bytes(range(100))


def chunks(size=7):
    return Closing(DATA[i:i + size] for i in range(0, len(DATA), size))


@pytest.mark.parametrize("offset,length", [
    (0, None), (0, 1), (3, 4), (7, 7), (6, 8), (50, None), (99, 1),
    (0, 100), (13, 0), (93, 7)])
def test_cut(offset, length):
    data = chunks()
    got = b"".join(store_drivers.cut(data, offset, length))
    end = None if length is None else offset + length
    assert got == DATA[offset:end]
    if offset or length is not None:
        assert data.closed


def test_cut_closes_when_abandoned():
    data = chunks()
    it = store_drivers.cut(data, 10, None)
    next(it)
    it.close()
    assert data.closed


def test_cut_closes_what_an_indexable_wraps():
    # glance_store's Indexable (http, s3) has no close(); the generator
    # it wraps holds the connection.
    closed = []

    def response():
        try:
            yield from chunks()
        finally:
            closed.append(True)

    class Indexable:
        def __init__(self, wrapped):
            self.wrapped = wrapped

        def __iter__(self):
            yield from self.wrapped

    got = b"".join(store_drivers.cut(Indexable(response()), 5, 10))
    assert got == DATA[5:15]
    assert closed == [True]


def test_read_only():
    assert store_drivers.read_only("http://example.com/x")
    assert store_drivers.read_only("HTTPS://example.com/x")
    assert not store_drivers.read_only("file:///var/lib/glance/x")
    assert not store_drivers.read_only("s3://key:secret@host/bucket/x")


def test_missing_driver_library(monkeypatch):
    monkeypatch.setitem(store_setup.DRIVER_LIBRARIES, "s3",
                        ("no_such_library_for_glance", "s3"))
    with pytest.raises(RuntimeError, match=r"glance\[s3\]"):
        store_setup.check_driver_libraries(["file", "s3"])
    store_setup.check_driver_libraries(["file", "http"])
