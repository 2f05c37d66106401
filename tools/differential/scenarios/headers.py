"""Request headers: identity variations, request ids, Accept."""
from tools.differential.scenarios import scenario

RAW = {"disk_format": "raw", "container_format": "bare"}


@scenario("headers.identity", short=True)
def identity(s):
    """Missing, partial and odd identity headers."""
    base = {"X-Identity-Status": "Confirmed",
            "X-Project-Id": s.project("p1"), "X-User-Id": "u1",
            "X-Roles": "member,reader"}
    variants = [
        ("no headers", {}),
        ("status invalid", dict(base, **{"X-Identity-Status": "Invalid"})),
        ("no status", {k: v for k, v in base.items()
                       if k != "X-Identity-Status"}),
        ("no roles", {k: v for k, v in base.items() if k != "X-Roles"}),
        ("empty roles", dict(base, **{"X-Roles": ""})),
        ("unknown role", dict(base, **{"X-Roles": "nobody"})),
        ("upper-case roles", dict(base, **{"X-Roles": "Member,Reader"})),
        ("spaced roles", dict(base, **{"X-Roles": " member , reader "})),
        ("tenant header", dict({k: v for k, v in base.items()
                                if k != "X-Project-Id"},
                               **{"X-Tenant-Id": s.project("p1")})),
        # last: Glance lists more images here, which would rename the
        # images of any later list step
        ("no project", {k: v for k, v in base.items()
                        if k != "X-Project-Id"}),
    ]
    for step, headers in variants:
        s.anon.get("/v2/images", headers=headers, step="list %s" % step)
        s.anon.post("/v2/images", json=dict(RAW, name=step),
                    headers=headers, step="create %s" % step)


@scenario("headers.request_id", short=True)
def request_id(s):
    """Client-supplied X-Openstack-Request-ID values."""
    for step, value in (("uuid", "req-0b0c8a2e-1111-4222-8333-944455556666"),
                        ("no prefix", "0b0c8a2e-1111-4222-8333-944455556666"),
                        ("free text", "my-request"),
                        ("long", "req-" + "x" * 300),
                        ("empty", "")):
        s.member.get("/v2/images", params={"limit": "1"},
                     headers={"X-Openstack-Request-ID": value},
                     step="list with %s" % step)
        s.anon.get("/v2/images", headers={"X-Openstack-Request-ID": value},
                   step="anonymous with %s" % step)
    s.member.get("/v2/images/nope", step="error has request id")


@scenario("headers.accept")
def accept(s):
    """Accept and Content-Type negotiation on API routes."""
    image = s.member.create(name="a", **RAW)
    for accept in ("application/json", "text/html", "application/xml",
                   "text/plain", "*/*", "application/json;q=0.1, text/html",
                   "image/png"):
        s.member.get("/v2/images/%s" % image, headers={"Accept": accept},
                     step="show Accept %s" % accept)
        s.member.get("/v2/images/nope", headers={"Accept": accept},
                     step="404 Accept %s" % accept)
    s.member.post("/v2/images", data='{"name": "x"}',
                  headers={"Content-Type": "application/xml"},
                  step="create xml type")
    s.member.post("/v2/images", data='{"name": "x"}',
                  headers={"Content-Type": "application/json; charset=utf-8"},
                  step="create json charset")
