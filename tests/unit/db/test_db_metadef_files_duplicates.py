"""glance-manage db load_metadefs on files naming an object, property or
tag twice: Glance loads the first (or, with --prefer_new, the last), and a
file that cannot be loaded does not stop the others (every backend)."""
import json

from glance.db import metadef_files
from glance.db import metadef_items as items
from glance.db import metadefs as md


def write(directory, name, doc):
    (directory / name).write_text(json.dumps(doc))


def twice(namespace):
    return {"namespace": namespace,
            "objects": [{"name": "o", "description": "first"},
                        {"name": "o", "description": "second"}],
            "tags": [{"name": "t"}, {"name": "t"}]}


def test_a_name_twice_in_a_file_loads_once(db, tmp_path):
    write(tmp_path, "a.json", twice("Twice"))
    report = metadef_files.load(str(tmp_path))
    assert report == {"loaded": ["Twice"], "skipped": [], "errors": []}
    ns_id = md.namespace_get("Twice")["id"]
    [obj] = items.item_list("object", ns_id)
    assert obj["description"] == "first"
    assert [t["name"] for t in items.tag_list(ns_id)] == ["t"]


def test_with_prefer_new_the_last_of_a_name_wins(db, tmp_path):
    write(tmp_path, "a.json", twice("Twice"))
    metadef_files.load(str(tmp_path))
    report = metadef_files.load(str(tmp_path), merge=True, prefer_new=True)
    assert report["loaded"] == ["Twice"] and report["errors"] == []
    ns_id = md.namespace_get("Twice")["id"]
    [obj] = items.item_list("object", ns_id)
    assert obj["description"] == "second"


def test_a_file_that_fails_to_load_does_not_stop_the_others(db, tmp_path):
    write(tmp_path, "a.json", {"namespace": "Bad", "properties": {
        "p": {"title": "P", "type": "string", "enum": [1]}}})
    write(tmp_path, "b.json", {"namespace": "Good"})
    report = metadef_files.load(str(tmp_path))
    assert report["loaded"] == ["Good"]
    assert [f.rsplit("/", 1)[1] for f, _why in report["errors"]] == [
        "a.json"]
