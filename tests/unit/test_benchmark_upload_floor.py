"""The upload limit's minimal receiver (benchmarks/upload_floor.py): it
really receives the file, whole and hashed, and leaves nothing behind."""
import hashlib
import os

from benchmarks import upload_floor


def _source(tmp_path, size):
    path = tmp_path / "source.img"
    path.write_bytes(os.urandom(size))
    return path


def test_the_file_arrives_whole_and_hashed(tmp_path):
    # not a multiple of the window: the last window is a short one
    size = 2 * upload_floor.WINDOW + 12345
    source = _source(tmp_path, size)
    store = tmp_path / "store"
    store.mkdir()
    seconds, md5, sha512 = upload_floor.receive(str(source), str(store))
    data = source.read_bytes()
    assert seconds > 0
    assert md5 == hashlib.md5(data).hexdigest()
    assert sha512 == hashlib.sha512(data).hexdigest()
    assert list(store.iterdir()) == []


def test_a_small_file_fits_one_window(tmp_path):
    source = _source(tmp_path, 1000)
    _seconds, md5, _sha = upload_floor.receive(str(source), str(tmp_path))
    assert md5 == hashlib.md5(source.read_bytes()).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source.img"]
