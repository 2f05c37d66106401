"""PATCH /v2/images/{id}: every JSON-patch operation on every kind of path."""
from tools.differential.client import PATCH_CT_20
from tools.differential.scenarios import scenario

RAW = {"disk_format": "raw", "container_format": "bare"}


def _op(op, path, value=None, **extra):
    body = {"op": op, "path": path}
    if value is not None:
        body["value"] = value
    body.update(extra)
    return body


@scenario("patching.base", short=True)
def base(s):
    """add/replace/remove on base properties."""
    image = s.member.create(name="p", tags=["t"], **RAW)
    cases = [
        ("replace name", [_op("replace", "/name", "new")]),
        ("add name", [_op("add", "/name", "added")]),
        ("remove name", [_op("remove", "/name")]),
        ("replace name null", [{"op": "replace", "path": "/name",
                                "value": None}]),
        ("replace min_ram", [_op("replace", "/min_ram", 5)]),
        ("replace min_ram string", [_op("replace", "/min_ram", "5")]),
        ("replace min_ram negative", [_op("replace", "/min_ram", -5)]),
        ("remove min_ram", [_op("remove", "/min_ram")]),
        ("replace disk_format", [_op("replace", "/disk_format", "qcow2")]),
        ("replace disk_format bad", [_op("replace", "/disk_format", "x")]),
        ("remove disk_format", [_op("remove", "/disk_format")]),
        ("replace container_format", [_op("replace", "/container_format",
                                          "ovf")]),
        ("replace tags", [_op("replace", "/tags", ["x", "y"])]),
        ("add tag element", [_op("add", "/tags/-", "z")]),
        ("replace tags too many", [_op("replace", "/tags",
                                       ["1", "2", "3", "4", "5", "6"])]),
        ("replace protected", [_op("replace", "/protected", True)]),
        ("replace protected back", [_op("replace", "/protected", False)]),
        ("replace os_hidden", [_op("replace", "/os_hidden", True)]),
        ("replace os_hidden string", [_op("replace", "/os_hidden", "x")]),
        ("replace status", [_op("replace", "/status", "active")]),
        ("replace id", [_op("replace", "/id", "x")]),
        ("replace size", [_op("replace", "/size", 5)]),
        ("replace checksum", [_op("replace", "/checksum", "0" * 32)]),
        ("replace created_at", [_op("replace", "/created_at",
                                    "2020-01-01T00:00:00Z")]),
        ("replace self", [_op("replace", "/self", "x")]),
        ("replace file", [_op("replace", "/file", "x")]),
        ("replace schema", [_op("replace", "/schema", "x")]),
        ("replace direct_url", [_op("replace", "/direct_url", "x")]),
        ("replace virtual_size", [_op("replace", "/virtual_size", 5)]),
        ("replace os_hash_value", [_op("replace", "/os_hash_value", "x")]),
        ("remove id", [_op("remove", "/id")]),
        ("remove protected", [_op("remove", "/protected")]),
        ("remove visibility", [_op("remove", "/visibility")]),
        ("replace owner", [_op("replace", "/owner", s.project("p2"))]),
        ("replace owner same", [_op("replace", "/owner", s.project("p1"))]),
        ("two ops", [_op("replace", "/name", "one"),
                     _op("replace", "/min_disk", 3)]),
        ("one good one bad", [_op("replace", "/name", "two"),
                              _op("replace", "/status", "active")]),
        ("empty list", []),
    ]
    for step, ops in cases:
        s.member.patch(image, ops, step=step)
    s.member.get("/v2/images/%s" % image, step="show after")
    s.reader.patch(image, [_op("replace", "/name", "r")], step="as reader")
    s.other.patch(image, [_op("replace", "/name", "o")], step="as other")
    s.admin.patch(image, [_op("replace", "/name", "a")], step="as admin")
    s.member.patch("4" * 8 + "-4444-4444-4444-" + "4" * 12,
                   [_op("replace", "/name", "m")], step="missing image")


@scenario("patching.extra", short=True)
def extra(s):
    """Extra (custom) properties, reserved names and quotas."""
    image = s.member.create(name="x", custom="c", **RAW)
    cases = [
        ("add extra", [_op("add", "/foo", "bar")]),
        ("add extra again", [_op("add", "/foo", "baz")]),
        ("replace extra", [_op("replace", "/foo", "qux")]),
        ("replace missing extra", [_op("replace", "/nope", "x")]),
        ("remove extra", [_op("remove", "/foo")]),
        ("remove missing extra", [_op("remove", "/foo")]),
        ("add extra number", [_op("add", "/num", 5)]),
        ("add extra null", [{"op": "add", "path": "/nul", "value": None}]),
        ("add extra too long", [_op("add", "/long", "v" * 256)]),
        ("add os_glance", [_op("add", "/os_glance_x", "v")]),
        ("add os_hash_algo", [_op("add", "/os_hash_algo", "md5")]),
        ("add nested path", [_op("add", "/foo/bar", "v")]),
        ("add escaped path", [_op("add", "/a~1b", "v")]),
        ("add tilde path", [_op("add", "/a~0b", "v")]),
        ("bad escape", [_op("add", "/a~2b", "v")]),
        ("add too many", [_op("add", "/q%d" % i, "v") for i in range(20)]),
    ]
    for step, ops in cases:
        s.member.patch(image, ops, step=step)
    s.member.get("/v2/images/%s" % image, step="show after")
    # what Glance lets through and we refuse, on an image of their own
    odd = s.member.create(name="odd", **RAW)
    s.member.patch(odd, [_op("add", "/" + "k" * 256, "v")],
                   step="add name too long")
    s.member.patch(odd, [_op("add", "/stores", "fast")], step="add stores")


@scenario("patching.malformed", short=True)
def malformed(s):
    """Bad operations, bad paths, bad bodies and content types."""
    image = s.member.create(name="m", **RAW)
    ops = [
        ("op unknown", [_op("move", "/name", "x")]),
        ("op test", [_op("test", "/name", "m")]),
        ("op copy", [{"op": "copy", "from": "/name", "path": "/x"}]),
        ("op missing", [{"path": "/name", "value": "x"}]),
        ("path missing", [{"op": "replace", "value": "x"}]),
        ("value missing", [{"op": "replace", "path": "/name"}]),
        ("path no slash", [_op("replace", "name", "x")]),
        ("path empty", [_op("replace", "", "x")]),
        ("path root", [_op("replace", "/", "x")]),
        ("path deep", [_op("replace", "/name/x/y", "x")]),
        ("path trailing slash", [_op("replace", "/name/", "x")]),
        ("extra key", [_op("replace", "/name", "x", other=1)]),
        ("op not a dict", ["replace"]),
        ("op null", [None]),
        ("ops a dict", {"op": "replace", "path": "/name", "value": "x"}),
        ("op number", [{"op": 5, "path": "/name", "value": "x"}]),
    ]
    for step, body in ops:
        s.member.patch(image, body, step=step)
    s.member.patch(image, "{not json", step="invalid json")
    s.member.patch(image, "", step="empty body")
    s.member.patch(image, [_op("replace", "/name", "v20")],
                   content_type=PATCH_CT_20, step="v2.0 patch type")
    v20 = [("v2.0 path no slash", [_op("replace", "name", "x")]),
           ("v2.0 remove", [_op("remove", "/name")])]
    for step, body in v20:
        s.member.patch(image, body, content_type=PATCH_CT_20, step=step)
    for ctype in ("application/json", "application/json-patch+json",
                  "text/plain", None):
        s.member.patch(image, [_op("replace", "/name", "ct")],
                       content_type=ctype, step="content type %s" % ctype)
    s.member.get("/v2/images/%s" % image, step="show after")


@scenario("patching.locations")
def locations(s):
    """Locations (hidden by default: show_multiple_locations is off)."""
    image = s.member.create(name="loc", **RAW)
    url = "file:///nonexistent/x"
    for step, ops in [
            ("add location", [_op("add", "/locations/-",
                                  {"url": url, "metadata": {}})]),
            ("replace locations", [_op("replace", "/locations", [])]),
            ("remove location", [_op("remove", "/locations/0")]),
            ("add location bad", [_op("add", "/locations/-", "x")]),
            ("add direct_url", [_op("add", "/direct_url", url)])]:
        s.member.patch(image, ops, step=step)
        s.admin.patch(image, ops, step="%s as admin" % step)
    s.member.post("/v2/images/%s/locations" % image,
                  json={"url": url, "validation_data": {}},
                  step="add-location API as member")
    s.admin.post("/v2/images/%s/locations" % image, json={"url": "x"},
                 step="add-location API bad url")
    s.member.get("/v2/images/%s/locations" % image,
                 step="get locations as member")
