"""A worker gives back the memory of large transfers once they end.

Uploads, teeing downloads and cache hits move image data in multi-MiB
chunks (some allocated in native threads, whose glibc arenas used to
keep them: a worker grew by about 200 MiB after a few teeing downloads
and kept it while idle). After a few large transfers and a short idle
wait, the worker's resident memory must be back within 48 MiB of what
it was when idle before them. This is a bound on memory release, not a
timing: the wait only lets the worker finish the last transfer.
"""
import hashlib
import os

import pytest

from tests.functional.server import wait_for

MiB = 1024 * 1024
SIZE = 96 * MiB
SLACK = 48 * MiB
HEADERS = {"X-Identity-Status": "Confirmed", "X-Project-Id": "mem",
           "X-User-Id": "mem-user", "X-Roles": "admin,member,reader"}


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


def upload(srv, path):
    r = srv.request("POST", "/v2/images", headers=HEADERS,
                    json={"name": "big", "disk_format": "raw",
                          "container_format": "bare"})
    assert r.status_code == 201, r.text
    image_id = r.json()["id"]
    with open(path, "rb") as f:
        r = srv.request("PUT", "/v2/images/%s/file" % image_id, data=f,
                        headers=dict(HEADERS, **{
                            "Content-Type": "application/octet-stream",
                            "Content-Length": str(os.path.getsize(path))}))
    assert r.status_code == 204, r.text
    return image_id


def download_md5(srv, image_id):
    r = srv.request("GET", "/v2/images/%s/file" % image_id,
                    headers=HEADERS, stream=True)
    assert r.status_code == 200
    md5 = hashlib.md5()
    for chunk in r.iter_content(4 * MiB):
        md5.update(chunk)
    return md5.hexdigest()


def transfers(srv, path, checksum, count):
    for _ in range(count):
        image_id = upload(srv, path)
        assert download_md5(srv, image_id) == checksum   # tees
        cached = os.path.join(srv.conf["DEFAULT"]["image_cache_dir"],
                              image_id)
        wait_for(lambda path=cached: os.path.exists(path), timeout=30,
                 message="the image in the cache")
        assert download_md5(srv, image_id) == checksum   # a hit


@pytest.mark.parametrize("direct_io", [False, True])
def test_worker_memory_returns_after_large_transfers(glance_server,
                                                     tmp_path, direct_io):
    path = tmp_path / "image"
    with open(path, "wb") as f:
        for _ in range(SIZE // (16 * MiB)):
            f.write(os.urandom(16 * MiB))
    checksum = hashlib.md5(path.read_bytes()).hexdigest()
    srv = glance_server(workers=1, flavor="trusted-auth+cachemanagement",
                        conf={"DEFAULT": {
                            "image_cache_dir": str(tmp_path / "cache"),
                            "data_direct_io": direct_io}})
    [worker] = srv.worker_pids()
    transfers(srv, path, checksum, 1)   # every code path loaded once
    idle = rss(worker)
    transfers(srv, path, checksum, 3)
    wait_for(lambda: rss(worker) <= idle + SLACK, timeout=10,
             message="worker RSS back within %d MiB of %d MiB (now %d MiB)"
             % (SLACK // MiB, idle // MiB, rss(worker) // MiB))
