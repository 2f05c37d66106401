"""The metadata definitions catalog (/v2/metadefs) against the real
daemon: every route, visibility between projects, admin-only writes,
protection, conflicts, paging and the schema documents."""
import json
import pathlib
import urllib.parse
import uuid

import pytest

from tests.functional.apiclient import ADMIN, Api, MEMBER, READER, \
    new_project

NS = "/v2/metadefs/namespaces"
GLANCE33_SCHEMAS = (pathlib.Path(__file__).parents[1] / "unit" / "data" /
                    "glance33_metadef_schemas")


@pytest.fixture(scope="module")
def url(trusted_server):
    return trusted_server.url


@pytest.fixture
def admin(url):
    return Api(url, new_project("adm"), ADMIN)


@pytest.fixture
def p1(url):
    return Api(url, new_project("p1"), READER)


@pytest.fixture
def p2(url):
    return Api(url, new_project("p2"), READER)


def unique(prefix="NS"):
    return "%s::%s" % (prefix, uuid.uuid4().hex[:10])


def ok(resp, status=200):
    assert resp.status_code == status, (resp.status_code, resp.text)
    return resp.json() if resp.content else None


def create(api, body, status=201):
    return ok(api.post(NS, json=body), status)


FULL = {
    "display_name": "Full", "description": "everything at once",
    "visibility": "public", "protected": True,
    "resource_type_associations": [{"name": "OS::Glance::Image",
                                    "prefix": "hw_",
                                    "properties_target": "image"}],
    "properties": {"cpu": {"title": "CPU", "type": "integer",
                           "minimum": 1, "default": 2}},
    "objects": [{"name": "O", "description": "o", "required": ["a"],
                 "properties": {"a": {"title": "A", "type": "string",
                                      "enum": ["x", "y"]}}}],
    "tags": [{"name": "t1"}, {"name": "t2"}],
}


# --- schemas -------------------------------------------------------------

@pytest.mark.parametrize("name", ["namespace", "namespaces", "object",
                                  "objects", "property", "properties",
                                  "tag", "tags", "resource_type",
                                  "resource_types"])
def test_schema_documents_are_glances(p1, name):
    served = ok(p1.get("/v2/schemas/metadefs/" + name))
    assert served == json.loads(
        (GLANCE33_SCHEMAS / ("%s.json" % name)).read_text())
    refused = p1.post("/v2/schemas/metadefs/" + name, json={})
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET"


# --- namespaces -------------------------------------------------------------

def test_whole_namespace_create_show_and_prefix(admin):
    name = unique()
    made = create(admin, dict(FULL, namespace=name))
    assert made["owner"] == admin.project and made["self"] == \
        "%s/%s" % (NS, name)
    assert made["properties"]["cpu"]["default"] == "2"  # stored as text
    assert made["tags"] == [{"name": "t1"}, {"name": "t2"}]
    shown = ok(admin.get("%s/%s" % (NS, name)))
    assert shown["created_at"].endswith("Z")
    assert shown["schema"] == "/v2/schemas/metadefs/namespace"
    assert shown["objects"][0]["self"] == "%s/%s/objects/O" % (NS, name)
    assert shown["resource_type_associations"][0]["prefix"] == "hw_"
    assert sorted(t["name"] for t in shown["tags"]) == ["t1", "t2"]
    typed = ok(admin.get("%s/%s" % (NS, name),
                         params={"resource_type": "OS::Glance::Image"}))
    assert list(typed["properties"]) == ["hw_cpu"]
    assert typed["objects"][0]["required"] == ["hw_a"]
    assert list(typed["objects"][0]["properties"]) == ["hw_a"]


def test_namespace_conflicts_update_and_delete(admin):
    one, two = unique(), unique()
    create(admin, {"namespace": one})
    create(admin, {"namespace": two})
    assert admin.post(NS, json={"namespace": one}).status_code == 409
    clash = admin.put("%s/%s" % (NS, one), json={"namespace": two})
    assert clash.status_code == 409
    renamed = ok(admin.put("%s/%s" % (NS, one),
                           json={"namespace": one + "x", "description": "d",
                                 "visibility": "public"}))
    assert (renamed["namespace"], renamed["visibility"]) == (one + "x",
                                                            "public")
    assert admin.get("%s/%s" % (NS, one)).status_code == 404
    # PUT replaces: what is left out returns to its default
    again = ok(admin.put("%s/%s" % (NS, one + "x"),
                         json={"namespace": one + "x"}))
    assert again["visibility"] == "private" and "description" not in again
    assert admin.delete("%s/%s" % (NS, one + "x")).status_code == 204
    assert admin.delete("%s/%s" % (NS, one + "x")).status_code == 404
    # a failed whole create leaves nothing behind
    dup = {"namespace": one, "objects": [{"name": "a"}, {"name": "a"}]}
    assert admin.post(NS, json=dup).status_code == 409
    assert admin.get("%s/%s" % (NS, one)).status_code == 404


def test_protected_namespace_and_contents_cannot_be_deleted(admin):
    name = unique()
    create(admin, dict(FULL, namespace=name))
    base = "%s/%s" % (NS, name)
    for path in ("", "/objects", "/properties", "/tags", "/objects/O",
                 "/properties/cpu", "/tags/t1",
                 "/resource_types/OS::Glance::Image"):
        resp = admin.delete(base + path)
        assert resp.status_code == 403, (path, resp.text)
        assert "protected" in resp.text
    ok(admin.put(base, json={"namespace": name, "protected": False,
                             "visibility": "public"}))
    for path in ("/objects", "/properties", "/tags"):
        assert admin.delete(base + path).status_code == 204
    shown = ok(admin.get(base))
    assert not {"objects", "properties", "tags"} & set(shown)
    assert admin.delete(base).status_code == 204


def test_visibility_between_projects(admin, p1, p2):
    private1, private2, public2 = unique(), unique(), unique()
    rt = unique("RT")
    for name, owner, vis in ((private1, p1, "private"),
                             (private2, p2, "private"),
                             (public2, p2, "public")):
        create(admin, {"namespace": name, "owner": owner.project,
                       "visibility": vis,
                       "resource_type_associations": [{"name": rt}],
                       "tags": [{"name": "t"}]})

    def listed(api):
        body = ok(api.get(NS, params={"resource_types": rt}))
        return sorted(ns["namespace"] for ns in body["namespaces"])

    assert listed(p1) == sorted([private1, public2])
    assert listed(p2) == sorted([private2, public2])
    assert listed(admin) == sorted([private1, private2, public2])
    assert ok(p1.get("%s/%s" % (NS, public2)))["owner"] == p2.project
    for path in ("", "/objects", "/properties", "/tags", "/tags/t",
                 "/resource_types"):
        assert p1.get("%s/%s%s" % (NS, private2, path)).status_code == 404
        assert p2.get("%s/%s%s" % (NS, private2, path)).status_code == 200
    # writes are for administrators: 403 where one may read, else 404
    owner_member = p2.as_role(MEMBER)
    assert owner_member.delete("%s/%s" % (NS, private2)).status_code == 403
    assert p1.as_role(MEMBER).delete(
        "%s/%s" % (NS, private2)).status_code == 404
    assert ok(p1.get(NS, params={"resource_types": rt,
                                 "visibility": "public"}))[
        "namespaces"][0]["namespace"] == public2


def test_writes_are_admin_only(admin, url):
    member = Api(url, new_project("m"), MEMBER)
    name = unique()
    create(admin, {"namespace": name, "owner": member.project,
                   "tags": [{"name": "t"}]})
    base = "%s/%s" % (NS, name)
    attempts = [
        ("POST", NS, {"namespace": unique()}),
        ("PUT", base, {"namespace": name}),
        ("DELETE", base, None),
        ("POST", base + "/objects", {"name": "o"}),
        ("POST", base + "/properties", {"name": "p", "title": "P",
                                        "type": "string"}),
        ("POST", base + "/tags", {"tags": [{"name": "x"}]}),
        ("POST", base + "/tags/x", None),
        ("PUT", base + "/tags/t", {"name": "u"}),
        ("DELETE", base + "/tags/t", None),
        ("DELETE", base + "/tags", None),
        ("POST", base + "/resource_types", {"name": "R"}),
    ]
    for method, path, body in attempts:
        resp = member.request(method, path, json=body)
        assert resp.status_code == 403, (method, path, resp.text)
    assert ok(member.get(base + "/tags/t"))["name"] == "t"


def test_namespace_list_pages_and_sorts(admin):
    rt = unique("RT")
    names = sorted(unique("Page") for _ in range(5))
    for name in names:
        create(admin, {"namespace": name,
                       "resource_type_associations": [{"name": rt}]})
    seen, path = [], "%s?resource_types=%s&limit=2&sort_key=namespace" \
        "&sort_dir=asc" % (NS, rt)
    while path:
        body = ok(admin.get(path))
        assert body["schema"] == "/v2/schemas/metadefs/namespaces"
        assert "marker" not in body["first"]
        seen += [ns["namespace"] for ns in body["namespaces"]]
        path = body.get("next")
    assert seen == names
    newest = ok(admin.get(NS, params={"resource_types": rt}))["namespaces"]
    assert [ns["namespace"] for ns in newest] == names[::-1]
    for params in ({"sort_key": "bogus"}, {"sort_dir": "up"},
                   {"limit": "abc"}, {"limit": "-1"},
                   {"visibility": "shared"}):
        assert admin.get(NS, params=params).status_code == 400, params
    assert admin.get(NS, params={"marker": unique()}).status_code == 404


# --- objects, properties, tags, resource types ---------------------------

@pytest.fixture
def space(admin):
    name = unique()
    create(admin, {"namespace": name, "visibility": "public"})
    return "%s/%s" % (NS, name)


def test_objects(admin, p1, space):
    body = {"name": "o1", "description": "d", "required": ["a"],
            "properties": {"a": {"title": "A", "type": "string"}}}
    made = ok(admin.post(space + "/objects", json=body), 201)
    assert made["self"] == space + "/objects/o1" and made["required"] == [
        "a"]
    assert admin.post(space + "/objects", json=body).status_code == 409
    ok(admin.post(space + "/objects", json={"name": "o2"}), 201)
    listed = ok(p1.get(space + "/objects"))
    assert [o["name"] for o in listed["objects"]] == ["o1", "o2"]
    assert listed["schema"] == "v2/schemas/metadefs/objects"  # as Glance
    assert admin.put(space + "/objects/o1",
                     json={"name": "o2"}).status_code == 409
    moved = ok(admin.put(space + "/objects/o1", json={"name": "o3"}))
    # as Glance: the answer shows what was given, a read shows it all
    assert "properties" not in moved and "required" not in moved
    shown = ok(p1.get(space + "/objects/o3"))
    assert shown["properties"] == {} and shown["required"] == []
    assert p1.get(space + "/objects/o1").status_code == 404
    assert admin.delete(space + "/objects/o3").status_code == 204
    assert admin.delete(space + "/objects/o3").status_code == 404
    assert admin.delete(space + "/objects").status_code == 204
    assert ok(p1.get(space + "/objects"))["objects"] == []


def test_properties(admin, p1, space):
    prop = {"name": "p1", "title": "P1", "type": "array",
            "items": {"type": "string", "enum": ["a", "b"]},
            "uniqueItems": True, "minItems": 1, "readonly": True,
            "operators": ["<or>"]}
    made = ok(admin.post(space + "/properties", json=prop), 201)
    assert made == prop
    assert admin.post(space + "/properties", json=prop).status_code == 409
    ok(admin.post(space + "/properties",
                  json={"name": "p2", "title": "P2", "type": "string"}), 201)
    listed = ok(p1.get(space + "/properties"))["properties"]
    assert set(listed) == {"p1", "p2"}
    assert ok(p1.get(space + "/properties/p1")) == prop
    assert admin.put(space + "/properties/p1", json=dict(
        prop, name="p2")).status_code == 409
    renamed = ok(admin.put(space + "/properties/p1", json={
        "name": "p3", "title": "P3", "type": "integer", "maximum": 9}))
    assert renamed == {"name": "p3", "title": "P3", "type": "integer",
                       "maximum": 9}
    ok(admin.post(space + "/resource_types",
                  json={"name": "OS::Glance::Image", "prefix": "x_"}), 201)
    with_prefix = p1.get(space + "/properties/x_p3",
                         params={"resource_type": "OS::Glance::Image"})
    assert ok(with_prefix)["name"] == "p3"
    assert p1.get(space + "/properties/p3", params={
        "resource_type": "OS::Glance::Image"}).status_code == 404
    assert admin.delete(space + "/properties/p3").status_code == 204
    assert p1.get(space + "/properties/p3").status_code == 404
    assert admin.delete(space + "/properties").status_code == 204
    assert ok(p1.get(space + "/properties")) == {"properties": {}}


def test_tags(admin, p1, space):
    made = ok(admin.post(space + "/tags/alpha"), 201)
    assert made["name"] == "alpha" and made["created_at"].endswith("Z")
    assert admin.post(space + "/tags/alpha").status_code == 409
    replaced = ok(admin.post(space + "/tags",
                             json={"tags": [{"name": "b"}, {"name": "c"}]}),
                  201)
    assert replaced == {"tags": [{"name": "b"}, {"name": "c"}]}
    ok(admin.post(space + "/tags", json={"tags": [{"name": "d"}]},
                  headers={"X-Openstack-Append": "True"}), 201)
    by_name = ok(p1.get(space + "/tags",
                        params={"sort_key": "name", "sort_dir": "asc"}))
    assert by_name == {"tags": [{"name": "b"}, {"name": "c"},
                                {"name": "d"}]}
    page = ok(p1.get(space + "/tags", params={
        "sort_key": "name", "sort_dir": "asc", "limit": 1, "marker": "b"}))
    assert page == {"tags": [{"name": "c"}]}
    for body in ({"tags": [{"name": "e"}, {"name": "e"}]},
                 {"tags": [{"name": "d"}]}):
        resp = admin.post(space + "/tags", json=body,
                          headers={"X-Openstack-Append": "true"})
        assert resp.status_code == 409, body
    assert admin.put(space + "/tags/b", json={"name": "c"}).status_code == 409
    assert ok(admin.put(space + "/tags/b", json={"name": "z"}))["name"] == "z"
    assert p1.get(space + "/tags/b").status_code == 404
    assert admin.delete(space + "/tags/z").status_code == 204
    assert admin.delete(space + "/tags").status_code == 204
    assert ok(p1.get(space + "/tags")) == {"tags": []}


def test_resource_types(admin, p1, space):
    rt = unique("RT")
    made = ok(admin.post(space + "/resource_types",
                         json={"name": rt, "prefix": "r:",
                               "properties_target": "image"}), 201)
    assert (made["name"], made["prefix"]) == (rt, "r:")
    assert admin.post(space + "/resource_types",
                      json={"name": rt}).status_code == 409
    assert rt in [r["name"] for r in ok(p1.get(
        "/v2/metadefs/resource_types"))["resource_types"]]
    assocs = ok(p1.get(space + "/resource_types"))
    assert [a["name"] for a in assocs["resource_type_associations"]] == [rt]
    assert admin.delete(space + "/resource_types/" + rt).status_code == 204
    gone = admin.delete(space + "/resource_types/" + rt)
    assert gone.status_code == 404 and "Failed to find" in gone.text
    wrong = admin.request("PATCH", space + "/resource_types")
    assert wrong.status_code == 405 and wrong.headers["Allow"] == \
        "GET, POST"


# --- bad input is a clear 4xx --------------------------------------------

def test_bad_input_is_refused_with_4xx(admin, space):
    long_name = "x" * 81
    cases = [
        ("POST", NS, {"namespace": long_name}, 400),
        ("POST", NS, {"namespace": ""}, 400),
        ("POST", NS, {"namespace": unique(), "bogus": 1}, 400),
        ("POST", NS, {"namespace": unique(), "self": "x"}, 403),
        ("POST", NS, {"namespace": unique(), "visibility": "shared"}, 400),
        ("POST", NS, {"namespace": unique(),
                      "properties": {"p": {"type": "string"}}}, 400),
        ("POST", NS, {"namespace": unique(), "resource_type_associations":
                      [{"name": long_name}]}, 400),
        ("POST", space + "/properties", {"name": "p", "title": "P",
                                         "type": "wrong"}, 400),
        ("POST", space + "/properties", {"name": "p", "title": "P",
                                         "type": "string",
                                         "enum": [1, 2]}, 400),
        ("POST", space + "/properties", {"name": long_name, "title": "P",
                                         "type": "string"}, 400),
        ("POST", space + "/objects", {"name": "o", "properties": {
            "a": {"title": "A", "type": "string", "zz": 1}}}, 400),
        ("POST", space + "/objects", {"name": "o", "required": ["a", "a"]},
         400),
        ("POST", space + "/tags/" + long_name, None, 400),
        ("POST", space + "/tags", {"tags": [{"name": long_name}]}, 400),
        ("POST", space + "/tags", {"tags": [{"name": "x", "y": 1}]}, 400),
        ("PUT", space + "/tags/none", {"created_at": "x", "name": "y"},
         403),
        ("POST", space + "/resource_types", {"prefix": "x"}, 400),
        ("GET", space + "/tags?limit=x", None, 400),
        ("GET", space + "/tags?sort_key=nope", None, 400),
    ]
    for method, path, body, status in cases:
        resp = admin.request(method, path, json=body)
        assert resp.status_code == status, (method, path, body, resp.text)
    for raw in (b"{not json", b"[1, 2]", b""):
        resp = admin.post(NS, data=raw,
                          headers={"Content-Type": "application/json"})
        assert resp.status_code == 400, (raw, resp.text)


def test_a_name_beyond_ascii_is_found_through_its_url(admin):
    # the path's percent-encoded UTF-8 is the name, not its latin-1
    # reading (Glance's, which finds nothing)
    name = unique("\u540d\u524d")
    create(admin, {"namespace": name, "visibility": "public"})
    path = NS + "/" + urllib.parse.quote(name)
    assert ok(admin.get(path))["namespace"] == name
    ok(admin.post(path + "/tags/caf%C3%A9"), 201)
    assert [t["name"] for t in ok(admin.get(path + "/tags"))["tags"]] == [
        "caf\u00e9"]
    ok(admin.delete(path), 204)
