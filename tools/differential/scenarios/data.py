"""Image data: upload, download, ranges, stores, status transitions."""
from tools.differential.scenarios import scenario

RAW = {"disk_format": "raw", "container_format": "bare"}
DATA = bytes(range(256)) * 4     # 1 KiB, every byte value


@scenario("data.upload", short=True)
def upload(s):
    """PUT /file: statuses, checksums, refusals."""
    image = s.member.create(name="u", **RAW)
    s.member.get("/v2/images/%s/file" % image, step="download queued")
    s.member.upload(image, DATA, step="upload")
    s.member.get("/v2/images/%s" % image, step="show uploaded")
    s.member.upload(image, DATA, step="upload again")
    s.other.upload(image, DATA, step="upload as other")
    other = s.member.create(name="u2", **RAW)
    s.reader.upload(other, DATA, step="upload as reader")
    s.member.put("/v2/images/%s/file" % other, data=DATA,
                 headers={"Content-Type": "application/json"},
                 step="upload json type")
    s.member.put("/v2/images/%s/file" % other, data=DATA,
                 step="upload no type")
    s.member.upload(other, b"", step="upload empty")
    s.member.get("/v2/images/%s" % other, step="show empty upload")
    chunked = s.member.create(name="chunked", **RAW)
    s.member.upload(chunked, iter([DATA[:500], DATA[500:]]),
                    step="upload chunked")
    s.member.get("/v2/images/%s" % chunked, step="show chunked")
    store = s.member.create(name="store", **RAW)
    s.member.upload(store, DATA, headers={"X-Image-Meta-Store": "cheap"},
                    step="upload to cheap")
    s.member.get("/v2/images/%s" % store, step="show cheap")
    bad = s.member.create(name="bad", **RAW)
    s.member.upload(bad, DATA, headers={"X-Image-Meta-Store": "nowhere"},
                    step="upload to unknown store")
    s.member.upload("6" * 8 + "-6666-6666-6666-" + "6" * 12, DATA,
                    step="upload missing image")
    nofmt = s.member.create(name="noformat")
    s.member.upload(nofmt, DATA, step="upload without formats")
    qcow = s.member.create(name="q", disk_format="qcow2",
                           container_format="bare")
    s.member.upload(qcow, DATA, step="raw data as qcow2")
    s.member.get("/v2/images/%s" % qcow, step="show qcow2 mismatch")
    s.member.delete("/v2/images/%s" % image, step="delete active")
    s.member.get("/v2/images/%s/file" % image, step="download deleted")


@scenario("data.download", short=True)
def download(s):
    """GET /file with and without Range; HEAD."""
    image = s.member.create(name="d", **RAW)
    s.member.upload(image, DATA)
    path = "/v2/images/%s/file" % image
    s.member.get(path, step="download")
    s.member.head(path, step="HEAD download")
    s.other.get(path, step="download as other")
    s.reader.get(path, step="download as reader")
    s.anon.get(path, step="download anonymous")
    for rng in ("bytes=0-9", "bytes=10-", "bytes=-10", "bytes=1000-1023",
                "bytes=1000-2000", "bytes=1024-", "bytes=2000-3000",
                "bytes=9-3", "bytes=0-1,5-6", "items=0-3", "bytes=abc",
                "bytes=0-0", "bytes=-0", "bytes=-2000", "bytes="):
        s.member.get(path, headers={"Range": rng}, step="Range %s" % rng)
    for crange in ("bytes 0-9/*", "bytes 0-9/1024", "bytes 5-2000/*",
                   "bogus"):
        s.member.get(path, headers={"Content-Range": crange},
                     step="Content-Range %s" % crange)
    s.member.get(path, headers={"Accept": "application/json"},
                 step="download Accept json")
    empty = s.member.create(name="e", **RAW)
    s.member.upload(empty, b"")
    s.member.get("/v2/images/%s/file" % empty, step="download empty")
    s.member.get("/v2/images/%s/file" % empty, headers={"Range": "bytes=0-1"},
                 step="Range on empty")


@scenario("data.stage")
def stage(s):
    """PUT /stage: statuses and refusals."""
    image = s.member.create(name="s", **RAW)
    s.member.stage(image, DATA, step="stage")
    s.member.get("/v2/images/%s" % image, step="show staged")
    s.member.stage(image, DATA, step="stage again")
    s.member.upload(image, DATA, step="upload after stage")
    s.member.get("/v2/images/%s/file" % image, step="download staged")
    other = s.member.create(name="s2", **RAW)
    s.other.stage(other, DATA, step="stage as other")
    s.reader.stage(other, DATA, step="stage as reader")
    s.member.put("/v2/images/%s/stage" % other, data=DATA,
                 headers={"Content-Type": "text/plain"}, step="stage text")
    active = s.member.create(name="a", **RAW)
    s.member.upload(active, DATA)
    s.member.stage(active, DATA, step="stage active")
    s.member.delete("/v2/images/%s" % image, step="delete staged")


@scenario("data.stores")
def stores(s):
    """DELETE /v2/stores/{store}/{image} and store-related refusals."""
    image = s.member.create(name="st", **RAW)
    s.member.upload(image, DATA)
    s.member.delete("/v2/stores/fast/%s" % image, step="member deletes copy")
    s.admin.delete("/v2/stores/cheap/%s" % image, step="delete absent copy")
    s.admin.delete("/v2/stores/nowhere/%s" % image, step="unknown store")
    s.admin.delete("/v2/stores/fast/%s" % image, step="delete only copy")
    s.admin.delete("/v2/stores/fast/%s" % ("7" * 8 + "-7777-7777-7777-"
                                           + "7" * 12), step="missing image")
    s.admin.get("/v2/stores/fast/%s" % image, step="GET store copy")
    for method in ("PUT", "POST", "PATCH", "HEAD"):
        s.admin.request(method, "/v2/stores/fast/%s" % image,
                        step="%s store copy" % method)
    queued = s.member.create(name="queued", **RAW)
    s.admin.delete("/v2/stores/fast/%s" % queued, step="queued image")
    # two copies: upload to fast, copy-image to cheap
    two = s.member.create(name="two", **RAW)
    s.member.upload(two, DATA)
    s.member.post("/v2/images/%s/import" % two,
                  json={"method": {"name": "copy-image"},
                        "stores": ["cheap"]}, step="copy to cheap")
    s.member.wait_image(two, until=("killed", "deleted"),
                        check=lambda i: "cheap" in i.get("stores", "")
                        and "os_glance_import_task" not in i)
    s.member.get("/v2/images/%s" % two, step="show two copies")
    s.member.delete("/v2/stores/cheap/%s" % two, step="member deletes one")
    s.reader.delete("/v2/stores/cheap/%s" % two, step="reader deletes one")
    s.other.delete("/v2/stores/cheap/%s" % two, step="other deletes one")
    s.admin.delete("/v2/stores/nowhere/%s" % two,
                   step="unknown store, two copies")
    s.admin.delete("/v2/stores/cheap/%s" % two, step="admin deletes one")
    s.member.get("/v2/images/%s" % two, step="show one copy left")
    s.member.get("/v2/images/%s/file" % two, step="download one copy left")
    s.admin.delete("/v2/stores/cheap/%s" % two, step="delete it again")
    s.admin.delete("/v2/stores/fast/%s" % two, step="delete last copy")
    s.admin.post("/v2/images/%s/actions/deactivate" % two,
                 step="deactivate")
    s.admin.delete("/v2/stores/fast/%s" % two, step="deactivated image")
    s.admin.delete("/v2/stores/fast/not-a-uuid", step="bad image id")
