"""Stream utilities: chunking, cooperative reading, limits, UUIDs."""
import functools
import io
import uuid

import pytest

from glance.common import exception
from glance.common import utils


@pytest.fixture
def yields():
    """Count calls to yield_now through the hook."""
    calls = []
    utils.set_yield_hook(lambda: calls.append(1))
    yield calls
    utils.set_yield_hook(None)


def test_chunkiter_reads_until_eof():
    fp = io.BytesIO(b"abcdefghij")
    assert list(utils.chunkiter(fp, 4)) == [b"abcd", b"efgh", b"ij"]
    assert list(utils.chunkiter(io.BytesIO(b""), 4)) == []


def test_chunkiter_default_size():
    data = b"x" * (65536 + 1)
    assert [len(c) for c in utils.chunkiter(io.BytesIO(data))] == [65536,
                                                                   1]


def test_chunkreadable_file_and_iterable():
    assert list(utils.chunkreadable(io.BytesIO(b"abcde"), 2)) == [
        b"ab", b"cd", b"e"]
    chunks = [b"one", b"two"]
    assert utils.chunkreadable(chunks, 2) is chunks


def test_cooperative_iter_yields_between_chunks(yields):
    assert list(utils.cooperative_iter(iter([b"a", b"b", b"c"]))) == [
        b"a", b"b", b"c"]
    assert len(yields) == 3


def test_cooperative_iter_reraises():
    def broken():
        yield b"a"
        raise OSError("disk gone")

    it = utils.cooperative_iter(broken())
    assert next(it) == b"a"
    with pytest.raises(OSError, match="disk gone"):
        next(it)


def test_cooperative_read_yields(yields):
    read = utils.cooperative_read(io.BytesIO(b"abcdef"))
    assert read(4) == b"abcd"
    assert read() == b"ef"
    assert len(yields) == 2


def test_yield_now_uses_a_monkey_patched_sleep(monkeypatch):
    # time.sleep is looked up at call time, so eventlet's monkey-patched
    # sleep is the one used in the daemon
    slept = []

    def green_sleep(seconds):
        slept.append(seconds)

    green_sleep.__module__ = "eventlet.greenthread"
    monkeypatch.setattr(utils.time, "sleep", green_sleep)
    utils.yield_now()
    assert slept == [0]


def test_yield_now_native_does_not_sleep(monkeypatch):
    slept = []

    def native_sleep(seconds):
        slept.append(seconds)

    native_sleep.__module__ = "time"
    monkeypatch.setattr(utils.time, "sleep", native_sleep)
    utils.yield_now()
    assert slept == []


def test_cooperative_reader_over_file(yields):
    reader = utils.CooperativeReader(io.BytesIO(b"abcdefgh"))
    assert reader.read(3) == b"abc"
    assert reader.read() == b"defgh"
    assert reader.read(3) == b""
    assert yields


def test_cooperative_reader_over_iterator_reads_exact_sizes():
    reader = utils.CooperativeReader(iter([b"abc", b"", b"defgh", b"i"]))
    assert reader.read(2) == b"ab"
    assert reader.read(2) == b"c"      # never more than asked, may be less
    assert reader.read(10) == b"defgh"
    assert reader.read(0) == b""
    assert reader.read(10) == b"i"
    assert reader.read(10) == b""
    assert reader.read(10) == b""


def test_cooperative_reader_read_all_from_iterator():
    reader = utils.CooperativeReader([b"abc", b"def"])
    assert reader.read(1) == b"a"
    assert reader.read() == b"bcdef"
    assert reader.read() == b""


def test_cooperative_reader_is_lazy():
    pulled = []

    def source():
        for chunk in (b"aa", b"bb", b"cc"):
            pulled.append(chunk)
            yield chunk

    reader = utils.CooperativeReader(source())
    assert reader.read(2) == b"aa"
    assert pulled == [b"aa"]


def test_cooperative_reader_iteration():
    reader = utils.CooperativeReader(iter([b"abc", b"def"]))
    assert reader.read(1) == b"a"
    assert list(reader) == [b"bc", b"def"]
    assert list(utils.CooperativeReader(io.BytesIO(b"xyz"))) == [b"xyz"]


def test_cooperative_reader_accepts_bytearray_chunks():
    reader = utils.CooperativeReader([bytearray(b"ab"), memoryview(b"cd")])
    assert reader.read() == b"abcd"


def test_limiting_reader_read_within_limit():
    reader = utils.LimitingReader(io.BytesIO(b"abcdef"), 6)
    assert reader.read(4) == b"abcd"
    assert reader.read(4) == b"ef"
    assert reader.read(4) == b""
    assert reader.bytes_read == 6


def test_limiting_reader_read_over_limit_never_returns_the_excess():
    reader = utils.LimitingReader(io.BytesIO(b"abcdefgh"), 5)
    assert reader.read(4) == b"abcd"
    with pytest.raises(exception.ImageSizeLimitExceeded):
        reader.read(4)


def test_limiting_reader_iter_over_limit():
    got = []
    reader = utils.LimitingReader([b"abc", b"def", b"ghi"], 7)
    with pytest.raises(exception.ImageSizeLimitExceeded):
        for chunk in reader:
            got.append(chunk)
    assert got == [b"abc", b"def"]


def test_limiting_reader_read_all():
    with pytest.raises(exception.ImageSizeLimitExceeded):
        utils.LimitingReader(io.BytesIO(b"abc"), 2).read()
    assert utils.LimitingReader(io.BytesIO(b"abc"), 3).read() == b"abc"


def test_limiting_reader_custom_exception():
    make = functools.partial(exception.StorageQuotaFull, image_size=9,
                             remaining=3)
    reader = utils.LimitingReader(io.BytesIO(b"abcdefghi"), 3, make)
    with pytest.raises(exception.StorageQuotaFull) as err:
        reader.read(9)
    assert "3 bytes remaining" in str(err.value)
    assert err.value.code == 413


def test_limiting_reader_zero_limit():
    reader = utils.LimitingReader(io.BytesIO(b""), 0)
    assert reader.read(10) == b""
    with pytest.raises(exception.ImageSizeLimitExceeded):
        utils.LimitingReader(io.BytesIO(b"x"), 0).read(10)


# Fixed, so that parallel test workers collect the same test ids.
FIXED_UUID = uuid.UUID("51699941-96e3-4a2c-a5d7-57976bb0e57d")


@pytest.mark.parametrize("value", [
    str(FIXED_UUID),
    str(FIXED_UUID).upper(),
    FIXED_UUID.hex,
    "{%s}" % FIXED_UUID,
    "urn:uuid:%s" % FIXED_UUID,
])
def test_is_uuid_like_true(value):
    assert utils.is_uuid_like(value)


@pytest.mark.parametrize("value", [
    None, 42, FIXED_UUID, "", "not-a-uuid", "1234",
    str(FIXED_UUID) + "0", str(FIXED_UUID)[:-1],
    "g" * 32, "../" + str(FIXED_UUID),
])
def test_is_uuid_like_false(value):
    assert not utils.is_uuid_like(value)


# --- native threads, sendfile ---

def test_in_native_thread_returns_result_and_raises():
    assert utils.in_native_thread(sum, [1, 2, 3]).wait() == 6
    call = utils.in_native_thread(int, "x")
    with pytest.raises(ValueError):
        call.wait()


def test_wait_all_waits_for_every_call_then_raises_the_first_error():
    done = []

    def slow():
        import time
        time.sleep(0.05)
        done.append(True)

    calls = [utils.in_native_thread(int, "x"), utils.in_native_thread(slow)]
    with pytest.raises(ValueError):
        utils.wait_all(calls)
    assert done == [True]


def test_sendfile_sends_a_slice_of_a_file(tmp_path):
    import socket
    path = tmp_path / "data"
    path.write_bytes(bytes(range(256)) * 64)
    left, right = socket.socketpair()
    with left, right, open(path, "rb") as f:
        sent = utils.sendfile(left, f.fileno(), 10, 100)
        assert sent == 100
        assert right.recv(1000) == (bytes(range(256)) * 64)[10:110]
        assert utils.sendfile(left, f.fileno(), 256 * 64, 10) == 0


def test_in_native_thread_after_runs_in_order_and_not_after_a_failure():
    import time
    order = []

    def step(name, delay):
        time.sleep(delay)
        order.append(name)

    first = utils.in_native_thread(step, "first", 0.05)
    second = utils.in_native_thread(step, "second", 0, after=first)
    second.wait()
    assert order == ["first", "second"]
    failed = utils.in_native_thread(int, "x")
    skipped = utils.in_native_thread(order.append, "never", after=failed)
    with pytest.raises(ValueError):
        skipped.wait()
    assert "never" not in order


def test_lanes_give_every_lane_every_chunk_in_order():
    md5, written = [], []
    lanes = utils.Lanes([md5.append], depth=3)
    lanes.add(written.append)
    chunks = [bytes([i]) * 10 for i in range(20)]
    for chunk in chunks:
        lanes.feed(chunk)
    lanes.finish()
    assert md5 == chunks and written == chunks


def test_lanes_keep_at_most_depth_chunks_in_flight():
    done = []
    lanes = utils.Lanes([done.append, lambda chunk: None], depth=2)
    for i in range(5):
        lanes.feed(i)
        # the chunk fed ``depth`` chunks ago is done with by every lane
        assert i < 2 or i - 2 in done
    lanes.make_room()
    assert 3 in done
    lanes.finish()
    assert done == list(range(5))


def test_lanes_raise_a_lanes_error_and_stop_quietly():
    seen = []

    def fail_on_two(chunk):
        if chunk == 2:
            raise ValueError(chunk)
        seen.append(chunk)

    lanes = utils.Lanes([fail_on_two], depth=8)
    for i in range(5):
        lanes.feed(i)
    with pytest.raises(ValueError):
        lanes.finish()
    assert seen == [0, 1]   # nothing after the failure ran
    lanes.stop()            # errors already raised are not raised again
