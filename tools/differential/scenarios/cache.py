"""The image cache API (/v2/cache) and the legacy cache management
middleware (/v2/cached_images, /v2/queued_images)."""
import time

from tools.differential.scenarios import scenario

RAW = {"disk_format": "raw", "container_format": "bare"}


@scenario("cache.api", short=True)
def api(s):
    """Queue, list, delete cached images; who may."""
    # only this scenario's images in the lists (earlier scenarios' images
    # are cached in an order and with hits of their own)
    s.admin.delete("/v2/cache", record=False)
    image = s.member.create(name="c", **RAW)
    s.member.upload(image, b"cache me" * 100)
    s.member.get("/v2/cache", step="list as member")
    s.admin.put("/v2/cache/%s" % image, step="queue")
    s.admin.put("/v2/cache/%s" % image, step="queue again")
    s.member.put("/v2/cache/%s" % image, step="queue as member")
    s.admin.put("/v2/cache/%s" % ("a" * 8 + "-aaaa-aaaa-aaaa-" + "a" * 12),
                step="queue missing")
    queued = s.member.create(name="q", **RAW)
    s.admin.put("/v2/cache/%s" % queued, step="queue not active")
    s.admin.delete("/v2/cache/%s" % image, step="delete queued entry")
    _settle(s, image)
    s.member.get("/v2/images/%s/file" % image, step="download (caches)")
    s.member.get("/v2/images/%s/file" % image, step="download cached",
                 headers={"Range": "bytes=0-3"})
    s.admin.get("/v2/cache", step="list after download")
    s.admin.delete("/v2/cache", headers={"x-image-cache-clear-target":
                                         "queue"}, step="clear queue")
    s.admin.delete("/v2/cache", headers={"x-image-cache-clear-target":
                                         "bogus"}, step="clear bogus")
    s.admin.delete("/v2/cache/%s" % image, step="delete cached")
    s.admin.delete("/v2/cache/%s" % image, step="delete cached again")
    s.admin.delete("/v2/cache", step="clear all")
    s.admin.get("/v2/cache", step="list after clear")


def _settle(s, image, timeout=2.0):
    """Both start caching a queued image at once (Glance: its cache
    worker), so whether it is cached before its entry is deleted is a
    race: let such caching finish, then start from an empty cache."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = s.admin.get("/v2/cache", record=False).json or {}
        if image in [e["image_id"] for e in
                     listed.get("cached_images") or ()]:
            break
        time.sleep(0.1)
    s.admin.delete("/v2/cache", record=False)


@scenario("cache.legacy")
def legacy(s):
    """The cachemanage middleware's routes."""
    image = s.member.create(name="l", **RAW)
    s.member.upload(image, b"legacy" * 10)
    for method, path in (("GET", "/v2/cached_images"),
                         ("GET", "/v2/queued_images"),
                         ("PUT", "/v2/queued_images/%s" % image),
                         ("GET", "/v2/queued_images"),
                         ("DELETE", "/v2/queued_images/%s" % image),
                         ("DELETE", "/v2/queued_images"),
                         ("DELETE", "/v2/cached_images/%s" % image),
                         ("DELETE", "/v2/cached_images"),
                         ("POST", "/v2/cached_images")):
        s.admin.request(method, path)
        s.member.request(method, path, step="%s %s as member" % (
            method, path.replace(image, "<image>")))


@scenario("cache.maintenance")
def maintenance(s):
    """/v2/cache/nodes/{id}, /v2/cache/clean and /v2/cache/prune."""
    image = s.member.create(name="n", **RAW)
    s.member.upload(image, b"nodes" * 100)
    s.admin.get("/v2/cache/nodes/%s" % image, step="nodes uncached")
    s.member.get("/v2/images/%s/file" % image, step="download (caches)")
    s.admin.get("/v2/cache/nodes/%s" % image, step="nodes cached")
    s.member.get("/v2/cache/nodes/%s" % image, step="nodes as member")
    s.admin.get("/v2/cache/nodes/%s" % ("b" * 8 + "-bbbb-bbbb-bbbb-"
                                        + "b" * 12), step="nodes missing")
    s.admin.delete("/v2/cache/nodes/%s" % image, step="DELETE nodes")
    for action in ("clean", "prune"):
        s.member.post("/v2/cache/%s" % action, step="%s as member" % action)
        s.admin.post("/v2/cache/%s" % action, step=action)
        s.admin.get("/v2/cache/%s" % action, step="GET %s" % action)
    s.admin.delete("/v2/cache", record=False)
