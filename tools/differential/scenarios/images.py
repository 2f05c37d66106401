"""Image records: create, show, update by PUT, delete, visibility."""
from tools.differential.scenarios import scenario

RAW = {"disk_format": "raw", "container_format": "bare"}


@scenario("images.create", short=True)
def create(s):
    """Creating images with valid and invalid bodies."""
    one = s.member.create(step="minimal")
    s.member.get("/v2/images/%s" % one, step="show minimal")
    full = s.member.create(
        step="full", name="full", disk_format="qcow2",
        container_format="bare", visibility="shared", tags=["a", "b"],
        min_disk=1, min_ram=2, protected=False, os_hidden=False,
        architecture="x86_64", os_distro="ubuntu", extra="value")
    s.member.get("/v2/images/%s" % full, step="show full")
    given = "6f0a9bb6-7c55-4d62-8d93-ab36fdbe9a6e"
    s.see(given)
    s.member.create(step="given id", id=given, **RAW)
    s.member.create(step="same id again", id=given, **RAW)
    bad = [
        ("bad disk_format", {"disk_format": "floppy"}),
        ("bad container_format", {"container_format": "box"}),
        ("name too long", {"name": "n" * 256}),
        ("name not a string", {"name": 5}),
        ("min_ram negative", {"min_ram": -1}),
        ("min_disk string", {"min_disk": "1"}),
        ("visibility unknown", {"visibility": "everyone"}),
        ("public by member", {"visibility": "public"}),
        ("status given", {"status": "active"}),
        ("size given", {"size": 5}),
        ("checksum given", {"checksum": "0" * 32}),
        ("owner of another project", {"owner": "someone-else"}),
        ("locations given", {"locations": []}),
        ("direct_url given", {"direct_url": "file:///x"}),
        ("self given", {"self": "/v2/images/x"}),
        ("file given", {"file": "/x"}),
        ("schema given", {"schema": "/x"}),
        ("created_at given", {"created_at": "2020-01-01T00:00:00Z"}),
        ("os_glance property", {"os_glance_import_task": "x"}),
        ("tags not a list", {"tags": "a"}),
        ("tag too long", {"tags": ["t" * 256]}),
        ("duplicate tags", {"tags": ["a", "a"]}),
        ("too many tags", {"tags": ["1", "2", "3", "4", "5", "6"]}),
        ("protected string", {"protected": "yes"}),
        ("os_hidden string", {"os_hidden": "yes"}),
        ("id not a uuid", {"id": "not-a-uuid"}),
        ("extra property not a string", {"extra": 5}),
        ("extra property too long", {"extra": "v" * 256}),
        ("property name too long", {"k" * 256: "v"}),
        ("too many properties", {"p%d" % i: "v" for i in range(21)}),
        ("os_hash_algo given", {"os_hash_algo": "sha512"}),
        ("virtual_size given", {"virtual_size": 5}),
        ("stores given", {"stores": "fast"}),
    ]
    for label, body in bad:
        s.member.post("/v2/images", json=body, step=label)
    s.admin.create(step="admin public", visibility="public", **RAW)
    s.admin.create(step="admin owner other", owner=s.project("p2"), **RAW)
    s.member.post("/v2/images", data="{not json",
                  headers={"Content-Type": "application/json"},
                  step="invalid json")
    s.member.post("/v2/images", data="[]",
                  headers={"Content-Type": "application/json"},
                  step="body a list")
    s.member.post("/v2/images", data="", step="empty body")
    s.member.post("/v2/images", data='{"name": "x"}',
                  headers={"Content-Type": "text/plain"},
                  step="text/plain body")
    s.reader.post("/v2/images", json=RAW, step="as reader")
    s.anon.post("/v2/images", json=RAW, step="anonymous")


@scenario("images.show_delete", short=True)
def show_delete(s):
    """Show and delete as owner, other projects, reader, admin."""
    image = s.member.create(name="mine", **RAW)
    s.other.get("/v2/images/%s" % image, step="show as other")
    s.admin.get("/v2/images/%s" % image, step="show as admin")
    s.reader.get("/v2/images/%s" % image, step="show as reader")
    s.anon.get("/v2/images/%s" % image, step="show anonymous")
    s.member.get("/v2/images/not-a-uuid", step="show bad id")
    s.member.get("/v2/images/%s" % ("1" * 8 + "-1111-1111-1111-" + "1" * 12),
                 step="show missing")
    s.other.delete("/v2/images/%s" % image, step="delete as other")
    s.reader.delete("/v2/images/%s" % image, step="delete as reader")
    protected = s.member.create(name="p", protected=True, **RAW)
    s.member.delete("/v2/images/%s" % protected, step="delete protected")
    s.member.patch(protected, [{"op": "replace", "path": "/protected",
                                "value": False}], step="unprotect")
    s.member.delete("/v2/images/%s" % protected, step="delete unprotected")
    s.member.delete("/v2/images/%s" % image, step="delete")
    s.member.delete("/v2/images/%s" % image, step="delete again")
    s.member.get("/v2/images/%s" % image, step="show deleted")
    s.admin.get("/v2/images/%s" % image, step="show deleted as admin")
    s.member.put("/v2/images/%s" % protected, json={}, step="PUT image")
    s.member.delete("/v2/images/not-a-uuid", step="delete bad id")


@scenario("images.visibility")
def visibility(s):
    """Visibility transitions and who sees what."""
    image = s.member.create(name="vis", **RAW)
    for value in ("private", "shared", "community", "public", "bogus",
                  "shared"):
        s.member.patch(image, [{"op": "replace", "path": "/visibility",
                                "value": value}], step="member to %s" % value)
        s.other.get("/v2/images/%s" % image, step="other sees %s" % value)
    s.admin.patch(image, [{"op": "replace", "path": "/visibility",
                           "value": "public"}], step="admin to public")
    s.other.get("/v2/images/%s" % image, step="other sees public")
    s.member.patch(image, [{"op": "replace", "path": "/visibility",
                            "value": "private"}],
                   step="member public to private")
    s.other.patch(image, [{"op": "replace", "path": "/name", "value": "x"}],
                  step="other edits public")
    s.admin.patch(image, [{"op": "replace", "path": "/owner",
                           "value": s.project("p2")}],
                  step="admin moves owner")
    s.other.get("/v2/images/%s" % image, step="new owner sees it")
    s.member.patch(image, [{"op": "replace", "path": "/owner",
                            "value": s.project("p1")}],
                   step="old owner takes it back")


@scenario("images.deactivate")
def deactivate(s):
    """Deactivate and reactivate: who, from which status."""
    queued = s.member.create(name="q", **RAW)
    s.admin.post("/v2/images/%s/actions/deactivate" % queued,
                 step="deactivate queued")
    image = s.member.create(name="d", **RAW)
    s.member.upload(image, b"data" * 10)
    s.member.post("/v2/images/%s/actions/deactivate" % image,
                  step="deactivate as member")
    s.reader.post("/v2/images/%s/actions/deactivate" % image,
                  step="deactivate as reader")
    s.admin.post("/v2/images/%s/actions/deactivate" % image,
                 step="deactivate as admin")
    s.admin.post("/v2/images/%s/actions/deactivate" % image,
                 step="deactivate again")
    s.member.get("/v2/images/%s" % image, step="show deactivated")
    s.member.get("/v2/images/%s/file" % image, step="download deactivated")
    s.admin.get("/v2/images/%s/file" % image,
                step="download deactivated as admin")
    s.member.upload(image, b"again", step="upload deactivated")
    s.member.post("/v2/images/%s/actions/reactivate" % image,
                  step="reactivate as member")
    s.admin.post("/v2/images/%s/actions/reactivate" % image,
                 step="reactivate as admin")
    s.admin.post("/v2/images/%s/actions/reactivate" % image,
                 step="reactivate active")
    s.admin.post("/v2/images/%s/actions/fly" % image, step="unknown action")
    s.admin.get("/v2/images/%s/actions/deactivate" % image,
                step="GET action")
    s.admin.post("/v2/images/%s/actions/deactivate" % ("2" * 8 + "-2222-"
                 "2222-2222-" + "2" * 12), step="deactivate missing")
    s.member.get("/v2/images/%s/file" % image, step="download reactivated")
