"""Images API v2 records against the real daemon: CRUD, PATCH, listing,
tags, members, visibility and policy, with several projects."""
import uuid

import pytest

from tests.functional.apiclient import ADMIN, Api, MEMBER, PATCH_CT_20, \
    READER, new_project


@pytest.fixture(scope="module")
def url(trusted_server):
    return trusted_server.url


@pytest.fixture
def p1(url):
    return Api(url, new_project("p1"))


@pytest.fixture
def p2(url):
    return Api(url, new_project("p2"))


@pytest.fixture
def admin(url):
    return Api(url, new_project("adm"), ADMIN)


# --- create / show / delete -------------------------------------------------

def test_create_show_delete(p1):
    img = p1.create(name="one", hw_disk_bus="scsi", tags=["b", "a", "b"])
    assert img["status"] == "queued" and img["visibility"] == "shared"
    assert img["owner"] == p1.project and img["tags"] == ["b", "a"]
    assert p1.image(img["id"]) == img
    assert p1.delete("/v2/images/" + img["id"]).status_code == 204
    assert p1.get("/v2/images/" + img["id"]).status_code == 404


def test_failed_create_leaves_nothing(p1):
    iid = str(uuid.uuid4())
    resp = p1.post("/v2/images", json={"id": iid, "min_ram": -5})
    assert resp.status_code == 400
    resp = p1.post("/v2/images",
                   json={"id": iid, "tags": ["t%d" % i for i in range(200)]})
    assert resp.status_code == 413
    assert p1.get("/v2/images/" + iid).status_code == 404
    assert p1.create(id=iid)["id"] == iid


@pytest.mark.parametrize("body,status", [
    ("not json", 400), ("[1, 2]", 400), ('{"name": 5}', 400),
    ('{"status": "active"}', 403), ('{"os_glance_x": "1"}', 403),
])
def test_create_bad_bodies(p1, body, status):
    resp = p1.post("/v2/images", data=body,
                   headers={"Content-Type": "application/json"})
    assert resp.status_code == status, resp.text
    assert resp.text


def test_reader_and_other_project_rights(p1, url):
    img = p1.create(visibility="private")
    reader = p1.as_role(READER)
    assert reader.get("/v2/images/" + img["id"]).status_code == 200
    assert reader.delete("/v2/images/" + img["id"]).status_code == 403
    other = Api(url, new_project("o"))
    assert other.get("/v2/images/" + img["id"]).status_code == 404
    assert other.delete("/v2/images/" + img["id"]).status_code == 404
    assert other.patch(img["id"], [{"op": "replace", "path": "/name",
                                    "value": "x"}]).status_code == 404


# --- PATCH ---

def test_patch_operations(p1):
    img = p1.create(name="a", foo="1")
    resp = p1.patch(img["id"], [
        {"op": "replace", "path": "/name", "value": "b"},
        {"op": "add", "path": "/bar", "value": "2"},
        {"op": "add", "path": "/foo", "value": "3"},
        {"op": "replace", "path": "/tags", "value": ["x", "y"]},
        {"op": "replace", "path": "/min_ram", "value": 128}])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["name"], body["bar"], body["foo"]) == ("b", "2", "3")
    assert body["tags"] == ["x", "y"] and body["min_ram"] == 128
    resp = p1.patch(img["id"], [{"op": "remove", "path": "/bar"}])
    assert resp.status_code == 200 and "bar" not in resp.json()


@pytest.mark.parametrize("ops,status", [
    ([{"op": "remove", "path": "/nope"}], 409),
    ([{"op": "replace", "path": "/nope", "value": "x"}], 409),
    ([{"op": "remove", "path": "/name"}], 403),
    ([{"op": "replace", "path": "/status", "value": "active"}], 403),
    ([{"op": "replace", "path": "/id", "value": str(uuid.uuid4())}], 403),
    ([{"op": "add", "path": "/os_glance_lock", "value": "x"}], 403),
    ([{"op": "replace", "path": "/visibility", "value": "public"}], 403),
    ([{"op": "replace", "path": "/owner", "value": "someone"}], 403),
    ([{"op": "replace", "path": "/min_disk", "value": -1}], 400),
    ([{"op": "replace", "path": "/name", "value": 7}], 400),
    ([{"op": "move", "path": "/name"}], 400),
    ([{"op": "add", "path": "name", "value": "x"}], 400),
    ({"op": "add"}, 400),
])
def test_patch_refusals_change_nothing(p1, ops, status):
    img = p1.create(name="keep", foo="1")
    # a valid operation first: a refused request must not apply it either
    ops = [{"op": "replace", "path": "/foo", "value": "changed"}] + ops \
        if isinstance(ops, list) else ops
    resp = p1.patch(img["id"], ops)
    assert resp.status_code == status, resp.text
    after = p1.image(img["id"])
    assert after["foo"] == "1" and after["name"] == "keep"
    assert after["updated_at"] == img["updated_at"]


def test_patch_media_types(p1):
    img = p1.create(foo="1")
    resp = p1.patch(img["id"], [{"op": "replace", "path": "/foo",
                                 "value": "2"}], content_type="text/plain")
    assert resp.status_code == 415
    assert "application/openstack-images-v2.1-json-patch" in \
        resp.headers["Accept-Patch"]
    resp = p1.patch(img["id"], [{"add": "/foo", "value": "3"}],
                    content_type=PATCH_CT_20)
    assert resp.status_code == 409
    resp = p1.patch(img["id"], [{"replace": "/foo", "value": "3"}],
                    content_type=PATCH_CT_20)
    assert resp.status_code == 200 and resp.json()["foo"] == "3"


def test_patch_property_quota(p1):
    img = p1.create(**{"k%d" % i: "v" for i in range(128)})
    resp = p1.patch(img["id"], [{"op": "add", "path": "/one_more",
                                 "value": "v"}])
    assert resp.status_code == 413
    resp = p1.patch(img["id"], [{"op": "remove", "path": "/k0"},
                                {"op": "add", "path": "/other", "value": "v"}])
    assert resp.status_code == 200


def test_admin_can_publicize_and_change_owner(admin, p1):
    img = p1.create()
    resp = admin.patch(img["id"], [
        {"op": "replace", "path": "/visibility", "value": "public"},
        {"op": "replace", "path": "/owner", "value": "elsewhere"}])
    assert resp.status_code == 200, resp.text
    assert resp.json()["visibility"] == "public"
    assert resp.json()["owner"] == "elsewhere"


# --- listing ----------------------------------------------------------------

def test_list_filters(p1):
    a = p1.create(name="alpha", disk_format="raw", container_format="bare",
                  tags=["t1", "t2"], color="red", protected=True)
    b = p1.create(name="beta", disk_format="qcow2", tags=["t1"],
                  color="blue", min_ram=64)
    hidden = p1.create(name="gamma", os_hidden=True)
    mine = set(p1.list_ids(limit=1000))
    assert {a["id"], b["id"]} <= mine and hidden["id"] not in mine
    assert p1.list_ids(name="alpha") == [a["id"]]
    assert p1.list_ids(color="blue") == [b["id"]]
    assert p1.list_ids(tag=["t1", "t2"]) == [a["id"]]
    assert set(p1.list_ids(tag="t1")) == {a["id"], b["id"]}
    assert p1.list_ids(disk_format="qcow2") == [b["id"]]
    assert p1.list_ids(protected="true") == [a["id"]]
    assert p1.list_ids(os_hidden="true") == [hidden["id"]]
    assert set(p1.list_ids(name="in:alpha,beta")) == {a["id"], b["id"]}
    assert p1.list_ids(id="in:%s" % b["id"]) == [b["id"]]
    created = p1.image(a["id"])["created_at"]
    assert a["id"] in p1.list_ids(created_at="lte:" + created)
    assert a["id"] not in p1.list_ids(created_at="gt:" + created)
    p1.patch(a["id"], [{"op": "replace", "path": "/protected",
                        "value": False}])


@pytest.mark.parametrize("params", [
    {"limit": "x"}, {"limit": "-1"}, {"sort_key": "bogus"},
    {"sort_dir": "sideways"}, {"sort": "name:up"},
    {"sort": "name", "sort_key": "id"}, {"visibility": "bogus"},
    {"member_status": "bogus"}, {"protected": "maybe"},
    {"size_min": "big"}, {"created_at": "gt:yesterday"},
    {"marker": str(uuid.uuid4())},
    {"changes-since": "2020-01-01T00:00:00Z"},
])
def test_list_bad_parameters_400(p1, params):
    resp = p1.get("/v2/images", params=params)
    assert resp.status_code == 400, resp.text


@pytest.mark.parametrize("params", [{"status": "sleeping"},
                                    {"size_max": "-1"}])
def test_list_values_glance_lets_through(p1, params):
    # Glance 33 filters on them: nothing matches
    resp = p1.get("/v2/images", params=params)
    assert resp.status_code == 200, resp.text
    assert resp.json()["images"] == []


def test_pagination_links_cover_everything(p1):
    ids = {p1.create(name="page-%d" % i, pager="yes")["id"]
           for i in range(7)}
    seen = []
    path = "/v2/images?pager=yes&limit=3&sort_key=name&sort_dir=asc"
    pages = 0
    while path:
        resp = p1.get(path)
        assert resp.status_code == 200
        body = resp.json()
        assert body["first"].startswith("/v2/images?")
        assert "marker" not in body["first"]
        seen += [i["id"] for i in body["images"]]
        path = body.get("next")
        pages += 1
    assert pages == 3 and len(seen) == 7 and set(seen) == ids
    names = [p1.image(i)["name"] for i in seen]
    assert names == sorted(names)


def test_sort_multiple_keys(p1):
    made = [p1.create(name=n, sorter="1", min_disk=d)
            for n, d in (("b", 1), ("a", 2), ("b", 0))]
    resp = p1.get("/v2/images", params={"sorter": "1",
                                        "sort": "name:asc,size:desc"})
    assert [i["name"] for i in resp.json()["images"]] == ["a", "b", "b"]
    assert len(made) == 3


# --- tags -------------------------------------------------------------------

def test_tags(p1):
    img = p1.create()
    assert p1.put("/v2/images/%s/tags/x" % img["id"]).status_code == 204
    assert p1.put("/v2/images/%s/tags/x" % img["id"]).status_code == 204
    assert p1.image(img["id"])["tags"] == ["x"]
    assert p1.delete("/v2/images/%s/tags/x" % img["id"]).status_code == 204
    assert p1.delete("/v2/images/%s/tags/x" % img["id"]).status_code == 404
    resp = p1.get("/v2/images/%s/tags/x" % img["id"])
    assert resp.status_code == 405 and resp.headers["Allow"] == "PUT, DELETE"


def test_a_tag_in_the_url_is_the_utf8_text_it_encodes(p1):
    # Glance decodes the path as latin-1 and stores 'cafÃ©' (a quirk of
    # the conformance suite we do not copy)
    img = p1.create(tags=["d\u00e9j\u00e0"])
    tags = "/v2/images/%s/tags/" % img["id"]
    assert p1.put(tags + "caf%C3%A9").status_code == 204
    assert p1.put(tags + "%E5%90%8D").status_code == 204
    assert sorted(p1.image(img["id"])["tags"]) == sorted(
        ["d\u00e9j\u00e0", "caf\u00e9", "\u540d"])
    # the tag given in the body is found through the URL, and the length
    # limit counts characters: 255 two-byte characters fit
    assert p1.delete(tags + "d%C3%A9j%C3%A0").status_code == 204
    assert p1.put(tags + "%C3%A9" * 255).status_code == 204
    assert p1.put(tags + "%C3%A9" * 256).status_code == 400
    assert sorted(p1.image(img["id"])["tags"]) == sorted(
        ["caf\u00e9", "\u540d", "\u00e9" * 255])
    # a path that is not UTF-8 is refused, as before
    assert p1.put(tags + "caf%E9").status_code == 400


# --- visibility and members ---

def _member_status(owner, image_id, member, status):
    resp = owner.post("/v2/images/%s/members" % image_id,
                      json={"member": member.project})
    assert resp.status_code == 200, resp.text
    if status != "pending":
        resp = member.put("/v2/images/%s/members/%s" % (image_id,
                                                       member.project),
                          json={"status": status})
        assert resp.status_code == 200, resp.text
        assert resp.json()["status"] == status


def test_visibility_matrix(url, admin):
    owner = Api(url, new_project("own"))
    pending, accepted, rejected, stranger = (
        Api(url, new_project(n)) for n in ("pen", "acc", "rej", "str"))
    images = {v: owner.create(visibility=v)["id"]
              for v in ("private", "shared", "community")}
    images["public"] = admin.create(visibility="public",
                                    owner=owner.project)["id"]
    for member, status in ((pending, "pending"), (accepted, "accepted"),
                           (rejected, "rejected")):
        _member_status(owner, images["shared"], member, status)
    # who may GET each image
    can_get = {
        owner: {"private", "shared", "community", "public"},
        admin: {"private", "shared", "community", "public"},
        pending: {"shared", "community", "public"},
        accepted: {"shared", "community", "public"},
        rejected: {"shared", "community", "public"},
        stranger: {"community", "public"},
    }
    for viewer, visible in can_get.items():
        for vis, iid in images.items():
            code = viewer.get("/v2/images/" + iid).status_code
            assert code == (200 if vis in visible else 404), \
                (viewer.project, vis, code)
    # who lists what by default (community of others is not listed)
    mine = set(images.values())
    assert set(owner.list_ids(limit=1000)) & mine == mine
    assert images["shared"] in accepted.list_ids(limit=1000)
    assert images["shared"] not in pending.list_ids(limit=1000)
    assert images["shared"] in pending.list_ids(member_status="pending")
    assert images["shared"] in rejected.list_ids(member_status="rejected")
    assert images["community"] not in stranger.list_ids(limit=1000)
    assert images["community"] in stranger.list_ids(visibility="community")
    assert images["public"] in stranger.list_ids(limit=1000)
    assert images["private"] not in stranger.list_ids(visibility="all")
    # a member may not change the image
    resp = accepted.patch(images["shared"], [
        {"op": "replace", "path": "/name", "value": "mine"}])
    assert resp.status_code == 403


def test_members_api(url):
    owner, m1, m2 = (Api(url, new_project(n)) for n in ("o", "m1", "m2"))
    img = owner.create(visibility="shared")
    base = "/v2/images/%s/members" % img["id"]
    resp = owner.post(base, json={"member": m1.project})
    assert resp.status_code == 200
    member = resp.json()
    assert member["status"] == "pending" and member["image_id"] == img["id"]
    assert member["schema"] == "/v2/schemas/member"
    assert owner.post(base, json={"member": m1.project}).status_code == 409
    assert owner.post(base, json={}).status_code == 400
    assert owner.post(base, json={"member": m2.project}).status_code == 200
    listed = owner.get(base).json()
    assert {m["member_id"] for m in listed["members"]} == {m1.project,
                                                          m2.project}
    assert listed["schema"] == "/v2/schemas/members"
    # a member sees only itself
    assert [m["member_id"] for m in m1.get(base).json()["members"]] == \
        [m1.project]
    assert m1.get(base + "/" + m2.project).status_code == 404
    # only the member changes its status; only the owner removes it
    assert owner.put(base + "/" + m1.project,
                     json={"status": "accepted"}).status_code == 403
    assert m1.put(base + "/" + m1.project,
                  json={"status": "bogus"}).status_code == 400
    assert m1.put(base + "/" + m1.project,
                  json={"status": "accepted"}).status_code == 200
    assert m1.post(base, json={"member": "x"}).status_code == 403
    assert m1.delete(base + "/" + m1.project).status_code == 403
    assert owner.delete(base + "/" + m1.project).status_code == 204
    assert owner.get(base + "/" + m1.project).status_code == 404
    private = owner.create(visibility="private")
    resp = owner.post("/v2/images/%s/members" % private["id"],
                      json={"member": m1.project})
    assert resp.status_code == 403


def test_member_quota(url):
    owner = Api(url, new_project("o"))
    img = owner.create(visibility="shared")
    base = "/v2/images/%s/members" % img["id"]
    for i in range(3):
        assert owner.post(base, json={"member": "m%d" % i}).status_code == \
            200
    resp = owner.post(base, json={"member": "m-over"})
    assert resp.status_code == 413 and "Maximum: 3" in resp.text


# --- actions, discovery ---

def test_deactivate_queued_image_refused(p1, url):
    img = p1.create()
    resp = p1.post("/v2/images/%s/actions/deactivate" % img["id"])
    assert resp.status_code == 403
    other = Api(url, new_project("o"))
    resp = other.post("/v2/images/%s/actions/deactivate" % img["id"])
    assert resp.status_code == 404
    assert p1.get("/v2/images/%s/actions/deactivate"
                  % img["id"]).status_code == 405


def test_discovery(p1):
    body = p1.get("/v2/info/import").json()
    assert body["import-methods"]["value"] == ["glance-direct",
                                               "web-download", "copy-image"]
    # no keystone unified limits: an empty usage document, as Glance
    assert p1.get("/v2/info/usage").json() == {"usage": {}}
    assert p1.get("/v2/info/stores").status_code == 404  # single store


def test_keystone_limits_without_oslo_limit_config(glance_server):
    # the limits come from Keystone (tests/functional/
    # test_keystone_limits.py); with no [oslo_limit] to reach it, a
    # request that needs them is a 500 and the log says why, as in Glance
    srv = glance_server(workers=1, flavor="trusted-auth", conf={
        "DEFAULT": {"use_keystone_limits": True}})
    api = Api(srv.url, new_project("u"))
    resp = api.get("/v2/info/usage")
    assert resp.status_code == 500
    assert api.post("/v2/images", json={}).status_code == 500
    assert "Failed to initialize oslo_limit" in srv.log_text()


def test_schemas_and_unknown_paths(p1):
    assert p1.get("/v2/schemas/image").json()["name"] == "image"
    assert p1.get("/v2/nothing-here").status_code == 404
    assert p1.post("/v2/schemas/image").status_code == 405
    assert p1.request("BREW", "/v2/images").status_code in (405, 501)


def test_member_role_needed_to_create(url):
    reader = Api(url, new_project("r"), READER)
    assert reader.post("/v2/images", json={}).status_code == 403
    member = Api(url, reader.project, MEMBER)
    assert member.post("/v2/images", json={}).status_code == 201


def test_healthcheck_needs_no_identity(url):
    import requests
    resp = requests.get(url + "/healthcheck", timeout=10)
    assert resp.status_code == 200 and resp.text == "OK"
    # outside the API pipeline: no request id, as in Glance
    assert "x-openstack-request-id" not in resp.headers
