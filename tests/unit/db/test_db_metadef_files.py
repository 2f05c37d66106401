"""glance-manage's load_metadefs / unload_metadefs / export_metadefs logic
(``glance.db.metadef_files``) on every backend."""
import json
import pathlib

import pytest

from glance.common import exception
from glance.db import metadef_files
from glance.db import metadef_items as items
from glance.db import metadefs as md

SHIPPED = pathlib.Path(__file__).resolve().parents[3] / "etc" / "metadefs"


def write(directory, name, doc):
    path = directory / name
    path.write_text(json.dumps(doc))
    return path


def doc(**extra):
    base = {"namespace": "Test::NS", "display_name": "Test NS",
            "description": "first", "visibility": "public",
            "protected": True,
            "resource_type_associations": [{"name": "OS::Glance::Image",
                                            "prefix": "t_"}],
            "properties": {"p": {"title": "P", "type": "integer",
                                 "default": 3}},
            "objects": [{"name": "o", "required": ["x"],
                         "properties": {"x": {"title": "X",
                                              "type": "string"}}}],
            "tags": [{"name": "t1"}]}
    base.update(extra)
    return base


def test_shipped_catalog_loads_and_exports_back(db, tmp_path):
    report = metadef_files.load(str(SHIPPED))
    assert report["errors"] == [] and len(report["loaded"]) >= 5
    for filename in SHIPPED.glob("*.json"):
        name = json.loads(filename.read_text())["namespace"]
        assert md.namespace_get(name)["owner"] == "admin"
    written = metadef_files.export(str(tmp_path))
    assert len(written) == len(report["loaded"])
    again = {d["namespace"]: d for d in metadef_files.export_documents()}
    metadef_files.unload()
    assert md.namespace_list(is_admin=True) == []
    assert md.resource_type_list() == []
    metadef_files.load(str(tmp_path))
    assert {d["namespace"]: d for d in
            metadef_files.export_documents()} == again


def test_load_normalizes_and_owns(db, tmp_path):
    write(tmp_path, "a.json", doc())
    (tmp_path / "notes.txt").write_text("not a namespace")
    assert metadef_files.load(str(tmp_path))["loaded"] == ["Test::NS"]
    ns = md.namespace_get("Test::NS")
    assert (ns["owner"], ns["protected"], ns["visibility"]) == (
        "admin", True, "public")
    [prop] = items.item_list("property", ns["id"])
    assert prop["schema"]["default"] == "3"
    [obj] = items.item_list("object", ns["id"])
    assert obj["required"] == ["x"]
    assert md.resource_type_list()[0]["protected"] is True


def test_existing_namespace_skipped_merged_or_replaced(db, tmp_path):
    write(tmp_path, "a.json", doc())
    metadef_files.load(str(tmp_path))
    write(tmp_path, "a.json", doc(
        description="second", tags=[{"name": "t1"}, {"name": "t2"}],
        properties={"p": {"title": "P2", "type": "string"}}))
    assert metadef_files.load(str(tmp_path))["skipped"] == ["Test::NS"]
    ns = md.namespace_get("Test::NS")
    assert ns["description"] == "first"

    metadef_files.load(str(tmp_path), merge=True)
    assert md.namespace_get("Test::NS")["description"] == "first"
    assert [t["name"] for t in items.tag_list(ns["id"], sort_key="name",
                                              sort_dir="asc")] == ["t1",
                                                                    "t2"]
    assert items.item_get("property", ns["id"], "p")["schema"][
        "title"] == "P"

    metadef_files.load(str(tmp_path), merge=True, prefer_new=True)
    assert md.namespace_get("Test::NS")["description"] == "second"
    assert items.item_get("property", ns["id"], "p")["schema"][
        "title"] == "P2"

    write(tmp_path, "a.json", doc(objects=[], tags=[]))
    metadef_files.load(str(tmp_path), merge=True, overwrite=True)
    ns = md.namespace_get("Test::NS")
    assert items.item_list("object", ns["id"]) == []
    assert items.tag_list(ns["id"]) == []


def test_bad_files_are_reported_not_fatal(db, tmp_path):
    (tmp_path / "broken.json").write_text("{nope")
    write(tmp_path, "long.json", doc(namespace="x" * 81))
    write(tmp_path, "good.json", doc(namespace="Good"))
    report = metadef_files.load(str(tmp_path))
    assert report["loaded"] == ["Good"]
    assert sorted(p.rsplit("/", 1)[1] for p, _why in report["errors"]) == [
        "broken.json", "long.json"]


@pytest.mark.parametrize("options", [
    {"prefer_new": True}, {"overwrite": True},
    {"merge": True, "prefer_new": True, "overwrite": True}])
def test_option_combinations_glance_refuses(options):
    with pytest.raises(exception.Invalid):
        metadef_files.load("/nonexistent", **options)


def test_export_names_files_after_display_name(db, tmp_path):
    write(tmp_path, "in.json", doc(display_name="My Name: 1"))
    write(tmp_path, "in2.json", doc(namespace="No::Display",
                                    display_name=None))
    metadef_files.load(str(tmp_path))
    out = tmp_path / "out"
    out.mkdir()
    written = sorted(p.rsplit("/", 1)[1]
                     for p in metadef_files.export(str(out)))
    assert written == ["MyName1.json", "NoDisplay.json"]
    exported = json.loads((out / "MyName1.json").read_text())
    assert exported["objects"][0]["required"] == ["x"]
    assert exported["resource_type_associations"] == [
        {"name": "OS::Glance::Image", "prefix": "t_",
         "properties_target": None}]
