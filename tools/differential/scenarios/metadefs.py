"""The metadata definitions catalog: /v2/metadefs and its schemas.

Every namespace, resource type, object, property and tag name carries the
scenario's token (normalised to ``T``); listings are narrowed to this
scenario's namespaces with a resource type only they are associated with.
Writes are admin-only by Glance's default policy: each is tried as admin
and as a project member.
"""
from tools.differential.scenarios import scenario

SCHEMAS = ("namespace", "namespaces", "resource_type", "resource_types",
           "object", "objects", "property", "properties", "tag", "tags")
NS_URL = "/v2/metadefs/namespaces"


def _ns(s, name):
    return "%s-%s" % (name, s.token)


def _rt(s):
    return "OS::Diff::%s" % s.token


@scenario("metadefs.schemas", short=True)
def schemas(s):
    """The ten metadefs schema documents, and one that does not exist."""
    for name in SCHEMAS:
        s.member.get("/v2/schemas/metadefs/" + name)
    s.anon.get("/v2/schemas/metadefs/namespace", step="anonymous")
    s.member.get("/v2/schemas/metadefs/nothing")
    s.member.post("/v2/schemas/metadefs/tag", json={}, step="POST schema")


@scenario("metadefs.namespaces")
def namespaces(s):
    """Namespaces: create, show, update, delete, list with filters."""
    pub, priv = _ns(s, "pub"), _ns(s, "priv")
    rt = _rt(s)
    s.admin.post(NS_URL, json={"namespace": pub, "display_name": "Public",
                               "description": "d", "visibility": "public",
                               "protected": False}, step="create public")
    s.admin.post(NS_URL, json={"namespace": pub}, step="create again")
    s.member.post(NS_URL, json={"namespace": _ns(s, "mine")},
                  step="create as member")
    s.reader.post(NS_URL, json={"namespace": _ns(s, "rd")},
                  step="create as reader")
    s.anon.post(NS_URL, json={"namespace": _ns(s, "anon")},
                step="create anonymous")
    full = {
        "namespace": priv, "display_name": "Private", "visibility":
        "private", "protected": True,
        "resource_type_associations": [{"name": rt, "prefix": "hw_",
                                        "properties_target": "image"}],
        "properties": {"speed": {"title": "Speed", "type": "integer",
                                 "minimum": 1, "maximum": 10}},
        "objects": [{"name": "cpu", "description": "c", "required": [],
                     "properties": {"cores": {"title": "Cores",
                                              "type": "integer"}}}],
        "tags": [{"name": "fast"}, {"name": "slow"}]}
    s.admin.post(NS_URL, json=full, step="create whole namespace")
    s.admin.post(NS_URL, json={"namespace": pub.upper()},
                 step="create name other case")
    for step, body in [
            ("no name", {"display_name": "x"}),
            ("name too long", {"namespace": "n" * 81}),
            ("name not a string", {"namespace": 5}),
            ("bad visibility", {"namespace": _ns(s, "v"),
                                "visibility": "everyone"}),
            ("protected string", {"namespace": _ns(s, "p"),
                                  "protected": "yes"}),
            ("unknown key", {"namespace": _ns(s, "k"), "flavor": 1}),
            ("owner given", {"namespace": _ns(s, "o"), "owner": "x"}),
            ("bad property", {"namespace": _ns(s, "bp"), "properties": {
                "x": {"type": "flavor", "title": "X"}}}),
            ("duplicate tags", {"namespace": _ns(s, "dt"),
                                "tags": [{"name": "a"}, {"name": "a"}]}),
            ("body a list", [])]:
        s.admin.post(NS_URL, json=body, step="create %s" % step)
    s.admin.post(NS_URL, data="{nope", step="create invalid json",
                 headers={"Content-Type": "application/json"})
    for caller, who in ((s.admin, "admin"), (s.member, "member"),
                        (s.reader, "reader"), (s.other_admin, "other admin"),
                        (s.anon, "anonymous")):
        caller.get("%s/%s" % (NS_URL, pub), step="show public as %s" % who)
        caller.get("%s/%s" % (NS_URL, priv),
                   step="show private as %s" % who)
    s.admin.get("%s/%s" % (NS_URL, priv), params={"resource_type": rt},
                step="show with resource_type")
    s.admin.get("%s/%s" % (NS_URL, priv), params={"resource_type": "nope"},
                step="show with unknown resource_type")
    s.admin.get("%s/%s" % (NS_URL, _ns(s, "missing")), step="show missing")
    # the listings, narrowed by the resource type only priv and pub have
    s.admin.post("%s/%s/resource_types" % (NS_URL, pub),
                 json={"name": rt}, step="associate public")
    for step, params in [
            ("list", {}),
            ("list public", {"visibility": "public"}),
            ("list private", {"visibility": "private"}),
            ("list bad visibility", {"visibility": "bogus"}),
            ("list limit 1", {"limit": "1"}),
            ("list limit 0", {"limit": "0"}),
            ("list limit bad", {"limit": "x"}),
            ("list limit negative", {"limit": "-1"}),
            ("list sort namespace asc", {"sort_key": "namespace",
                                         "sort_dir": "asc"}),
            ("list sort namespace desc", {"sort_key": "namespace",
                                          "sort_dir": "desc"}),
            ("list sort bad key", {"sort_key": "flavor"}),
            ("list sort bad dir", {"sort_dir": "up"}),
            ("list marker missing", {"marker": _ns(s, "missing")})]:
        s.admin.get(NS_URL, params=dict(params, resource_types=rt),
                    step=step)
    first = s.admin.get(NS_URL, params={"resource_types": rt, "limit": "1",
                                        "sort_key": "namespace"},
                        step="list page 1")
    body = first.json or {}
    if body.get("next"):
        s.admin.get(body["next"], step="list page 2")
    s.member.get(NS_URL, params={"resource_types": rt}, step="member list")
    s.anon.get(NS_URL, params={"resource_types": rt}, step="anon list")
    s.admin.get(NS_URL, params={"resource_types": rt + ",nope"},
                step="list two resource types")
    # update
    url = "%s/%s" % (NS_URL, pub)
    s.admin.put(url, json={"namespace": pub, "display_name": "New",
                           "visibility": "public"}, step="update")
    s.member.put(url, json={"namespace": pub}, step="update as member")
    s.admin.put(url, json={"namespace": priv}, step="rename onto other")
    s.admin.put(url, json={"display_name": "x"}, step="update no name")
    s.admin.put(url, json={"namespace": pub, "visibility": "x"},
                step="update bad visibility")
    s.admin.put(url, json={"namespace": pub, "protected": True},
                step="protect")
    s.admin.delete(url, step="delete protected")
    s.admin.put(url, json={"namespace": pub, "protected": False},
                step="unprotect")
    s.member.delete(url, step="delete as member")
    s.admin.request("PATCH", url, json={}, step="PATCH namespace")
    s.admin.request("POST", url, json={}, step="POST namespace")
    s.admin.delete(url, step="delete")
    s.admin.delete(url, step="delete again")
    s.admin.get(url, step="show deleted")
    s.admin.put("%s/%s" % (NS_URL, priv), json={"namespace": priv,
                                                 "protected": False},
                step="unprotect private")
    s.admin.delete("%s/%s" % (NS_URL, priv), step="delete private")
    s.admin.delete("%s/%s" % (NS_URL, pub.upper()), step="delete other case")


def _namespace(s, name, **extra):
    body = dict({"namespace": name, "visibility": "public"}, **extra)
    s.admin.post(NS_URL, json=body, step="create namespace %s" % name[:3])
    return "%s/%s" % (NS_URL, name)


@scenario("metadefs.properties")
def properties(s):
    """Namespace properties: the property schema subset, CRUD, refusals."""
    ns = _namespace(s, _ns(s, "props"))
    url = ns + "/properties"
    s.admin.post(url, json={"name": "speed", "title": "Speed",
                            "type": "integer", "minimum": 1,
                            "maximum": 10, "default": 5},
                 step="create integer")
    s.admin.post(url, json={"name": "speed", "title": "Speed",
                            "type": "integer"}, step="create again")
    s.admin.post(url, json={"name": "mode", "title": "Mode",
                            "type": "string", "enum": ["a", "b"],
                            "readonly": True, "operators": ["<or>"]},
                 step="create enum")
    s.admin.post(url, json={"name": "list", "title": "List",
                            "type": "array", "items": {"type": "string",
                                                       "enum": ["x", "y"]},
                            "uniqueItems": True, "minItems": 1},
                 step="create array")
    s.admin.post(url, json={"name": "pat", "title": "Pattern",
                            "type": "string", "pattern": "^[a-z]+$",
                            "minLength": 1, "maxLength": 8},
                 step="create pattern")
    s.admin.post(url, json={"name": "flag", "title": "Flag",
                            "type": "boolean"}, step="create boolean")
    s.member.post(url, json={"name": "m", "title": "M", "type": "string"},
                  step="create as member")
    for step, body in [
            ("no title", {"name": "x", "type": "string"}),
            ("no type", {"name": "x", "title": "X"}),
            ("no name", {"title": "X", "type": "string"}),
            ("bad type", {"name": "x", "title": "X", "type": "flavor"}),
            ("name too long", {"name": "n" * 256, "title": "X",
                               "type": "string"}),
            ("minimum string", {"name": "x", "title": "X",
                                "type": "integer", "minimum": "1"}),
            ("unknown key", {"name": "x", "title": "X", "type": "string",
                             "flavor": 1}),
            ("items not an object", {"name": "x", "title": "X",
                                     "type": "array", "items": "string"}),
            ("enum empty", {"name": "x", "title": "X", "type": "string",
                            "enum": []})]:
        s.admin.post(url, json=body, step="create %s" % step)
    s.admin.post(url, data="{nope", step="create invalid json",
                 headers={"Content-Type": "application/json"})
    s.admin.get(url, step="list")
    s.member.get(url, step="list as member")
    s.admin.get(url + "/speed", step="show")
    s.member.get(url + "/speed", step="show as member")
    s.admin.get(url + "/nothing", step="show missing")
    s.admin.put(url + "/speed", json={"name": "speed", "title": "Speed 2",
                                      "type": "integer"}, step="update")
    s.admin.put(url + "/speed", json={"name": "velocity", "title": "V",
                                      "type": "integer"}, step="rename")
    s.admin.put(url + "/velocity", json={"name": "mode", "title": "V",
                                         "type": "integer"},
                step="rename onto other")
    s.admin.put(url + "/velocity", json={"title": "V"},
                step="update no name")
    s.member.put(url + "/velocity", json={"name": "velocity", "title": "V",
                                          "type": "integer"},
                 step="update as member")
    s.admin.put(url + "/nothing", json={"name": "nothing", "title": "N",
                                        "type": "string"},
                step="update missing")
    s.member.delete(url + "/velocity", step="delete as member")
    s.admin.delete(url + "/velocity", step="delete")
    s.admin.delete(url + "/velocity", step="delete again")
    s.admin.request("PATCH", url + "/mode", json={}, step="PATCH property")
    s.admin.get("%s/%s/properties" % (NS_URL, _ns(s, "missing")),
                step="list in missing namespace")
    s.admin.post("%s/%s/properties" % (NS_URL, _ns(s, "missing")),
                 json={"name": "x", "title": "X", "type": "string"},
                 step="create in missing namespace")
    s.member.delete(url, step="delete all as member")
    s.admin.delete(url, step="delete all")
    s.admin.get(url, step="list after delete all")
    s.admin.delete(ns, step="delete namespace")


@scenario("metadefs.objects")
def objects(s):
    """Namespace objects: CRUD, refusals."""
    ns = _namespace(s, _ns(s, "objs"))
    url = ns + "/objects"
    cpu = {"name": "cpu", "description": "The CPU", "required": ["cores"],
           "properties": {"cores": {"title": "Cores", "type": "integer",
                                    "minimum": 1},
                          "model": {"title": "Model", "type": "string"}}}
    s.admin.post(url, json=cpu, step="create")
    s.admin.post(url, json=cpu, step="create again")
    s.admin.post(url, json={"name": "empty"}, step="create minimal")
    s.member.post(url, json={"name": "m"}, step="create as member")
    for step, body in [
            ("no name", {"description": "x"}),
            ("name too long", {"name": "n" * 256}),
            ("bad property", {"name": "x", "properties": {
                "p": {"title": "P", "type": "flavor"}}}),
            ("required not a list", {"name": "x", "required": "cores"}),
            ("unknown key", {"name": "x", "flavor": 1})]:
        s.admin.post(url, json=body, step="create %s" % step)
    s.admin.get(url, step="list")
    s.member.get(url, step="list as member")
    s.admin.get(url + "/cpu", step="show")
    s.admin.get(url + "/nothing", step="show missing")
    s.admin.put(url + "/cpu", json=dict(cpu, description="New"),
                step="update")
    s.admin.put(url + "/cpu", json={"name": "processor"}, step="rename")
    s.admin.put(url + "/processor", json={"name": "empty"},
                step="rename onto other")
    s.member.put(url + "/processor", json={"name": "processor"},
                 step="update as member")
    s.admin.put(url + "/nothing", json={"name": "nothing"},
                step="update missing")
    s.member.delete(url + "/processor", step="delete as member")
    s.admin.delete(url + "/processor", step="delete")
    s.admin.delete(url + "/processor", step="delete again")
    s.admin.request("PATCH", url + "/empty", json={}, step="PATCH object")
    s.admin.get("%s/%s/objects" % (NS_URL, _ns(s, "missing")),
                step="list in missing namespace")
    s.admin.post("%s/%s/objects" % (NS_URL, _ns(s, "missing")),
                 json={"name": "x"}, step="create in missing namespace")
    s.admin.delete(url, step="delete all")
    s.admin.get(url, step="list after delete all")
    s.admin.delete(ns, step="delete namespace")


@scenario("metadefs.tags")
def tags(s):
    """Namespace tags: one by one, in bulk (X-Openstack-Append), rename."""
    ns = _namespace(s, _ns(s, "tags"))
    url = ns + "/tags"
    s.admin.post(url + "/one", step="create one")
    s.admin.post(url + "/one", step="create one again")
    s.member.post(url + "/m", step="create as member")
    s.admin.post(url + "/" + "t" * 256, step="create too long")
    s.admin.post(url, json={"tags": [{"name": "two"}, {"name": "three"}]},
                 step="create many")
    s.admin.get(url, step="list after replace")
    s.admin.post(url, json={"tags": [{"name": "four"}]},
                 headers={"X-Openstack-Append": "True"}, step="append")
    s.admin.post(url, json={"tags": [{"name": "four"}]},
                 headers={"X-Openstack-Append": "True"},
                 step="append existing")
    s.admin.post(url, json={"tags": [{"name": "x"}, {"name": "x"}]},
                 step="create many duplicate")
    s.admin.post(url, json={"tags": "x"}, step="create many not a list")
    s.admin.post(url, json={"tags": [{"nom": "x"}]},
                 step="create many no name")
    s.member.post(url, json={"tags": [{"name": "m"}]},
                  step="create many as member")
    s.admin.get(url, step="list")
    s.member.get(url, step="list as member")
    for step, params in [("list limit 1", {"limit": "1"}),
                         ("list sorted", {"sort_key": "name",
                                          "sort_dir": "desc"}),
                         ("list sort bad key", {"sort_key": "flavor"}),
                         ("list marker missing", {"marker": "nothing"})]:
        s.admin.get(url, params=params, step=step)
    s.admin.get(url + "/four", step="show")
    s.admin.get(url + "/nothing", step="show missing")
    s.admin.put(url + "/four", json={"name": "five"}, step="rename")
    s.admin.put(url + "/five", json={"name": "two"},
                step="rename onto other")
    s.admin.put(url + "/five", json={}, step="update no name")
    s.member.put(url + "/five", json={"name": "six"},
                 step="update as member")
    s.member.delete(url + "/five", step="delete as member")
    s.admin.delete(url + "/five", step="delete")
    s.admin.delete(url + "/five", step="delete again")
    s.admin.request("PATCH", url + "/two", json={}, step="PATCH tag")
    s.admin.get("%s/%s/tags" % (NS_URL, _ns(s, "missing")),
                step="list in missing namespace")
    s.admin.post("%s/%s/tags/x" % (NS_URL, _ns(s, "missing")),
                 step="create in missing namespace")
    # last but one: we took a body without ``tags`` for an empty list
    s.admin.post(url, json={}, step="create many no tags")
    s.admin.delete(url, step="delete all")
    s.admin.get(url, step="list after delete all")
    s.admin.delete(ns, step="delete namespace")


@scenario("metadefs.resource_types")
def resource_types(s):
    """Resource types and their associations with namespaces."""
    ns = _namespace(s, _ns(s, "rts"))
    url = ns + "/resource_types"
    rt = _rt(s)
    s.admin.post(url, json={"name": rt, "prefix": "hw_",
                            "properties_target": "image"},
                 step="associate new type")
    s.admin.post(url, json={"name": rt}, step="associate again")
    s.member.post(url, json={"name": rt + "2"}, step="associate as member")
    for step, body in [("no name", {"prefix": "x"}),
                       ("name too long", {"name": "n" * 81}),
                       ("unknown key", {"name": rt + "3", "flavor": 1}),
                       ("prefix not a string", {"name": rt + "4",
                                                "prefix": 5})]:
        s.admin.post(url, json=body, step="associate %s" % step)
    s.admin.get(url, step="list associations")
    s.member.get(url, step="list associations as member")
    s.admin.get("%s/%s/resource_types" % (NS_URL, _ns(s, "missing")),
                step="list in missing namespace")
    # the whole catalog: each run's database starts empty and only the
    # metadefs scenarios add types, named with tokens both sides share
    s.admin.get("/v2/metadefs/resource_types", step="list types")
    s.member.get("/v2/metadefs/resource_types", step="list types as member")
    s.admin.post("/v2/metadefs/resource_types", json={"name": rt},
                 step="POST resource_types")
    s.member.get(NS_URL, params={"resource_types": rt},
                 step="namespaces of the type")
    s.member.delete("%s/%s" % (url, rt), step="dissociate as member")
    s.admin.delete("%s/%s" % (url, rt), step="dissociate")
    s.admin.delete("%s/%s" % (url, rt), step="dissociate again")
    s.admin.delete("%s/nothing" % url, step="dissociate unknown")
    s.admin.request("PUT", "%s/%s" % (url, rt), json={},
                    step="PUT association")
    s.admin.delete(ns, step="delete namespace")
