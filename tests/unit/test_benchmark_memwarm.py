"""The page-cache ballast the data-path benchmarks hold."""
import os

from benchmarks import memwarm


def test_free_memory_is_read_from_meminfo():
    assert memwarm.free_bytes() > 0


def test_the_ballast_is_a_sparse_file_held_in_the_page_cache(tmp_path):
    size = 64 << 20
    with memwarm.ballast(size, directory=str(tmp_path)) as line:
        (path,) = tmp_path.iterdir()
        assert os.path.getsize(path) == size
        assert os.stat(path).st_blocks == 0  # no disk space taken
        assert "0.1 GiB of free memory filled" in line
    assert list(tmp_path.iterdir()) == []


def test_too_little_free_memory_makes_no_ballast(tmp_path):
    with memwarm.ballast(4096, directory=str(tmp_path)) as line:
        assert "none" in line
        assert list(tmp_path.iterdir()) == []


def test_a_benchmark_may_go_without(tmp_path):
    with memwarm.for_benchmark(skip=True) as line:
        assert "none (asked)" in line
