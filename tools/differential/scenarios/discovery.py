"""Versions, schemas, info and stores: what a client discovers first."""
from tools.differential.scenarios import scenario

SCHEMAS = ("image", "images", "member", "members", "task", "tasks")


@scenario("discovery.versions", short=True)
def versions(s):
    """Version documents by path and Accept header."""
    for path in ("/", "/versions", "/v2", "/v2/", "/v1/images", "/v3/",
                 "/v2.0/images", "/versions/", "/v2/nothing-here"):
        s.member.get(path)
    for accept in ("application/json", "application/vnd.openstack.images-v2",
                   "application/vnd.openstack.images-v2.1",
                   "application/vnd.openstack.images-v1",
                   "application/vnd.openstack.images-v3", "text/html"):
        s.member.get("/images", headers={"Accept": accept},
                     step="GET /images Accept %s" % accept)
        s.member.get("/v2/schemas/image", headers={"Accept": accept},
                     step="GET /v2/schemas/image Accept %s" % accept)
    s.anon.get("/versions", step="versions anonymous")
    s.member.post("/versions", step="POST /versions")
    s.member.request("HEAD", "/versions", step="HEAD /versions")


@scenario("discovery.schemas", short=True)
def schemas(s):
    """Every schema document, and ones that do not exist."""
    for name in SCHEMAS:
        s.member.get("/v2/schemas/" + name)
    s.reader.get("/v2/schemas/image", step="image schema as reader")
    s.anon.get("/v2/schemas/image", step="image schema anonymous")
    s.member.get("/v2/schemas/nothing")
    s.member.get("/v2/schemas")
    s.member.post("/v2/schemas/image", json={}, step="POST schema")


@scenario("discovery.info")
def info(s):
    """/v2/info/import, stores, stores/detail and usage per identity."""
    for caller in (s.member, s.reader, s.admin, s.anon):
        who = caller.roles or "anonymous"
        s.see(caller.project)
        caller.get("/v2/info/import", step="import as %s" % who)
        caller.get("/v2/info/stores", step="stores as %s" % who)
        caller.get("/v2/info/stores/detail", step="detail as %s" % who)
        caller.get("/v2/info/usage", step="usage as %s" % who)
    s.member.post("/v2/info/import", json={}, step="POST import info")
    s.member.delete("/v2/info/stores", step="DELETE stores info")
    s.member.get("/v2/info/nothing")
    image = s.member.create(name="usage", disk_format="raw",
                            container_format="bare")
    s.member.upload(image, b"x" * 100)
    s.member.get("/v2/info/usage", step="usage after upload")


@scenario("discovery.not_found")
def not_found(s):
    """Unknown routes and methods a route does not have."""
    for method, path in (("GET", "/v2/imagez"), ("PUT", "/v2/images"),
                         ("DELETE", "/v2/images"), ("POST", "/v2/tasks/x"),
                         ("PATCH", "/v2/schemas/image"),
                         ("GET", "/v2/images/x/y/z"),
                         ("PUT", "/v2/images/%s" % ("0" * 8 + "-0000-0000-"
                                                    "0000-" + "0" * 12)),
                         ("POST", "/v2/info/usage"), ("GET", "/v2/stores"),
                         ("POST", "/v2/cache"), ("PATCH", "/v2/cache")):
        s.member.request(method, path)


@scenario("discovery.methods")
def methods(s):
    """Methods an image sub-resource does not have, and the healthcheck."""
    image = s.member.create(name="m", disk_format="raw",
                            container_format="bare")
    base = "/v2/images/%s" % image
    for method, path in (("POST", base + "/file"), ("DELETE", base + "/file"),
                         ("PATCH", base + "/file"), ("GET", base + "/stage"),
                         ("DELETE", base + "/stage"),
                         ("GET", base + "/import"),
                         ("PUT", base + "/import"),
                         ("POST", base + "/tasks"),
                         ("DELETE", base + "/locations"),
                         ("POST", base + "/members/" + s.project("p2")),
                         ("PUT", base + "/actions/deactivate"),
                         ("DELETE", "/v2/tasks"), ("PUT", "/v2/info/import"),
                         ("DELETE", "/v2/schemas/image")):
        s.member.request(method, path)
    s.anon.get("/healthcheck", step="healthcheck")
    s.anon.head("/healthcheck", step="HEAD healthcheck")
