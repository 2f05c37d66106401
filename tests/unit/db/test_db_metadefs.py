"""The metadefs catalog tables: namespaces, their contents, resource types
(on SQLite, PostgreSQL and MariaDB)."""
import pytest
import sqlalchemy as sa

from glance.common import exception
from glance.db import metadef_items as items
from glance.db import metadefs as md
from glance.db import session as db_session
from glance.domain import metadefs as rules


def make(name, owner="p1", visibility="private", protected=False, **kw):
    values = {"namespace": name, "owner": owner, "visibility": visibility,
              "protected": protected}
    return md.namespace_create(values, **kw)


def names(namespaces):
    return [ns["namespace"] for ns in namespaces]


def test_create_with_contents_and_read_back(db):
    ns = make("NS",
              objects=[{"name": "o", "description": "d", "required": ["a"],
                        "properties": {"a": {"type": "string",
                                             "title": "A"}}}],
              properties={"p": {"type": "integer", "title": "P"}},
              tags=[{"name": "t1"}, {"name": "t2"}],
              associations=[{"name": "OS::Glance::Image", "prefix": "x_",
                             "properties_target": None}])
    assert md.namespace_get("NS") == ns
    assert ns["created_at"] == ns["updated_at"] and ns["protected"] is False
    [obj] = items.item_list("object", ns["id"])
    assert (obj["name"], obj["required"], obj["description"]) == (
        "o", ["a"], "d")
    assert obj["properties"] == {"a": {"type": "string", "title": "A"}}
    [prop] = items.item_list("property", ns["id"])
    assert prop["schema"] == {"type": "integer", "title": "P"}
    assert [t["name"] for t in items.tag_list(ns["id"], sort_key="name",
                                              sort_dir="asc")] == ["t1",
                                                                    "t2"]
    [assoc] = md.associations([ns["id"]])[ns["id"]]
    assert (assoc["name"], assoc["prefix"]) == ("OS::Glance::Image", "x_")
    assert [r["name"] for r in md.resource_type_list()] == [
        "OS::Glance::Image"]


@pytest.mark.parametrize("contents", [
    {"objects": [{"name": "a"}, {"name": "a"}]},
    {"tags": [{"name": "a"}, {"name": "a"}]},
    {"associations": [{"name": "R"}, {"name": "R"}]},
])
def test_create_is_all_or_nothing(db, contents):
    with pytest.raises(exception.Duplicate):
        make("NS", **contents)
    with pytest.raises(rules.NamespaceNotFound):
        md.namespace_get("NS")


def test_duplicate_namespace_and_rename_clash(db):
    first = make("A")
    make("B")
    with pytest.raises(rules.DuplicateNamespace):
        make("A")
    with pytest.raises(rules.DuplicateNamespace):
        md.namespace_update(first["id"], {"namespace": "B"})
    renamed = md.namespace_update(first["id"], {"namespace": "C",
                                                "description": "new"})
    assert (renamed["namespace"], renamed["description"]) == ("C", "new")
    assert renamed["updated_at"] >= first["updated_at"]


def test_list_visibility_filters_and_paging(db):
    make("mine", owner="p1")
    make("theirs", owner="p2")
    make("public", owner="p2", visibility="public")
    make("tagged", owner="p1", visibility="public",
         associations=[{"name": "OS::Nova::Server"}])

    def listing(**kw):
        kw.setdefault("sort_key", "namespace")
        kw.setdefault("sort_dir", "asc")
        return names(md.namespace_list(**kw))

    assert listing(project_id="p1") == ["mine", "public", "tagged"]
    assert listing(project_id=None) == ["public", "tagged"]
    assert listing(is_admin=True) == ["mine", "public", "tagged", "theirs"]
    assert listing(project_id="p1", filters={"visibility": "private"}) == [
        "mine"]
    assert listing(project_id="p2", filters={
        "resource_types": ["OS::Nova::Server", "Nope"]}) == ["tagged"]
    assert listing(is_admin=True, limit=2, marker="public") == [
        "tagged", "theirs"]
    assert listing(is_admin=True, sort_dir="desc", marker="tagged") == [
        "public", "mine"]
    # as Glance: a marker one may not see is forbidden, a missing one 404
    with pytest.raises(exception.Forbidden):
        listing(project_id="p1", marker="theirs")
    with pytest.raises(rules.NamespaceNotFound):
        listing(project_id="p1", marker="nowhere")


def test_list_default_order_is_newest_first(db):
    for name in ("one", "two", "three"):
        make(name)
    assert names(md.namespace_list(is_admin=True)) == ["three", "two",
                                                       "one"]
    page = md.namespace_list(is_admin=True, limit=1, marker="two")
    assert names(page) == ["one"]


def test_sort_on_nullable_column_pages_without_loss(db):
    make("a")
    md.namespace_create({"namespace": "b", "owner": "p1",
                         "display_name": "Zed"})
    make("c")
    keys = dict(sort_key="display_name", sort_dir="asc", is_admin=True)
    seen, marker = [], None
    while True:
        page = md.namespace_list(limit=1, marker=marker, **keys)
        if not page:
            break
        seen += names(page)
        marker = page[-1]["namespace"]
    assert sorted(seen) == ["a", "b", "c"] and seen[-1] == "b"


def test_items_create_update_delete(db):
    ns = make("NS")
    obj = items.item_create("object", ns, {"name": "o", "required": [],
                                           "properties": {}})
    assert obj["required"] == [] and obj["description"] is None
    with pytest.raises(rules.DuplicateObject):
        items.item_create("object", ns, {"name": "o"})
    items.item_create("object", ns, {"name": "p"})
    with pytest.raises(rules.DuplicateObject):
        items.item_update("object", ns, "o", {"name": "p"})
    moved = items.item_update("object", ns, "o", {
        "name": "q", "required": ["x", "y"], "description": "d",
        "properties": {"x": {"type": "string", "title": "X"}}})
    assert (moved["name"], moved["required"]) == ("q", ["x", "y"])
    assert items.item_get("object", ns["id"], "q") == moved
    with pytest.raises(rules.ObjectNotFound):
        items.item_get("object", ns["id"], "o")
    items.item_delete("object", ns["id"], "q")
    with pytest.raises(rules.ObjectNotFound):
        items.item_delete("object", ns["id"], "q")
    items.delete_all("object", ns["id"])
    assert items.item_list("object", ns["id"]) == []


def test_required_is_stored_the_glance_way(db):
    ns = make("NS")
    items.item_create("object", ns, {"name": "o", "required": ["a", "b"]})
    with db_session.connection(write=False) as conn:
        stored = conn.execute(sa.select(items.TABLES["object"].c.required))
        assert stored.scalar() == "a,b"


def test_tags_replace_append_and_page(db):
    ns = make("NS")
    items.tags_create(ns, ["a", "b"])
    items.tags_create(ns, ["c"], append=True)
    with pytest.raises(rules.DuplicateTag):
        items.tags_create(ns, ["c"], append=True)
    with pytest.raises(rules.DuplicateTag):
        items.tags_create(ns, ["d", "d"])
    listed = items.tag_list(ns["id"], sort_key="name", sort_dir="asc")
    assert [t["name"] for t in listed] == ["a", "b", "c"]
    page = items.tag_list(ns["id"], sort_key="name", sort_dir="asc",
                          marker="a", limit=1)
    assert [t["name"] for t in page] == ["b"]
    with pytest.raises(rules.TagNotFound):
        items.tag_list(ns["id"], marker="zz")
    items.tags_create(ns, ["x"])
    assert [t["name"] for t in items.tag_list(ns["id"])] == ["x"]


def test_associations_and_resource_types(db):
    ns = make("NS")
    other = make("Other")
    md.association_create(ns, {"name": "R1", "prefix": "r_"})
    md.association_create(other, {"name": "R1"})
    with pytest.raises(rules.DuplicateAssociation):
        md.association_create(ns, {"name": "R1"})
    assert [r["name"] for r in md.resource_type_list()] == ["R1"]
    md.association_delete(ns["id"], "R1")
    with pytest.raises(rules.ResourceTypeNotFound):
        md.association_delete(ns["id"], "R1")
    assert md.associations([ns["id"], other["id"]]) == {
        ns["id"]: [], other["id"]: [
            md.associations([other["id"]])[other["id"]][0]]}


def test_namespace_delete_takes_its_contents(db):
    ns = make("NS", objects=[{"name": "o"}], tags=[{"name": "t"}],
              properties={"p": {"type": "string", "title": "P"}},
              associations=[{"name": "R"}])
    keep = make("Keep", tags=[{"name": "t"}])
    md.namespace_delete(ns["id"])
    with pytest.raises(rules.NamespaceNotFound):
        md.namespace_get("NS")
    for kind in ("object", "property"):
        assert items.item_list(kind, ns["id"]) == []
    assert [t["name"] for t in items.tag_list(keep["id"])] == ["t"]
    assert [r["name"] for r in md.resource_type_list()] == ["R"]
