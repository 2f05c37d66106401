"""POST /v2/images/{id}/import: glance-direct, copy-image, web-download."""
from tools.differential.scenarios import scenario

RAW = {"disk_format": "raw", "container_format": "bare"}
DATA = b"import me " * 100


def _settled(image):
    """The import is over: the image holds no import lock any more (Glance
    drops it a little after the image turns active; its import thread
    then still writes to its SQLite file, and a request meanwhile may
    fail with "database is locked")."""
    return image.get("status") != "importing" and \
        "os_glance_import_task" not in image


def _import(caller, image, body, step, **headers):
    return caller.post("/v2/images/%s/import" % image, json=body,
                       headers=headers or None, step=step)


@scenario("imports.glance_direct", short=True)
def glance_direct(s):
    """Stage then import; bad bodies and states."""
    image = s.member.create(name="gd", **RAW)
    method = {"method": {"name": "glance-direct"}}
    _import(s.member, image, method, "import unstaged")
    s.member.stage(image, DATA)
    _import(s.member, image, {}, "no method")
    _import(s.member, image, {"method": {"name": "floppy-copy"}},
            "unknown method")
    _import(s.member, image, {"method": "glance-direct"}, "method a string")
    _import(s.member, image, dict(method, stores=["nowhere"]),
            "unknown store")
    _import(s.other, image, method, "as other")
    _import(s.reader, image, method, "as reader")
    _import(s.member, image, dict(method, stores=["cheap"]), "import")
    s.member.wait_image(image, until=("killed", "deleted"), check=_settled)
    s.member.get("/v2/images/%s" % image, step="show imported")
    s.member.get("/v2/images/%s/file" % image, step="download imported")
    _import(s.member, image, method, "import active")
    s.admin.get("/v2/images/%s/tasks" % image, step="tasks as admin")
    s.member.get("/v2/images/%s/tasks" % image, step="tasks as member")
    both = s.member.create(name="both", **RAW)
    s.member.stage(both, DATA)
    _import(s.member, both, dict(method, all_stores=True,
                                 all_stores_must_succeed=False),
            "import all stores")
    s.member.wait_image(both, until=("killed", "deleted"),
                        check=lambda i: _settled(i) and i.get(
                            "stores", "").count(",") >= 1)
    s.member.get("/v2/images/%s" % both, step="show all stores")
    header = s.member.create(name="hdr", **RAW)
    s.member.stage(header, DATA)
    _import(s.member, header, method, "import store header",
            **{"X-Image-Meta-Store": "cheap"})
    s.member.wait_image(header, until=("killed", "deleted"),
                        check=_settled)
    s.member.get("/v2/images/%s" % header, step="show header store")
    _import(s.member, "8" * 8 + "-8888-8888-8888-" + "8" * 12, method,
            "missing image")
    s.member.post("/v2/images/%s/import" % header, data="nope",
                  headers={"Content-Type": "application/json"},
                  step="invalid json")


@scenario("imports.copy_image")
def copy_image(s):
    """copy-image to the other store: who may, from which status."""
    image = s.member.create(name="cp", **RAW)
    copy = {"method": {"name": "copy-image"}, "stores": ["cheap"]}
    _import(s.admin, image, copy, "copy queued")
    s.member.upload(image, DATA)
    _import(s.member, image, copy, "copy as owner")
    s.member.wait_image(image, until=("killed", "deleted"),
                        check=lambda i: _settled(i) and "cheap" in
                        i.get("stores", ""))
    s.member.get("/v2/images/%s" % image, step="show copied")
    _import(s.admin, image, copy, "copy again")
    _import(s.admin, image, {"method": {"name": "copy-image"}},
            "copy no stores")
    _import(s.admin, image, dict(copy, stores=["nowhere"]),
            "copy unknown store")
    _import(s.other, image, copy, "copy as other")
    s.member.wait_image(image, until=(), check=_settled)
    public = s.admin.create(name="pub", visibility="public", **RAW)
    s.admin.upload(public, DATA)
    _import(s.member, public, copy, "member copies public")
    _import(s.admin, public, dict(copy, all_stores=True),
            "admin copies all stores")
    s.admin.wait_image(public, until=("killed", "deleted"),
                       check=lambda i: _settled(i) and "cheap" in
                       i.get("stores", ""))
    s.admin.get("/v2/images/%s" % public, step="show public copied")


@scenario("imports.web_download")
def web_download(s):
    """web-download refusals that need no network (ports, schemes)."""
    image = s.member.create(name="wd", **RAW)
    for step, uri in (("no uri", None), ("ftp", "ftp://127.0.0.1/x"),
                      ("not a url", "nothing"),
                      ("port not allowed", "http://127.0.0.1:1/x")):
        method = {"name": "web-download"}
        if uri is not None:
            method["uri"] = uri
        _import(s.member, image, {"method": method}, step)
    s.member.wait_image(image, until=("queued", "active", "killed"))
    s.member.get("/v2/images/%s" % image, step="show after")
