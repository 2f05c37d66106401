"""GET /v2/images: filters, sorting, paging, and what each caller sees.

Each scenario's images belong to its own projects; admin listings are
narrowed to them with ``owner`` or a property only they have.
"""
from tools.differential.scenarios import scenario

RAW = {"disk_format": "raw", "container_format": "bare"}


def _fixture(s):
    """Five images of p1 (one shared with p2, one community, one hidden
    qcow2),
    two of p2 (one shared with p1), all with property ``run=<token>``."""
    ids = {}
    specs = [
        ("a", s.member, {"name": "alpha", "tags": ["t1", "t2"],
                         "min_ram": 1, **RAW}),
        ("b", s.member, {"name": "beta", "tags": ["t2"], "min_ram": 2,
                         "visibility": "shared", **RAW}),
        ("c", s.member, {"name": "gamma", "visibility": "community",
                         "min_disk": 3, **RAW}),
        ("d", s.member, {"name": "alpha", "os_hidden": True,
                         "disk_format": "qcow2", "container_format": "bare"}),
        ("e", s.member, {"name": "epsilon", "protected": True, **RAW}),
        ("f", s.other, {"name": "phi", "visibility": "shared", **RAW}),
        ("g", s.other, {"name": "gee", **RAW}),
    ]
    for key, caller, props in specs:
        ids[key] = caller.create(step="fixture %s" % key, run=s.token,
                                 **props)
    s.member.upload(ids["a"], b"a" * 10, step="fixture upload a")
    s.member.upload(ids["c"], b"c" * 30, step="fixture upload c")
    s.member.post("/v2/images/%s/members" % ids["b"],
                  json={"member": s.project("p2")}, step="share b with p2")
    s.other.post("/v2/images/%s/members" % ids["f"],
                 json={"member": s.project("p1")}, step="share f with p1")
    s.member.put("/v2/images/%s/members/%s" % (ids["f"], s.project("p1")),
                 json={"status": "accepted"}, step="p1 accepts f")
    return ids


def _list(caller, step, **params):
    return caller.get("/v2/images", params=params, step=step)


@scenario("listing.filters", short=True)
def filters(s):
    """Filters one by one, valid and invalid."""
    _fixture(s)
    cases = [
        ("mine", {}),
        ("name", {"name": "alpha"}),
        ("name in", {"name": "in:alpha,beta"}),
        ("name in quoted", {"name": 'in:"alpha","gamma"'}),
        ("status active", {"status": "active"}),
        ("status queued", {"status": "queued"}),
        ("status bogus", {"status": "bogus"}),
        ("status in", {"status": "in:active,queued"}),
        ("disk_format", {"disk_format": "qcow2"}),
        ("container in", {"container_format": "in:bare,ova"}),
        ("visibility private", {"visibility": "private"}),
        ("visibility shared", {"visibility": "shared"}),
        ("visibility community", {"visibility": "community"}),
        ("visibility public", {"visibility": "public"}),
        ("visibility all", {"visibility": "all"}),
        ("visibility bogus", {"visibility": "bogus"}),
        ("tag", {"tag": "t2"}),
        ("size_min", {"size_min": "20"}),
        ("size_max", {"size_max": "20"}),
        ("size_min bad", {"size_min": "abc"}),
        ("size_max negative", {"size_max": "-1"}),
        ("size range", {"size_min": "5", "size_max": "15"}),
        ("min_ram", {"min_ram": "2"}),
        ("min_ram gte", {"min_ram": "gte:1"}),
        ("min_disk gt", {"min_disk": "gt:1"}),
        ("min_ram bad op", {"min_ram": "foo:1"}),
        ("min_ram not a number", {"min_ram": "lots"}),
        ("os_hidden true", {"os_hidden": "true"}),
        ("os_hidden false", {"os_hidden": "false"}),
        ("os_hidden bad", {"os_hidden": "maybe"}),
        ("protected true", {"protected": "true"}),
        ("protected bad", {"protected": "maybe"}),
        ("owner", {"owner": s.project("p2")}),
        ("member_status accepted", {"member_status": "accepted"}),
        ("member_status pending", {"member_status": "pending"}),
        ("member_status all", {"member_status": "all"}),
        ("member_status bogus", {"member_status": "bogus"}),
        ("property", {"run": s.token}),
        ("property in", {"run": "in:%s,zz" % s.token}),
        ("created_at gte", {"created_at": "gte:2000-01-01T00:00:00Z"}),
        ("updated_at lt", {"updated_at": "lt:2000-01-01T00:00:00Z"}),
        ("created_at bad", {"created_at": "gte:yesterday"}),
        ("created_at no op", {"created_at": "2000-01-01T00:00:00Z"}),
        ("changes-since", {"changes-since": "2000-01-01T00:00:00Z"}),
        ("id in", {"id": "in:nothing"}),
        ("checksum", {"checksum": "0" * 32}),
        ("os_hash_value", {"os_hash_value": "0" * 128}),
    ]
    for step, params in cases:
        _list(s.member, step, **params)
    _list(s.reader, "reader mine")
    _list(s.other, "other mine")
    _list(s.other, "other shared pending", visibility="shared",
          member_status="pending")
    _list(s.anon, "anonymous")


@scenario("listing.admin")
def admin(s):
    """What an admin lists, narrowed to this scenario's images."""
    _fixture(s)
    for step, params in [
            ("owner p1", {"owner": s.project("p1")}),
            ("owner p1 all", {"owner": s.project("p1"),
                              "visibility": "all"}),
            ("property all", {"run": s.token, "visibility": "all"}),
            ("property private", {"run": s.token, "visibility": "private"}),
            ("property shared", {"run": s.token, "visibility": "shared"}),
            ("property community", {"run": s.token,
                                    "visibility": "community"}),
            ("property hidden", {"run": s.token, "os_hidden": "true"}),
            ("property member_status", {"run": s.token,
                                        "member_status": "all"})]:
        _list(s.admin, step, **params)


@scenario("listing.paging", short=True)
def paging(s):
    """limit, marker and the next link."""
    ids = _fixture(s)
    for step, params in [
            ("limit 2", {"limit": "2"}),
            ("limit 0", {"limit": "0"}),
            ("limit -1", {"limit": "-1"}),
            ("limit abc", {"limit": "abc"}),
            ("limit huge", {"limit": "100000"}),
            ("marker", {"marker": ids["c"], "limit": "2"}),
            ("marker unknown", {"marker": "3" * 8 + "-3333-3333-3333-"
                                + "3" * 12}),
            ("marker not uuid", {"marker": "nope"}),
            ("marker not visible", {"marker": ids["g"]}),
            ("marker deleted", {}),
    ]:
        if step == "marker deleted":
            s.member.delete("/v2/images/%s" % ids["d"], step="delete d")
            params = {"marker": ids["d"]}
        resp = _list(s.member, step, **params)
    resp = _list(s.member, "page 1", limit="3")
    body = resp.json or {}
    if "next" in body:
        s.member.get(body["next"], step="page 2")


@scenario("listing.sorting")
def sorting(s):
    """sort_key/sort_dir and the sort= syntax, valid and invalid."""
    _fixture(s)
    for step, params in [
            ("name asc", {"sort_key": "name", "sort_dir": "asc"}),
            ("name desc", {"sort_key": "name", "sort_dir": "desc"}),
            ("two keys", {"sort_key": ["name", "created_at"],
                          "sort_dir": ["asc", "desc"]}),
            ("size", {"sort_key": "size"}),
            ("min_ram", {"sort_key": "min_ram"}),
            ("status", {"sort_key": "status"}),
            ("disk_format", {"sort_key": "disk_format"}),
            ("visibility", {"sort_key": "visibility"}),
            ("updated_at", {"sort_key": "updated_at"}),
            ("bad key", {"sort_key": "flavor"}),
            ("extra prop key", {"sort_key": "run"}),
            ("bad dir", {"sort_key": "name", "sort_dir": "up"}),
            ("more dirs than keys", {"sort_key": "name",
                                     "sort_dir": ["asc", "desc"]}),
            ("sort syntax", {"sort": "name:asc,min_ram:desc"}),
            ("sort no dir", {"sort": "name"}),
            ("sort bad dir", {"sort": "name:up"}),
            ("sort bad key", {"sort": "flavor:asc"}),
            ("sort and sort_key", {"sort": "name", "sort_key": "name"}),
            ("sort empty", {"sort": ""}),
            ("duplicate key", {"sort_key": ["name", "name"]}),
    ]:
        _list(s.member, step, **params)
