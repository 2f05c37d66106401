"""Image records: create, get, update, destroy, counts, tags, locations."""
import datetime
import uuid

import pytest
import sqlalchemy as sa

from glance.common import exception
from glance.db import api
from glance.db import common
from glance.db import images as db_images
from glance.db import models
from glance.db import session as db_session
from tests.unit.db.conftest import migrated_server_database

IMAGE_KEYS = {
    "id", "name", "status", "visibility", "protected", "os_hidden",
    "min_disk", "min_ram", "owner", "disk_format", "container_format",
    "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
    "created_at", "updated_at", "deleted_at", "deleted", "properties",
    "tags", "locations"}


def _raw_count(table, **where):
    t = models.Base.metadata.tables[table]
    query = sa.select(sa.func.count()).select_from(t)
    for key, value in where.items():
        query = query.where(t.c[key] == value)
    with db_session.connection(write=False) as conn:
        return conn.execute(query).scalar_one()


# -- create / get ----------------------------------------------------------

def test_create_defaults(db):
    image = api.image_create({"name": "cirros", "owner": "p1"})
    assert set(image) == IMAGE_KEYS
    uuid.UUID(image["id"])
    assert image["status"] == "queued"
    assert image["visibility"] == "shared"
    assert image["protected"] is False and image["os_hidden"] is False
    assert image["min_disk"] == 0 and image["min_ram"] == 0
    assert image["created_at"] == image["updated_at"]
    assert image["deleted"] is False and image["deleted_at"] is None
    assert image["properties"] == {} and image["tags"] == []
    assert image["locations"] == []
    assert api.image_get(image["id"]) == image


def test_create_with_everything(db):
    created = datetime.datetime(2020, 1, 2, 3, 4, 5, 123456)
    values = {
        "id": str(uuid.uuid4()), "name": "full", "status": "active",
        "visibility": "public", "protected": True, "os_hidden": True,
        "min_disk": 5, "min_ram": 512, "owner": "p1", "size": 2 ** 40,
        "virtual_size": 2 ** 41, "disk_format": "qcow2",
        "container_format": "bare", "checksum": "a" * 32,
        "os_hash_algo": "sha512", "os_hash_value": "b" * 128,
        "created_at": created,
        "properties": {"os_distro": "cirros", "empty": "", "none": None},
        "tags": ["b", "a", "b", "c"],
    }
    image = api.image_create(values)
    got = api.image_get(values["id"])
    assert got == image
    for key, value in values.items():
        if key != "tags":
            assert got[key] == value, key
    assert got["tags"] == ["b", "a", "c"]
    assert got["updated_at"] == created


def test_create_duplicate_id(db):
    image = api.image_create({"name": "one"})
    with pytest.raises(exception.Duplicate):
        api.image_create({"id": image["id"], "name": "two"})
    api.image_destroy(image["id"])
    with pytest.raises(exception.Duplicate):
        api.image_create({"id": image["id"], "name": "three"})
    assert _raw_count("images") == 1


def test_create_rejects_bad_values(db):
    with pytest.raises(exception.Invalid):
        api.image_create({"bogus": 1})
    with pytest.raises(exception.Invalid):
        api.image_create({"visibility": "everyone"})
    with pytest.raises(exception.Invalid):
        api.image_create({"properties": {"a": 1}})
    with pytest.raises(exception.Invalid):
        api.image_create({"tags": "abc"})
    with pytest.raises(exception.Invalid):
        api.image_create({"tags": ["x" * 256]})
    assert _raw_count("images") == 0


def test_failed_create_leaves_no_row(db, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(db_images, "_add_tags", boom)
    with pytest.raises(RuntimeError):
        api.image_create({"id": "fixed-id", "properties": {"a": "b"},
                          "tags": ["t"]})
    monkeypatch.undo()
    assert _raw_count("images") == 0
    assert _raw_count("image_properties") == 0
    with pytest.raises(exception.ImageNotFound):
        api.image_get("fixed-id")
    assert api.image_create({"id": "fixed-id"})["id"] == "fixed-id"


def test_value_too_long_for_column_is_invalid(db, backend):
    if backend == "sqlite":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    with pytest.raises(exception.Invalid):
        api.image_create({"disk_format": "x" * 100})
    assert _raw_count("images") == 0


def test_get_missing(db):
    with pytest.raises(exception.ImageNotFound) as err:
        api.image_get("nope")
    assert "nope" in str(err.value)


def test_image_get_statement_count(db, count_statements):
    image = api.image_create({"properties": {"a": "1", "b": "2", "c": "3"},
                              "tags": ["x", "y", "z"]})
    api.image_location_add(image["id"], "file:///1")
    api.image_location_add(image["id"], "file:///2")
    plain = api.image_create({})
    with count_statements() as rich_count:
        rich = api.image_get(image["id"])
    with count_statements() as plain_count:
        api.image_get(plain["id"])
    assert len(rich["locations"]) == 2 and len(rich["properties"]) == 3
    assert rich_count.count == plain_count.count
    # BEGIN (SQLite only) + one statement: the image with its properties,
    # tags and locations
    assert rich_count.count <= 2



def test_image_get_lists_children_in_insertion_order(db):
    image = api.image_create({"tags": ["z", "a", "m"],
                              "properties": {"k2": "2", "k1": "1"}})
    for url in ("file:///b", "file:///a", "file:///c"):
        api.image_location_add(image["id"], url)
    got = api.image_get(image["id"])
    assert got["tags"] == ["z", "a", "m"]
    assert [loc["url"] for loc in got["locations"]] == [
        "file:///b", "file:///a", "file:///c"]
    assert got["properties"] == {"k1": "1", "k2": "2"}


def test_image_from_rows_whatever_order_the_rows_come_in():
    # a UNION ALL's rows have no order of their own
    width = len(common.IMAGE_COLUMNS)
    image_row = ("i1",) + (None,) * (width - 1) + (None,) * 7
    child = lambda *c: (None,) * width + c  # noqa: E731
    rows = [child(2, 9, None, "file:///late", None, "{}", "active"),
            child(1, 5, None, None, "second", None, None),
            image_row,
            child(0, 3, "k", "v", None, None, None),
            child(2, 4, None, "file:///early", None, '{"a": 1}', "active"),
            child(1, 2, None, None, "first", None, None)]
    image = common.image_from_rows("i1", rows)
    assert image["id"] == "i1" and image["properties"] == {"k": "v"}
    assert image["tags"] == ["first", "second"]
    assert [(loc["url"], loc["metadata"]) for loc in image["locations"]] \
        == [("file:///early", {"a": 1}), ("file:///late", {})]
    with pytest.raises(exception.ImageNotFound):
        common.image_from_rows("i1", [row for row in rows
                                      if row is not image_row])


def test_image_get_of_a_deleted_image_whose_children_live(db):
    image = api.image_create({"properties": {"a": "1"}, "tags": ["t"]})
    images = models.Base.metadata.tables["images"]
    with db_session.connection(write=True) as conn:
        conn.execute(images.update().where(images.c.id == image["id"])
                     .values(deleted=True))
    with pytest.raises(exception.ImageNotFound):
        api.image_get(image["id"])
    deleted = api.image_get(image["id"], include_deleted=True)
    assert deleted["deleted"] is True
    assert deleted["properties"] == {"a": "1"} and deleted["tags"] == ["t"]


@pytest.fixture(scope="module")
def mysql_url():
    with migrated_server_database("mysql") as url:
        yield url


def test_image_show_plan_on_mariadb(mysql_url):
    """MariaDB materialised the children joined to the image as a derived
    table and sorted them: two temporary tables per show, three times
    its CPU. The show's plan reads indexes only."""
    db_session.configure(mysql_url)
    image = api.image_create({"properties": {"a": "1"}, "tags": ["t"]})
    statement = common.IMAGE_WITH_CHILDREN[False]
    with db_session.connection(write=False) as conn:
        sql = str(statement.compile(dialect=conn.dialect))
        plan = conn.exec_driver_sql("EXPLAIN " + sql,
                                    {"image_id": image["id"]}).mappings().all()
    assert {row["select_type"] for row in plan} <= {"PRIMARY", "UNION"}
    for row in plan:
        assert row["key"] is not None, row
        assert "temporary" not in (row["Extra"] or ""), row
        assert "filesort" not in (row["Extra"] or ""), row

def test_naive_utc_datetimes(db):
    before = datetime.datetime.now(datetime.timezone.utc).replace(
        tzinfo=None)
    image = api.image_get(api.image_create({})["id"])
    assert image["created_at"].tzinfo is None
    assert before <= image["created_at"] <= before + datetime.timedelta(
        minutes=1)


# -- update ----------------------------------------------------------------

def test_update_base_columns(db):
    image = api.image_create({"name": "a", "owner": "p1"})
    updated = api.image_update(image["id"], {
        "name": "b", "status": "active", "size": 10, "min_ram": 3,
        "protected": True, "id": "ignored", "created_at": None,
        "deleted": True, "locations": []})
    assert updated["name"] == "b" and updated["status"] == "active"
    assert updated["size"] == 10 and updated["protected"] is True
    assert updated["id"] == image["id"] and updated["deleted"] is False
    assert updated["created_at"] == image["created_at"]
    assert updated["updated_at"] > image["updated_at"]
    assert api.image_get(image["id"]) == updated


def test_update_rejects_unknown_keys(db):
    image = api.image_create({})
    with pytest.raises(exception.Invalid):
        api.image_update(image["id"], {"colour": "red"})
    with pytest.raises(exception.Invalid):
        api.image_update(image["id"], {"visibility": "nope"})
    with pytest.raises(exception.Invalid):
        api.image_update(image["id"], {"status": None})
    with pytest.raises(exception.Invalid):
        api.image_update(image["id"], {"tags": None})


def test_update_properties_merge_and_purge(db):
    image = api.image_create({"properties": {"a": "1", "b": "2"}})
    merged = api.image_update(image["id"],
                              {"properties": {"b": "20", "c": "3"}})
    assert merged["properties"] == {"a": "1", "b": "20", "c": "3"}
    purged = api.image_update(image["id"], {"properties": {"c": "30"}},
                              purge_props=True)
    assert purged["properties"] == {"c": "30"}
    # a purged property can come back (the row is revived)
    revived = api.image_update(image["id"], {"properties": {"a": "again"}})
    assert revived["properties"] == {"a": "again", "c": "30"}
    assert _raw_count("image_properties", image_id=image["id"]) == 3
    # purge with no properties given removes them all
    assert api.image_update(image["id"], {}, purge_props=True)[
        "properties"] == {}


def test_update_without_properties_keeps_them(db):
    image = api.image_create({"properties": {"a": "1"}, "tags": ["t"]})
    updated = api.image_update(image["id"], {"name": "n"})
    assert updated["properties"] == {"a": "1"} and updated["tags"] == ["t"]


def test_property_names_are_case_sensitive(db):
    image = api.image_create({"properties": {"Key": "1", "key": "2"},
                              "tags": ["Tag", "tag"]})
    got = api.image_get(image["id"])
    assert got["properties"] == {"Key": "1", "key": "2"}
    assert got["tags"] == ["Tag", "tag"]


def test_update_tags_replace(db):
    image = api.image_create({"tags": ["a", "b", "c"]})
    updated = api.image_update(image["id"], {"tags": ["c", "d", "a", "d"]})
    assert updated["tags"] == ["a", "c", "d"]
    assert api.image_update(image["id"], {"tags": []})["tags"] == []


def test_update_from_state(db):
    image = api.image_create({"properties": {"a": "1"}})
    saving = api.image_update(image["id"], {"status": "saving"},
                              from_state="queued")
    assert saving["status"] == "saving"
    with pytest.raises(exception.Conflict):
        api.image_update(image["id"], {"status": "active", "name": "x",
                                       "properties": {"b": "2"},
                                       "tags": ["t"]},
                         from_state="queued")
    after = api.image_get(image["id"])
    assert after == saving


def test_update_missing_or_deleted(db):
    with pytest.raises(exception.ImageNotFound):
        api.image_update("nope", {"name": "x"})
    with pytest.raises(exception.ImageNotFound):
        api.image_update("nope", {"name": "x"}, from_state="queued")
    image = api.image_create({})
    api.image_destroy(image["id"])
    with pytest.raises(exception.ImageNotFound):
        api.image_update(image["id"], {"name": "x"})


def test_failed_update_changes_nothing(db, monkeypatch):
    image = api.image_create({"name": "before", "properties": {"a": "1"}})

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(db_images, "_replace_tags", boom)
    with pytest.raises(RuntimeError):
        api.image_update(image["id"], {"name": "after",
                                       "properties": {"a": "2"},
                                       "tags": ["x"]})
    monkeypatch.undo()
    assert api.image_get(image["id"]) == image


# -- destroy ---------------------------------------------------------------

def test_destroy_soft_deletes_everything(db):
    image = api.image_create({"properties": {"a": "1"}, "tags": ["t"],
                              "owner": "p1"})
    location = api.image_location_add(image["id"], "file:///x")
    member = api.image_member_create(image["id"], "p2")
    gone = api.image_destroy(image["id"])
    assert gone["status"] == "deleted" and gone["deleted"] is True
    assert gone["deleted_at"] is not None
    assert gone["properties"] == {"a": "1"} and gone["tags"] == ["t"]
    assert gone["locations"][0]["id"] == location["id"]
    with pytest.raises(exception.ImageNotFound):
        api.image_get(image["id"])
    with pytest.raises(exception.ImageNotFound):
        api.image_destroy(image["id"])
    kept = api.image_get(image["id"], include_deleted=True)
    assert kept["deleted"] is True and kept["status"] == "deleted"
    assert kept["properties"] == {} and kept["tags"] == []
    assert kept["locations"] == []
    assert api.image_member_find(image_id=image["id"]) == []
    with pytest.raises(exception.MemberNotFound):
        api.image_member_delete(member["id"])
    assert api.image_get_all(is_admin=True) == []
    assert _raw_count("image_properties", deleted=True) == 1
    assert _raw_count("image_locations", status="deleted") == 1


def test_destroy_missing(db):
    with pytest.raises(exception.ImageNotFound):
        api.image_destroy("nope")


# -- counts and usage ------------------------------------------------------

def test_counts_and_storage_usage(db):
    a = api.image_create({"owner": "p1", "size": 100, "status": "active"})
    api.image_create({"owner": "p1", "size": 50, "status": "queued"})
    api.image_create({"owner": "p1", "size": 1000, "status": "killed"})
    api.image_create({"owner": "p1"})
    gone = api.image_create({"owner": "p1", "size": 7})
    api.image_destroy(gone["id"])
    api.image_create({"owner": "p2", "size": 9})
    assert api.image_count("p1") == 4
    assert api.image_count("p3") == 0
    assert api.image_count_for_owner("p1") == 4
    assert api.image_count_for_owner("p1", status="active") == 1
    assert api.image_count_for_owner("p1", status=["active", "queued"]) == 3
    assert api.user_get_storage_usage("p1") == 150
    assert api.user_get_storage_usage("p1", image_id=a["id"]) == 50
    assert api.user_get_storage_usage("nobody") == 0
    assert isinstance(api.user_get_storage_usage("p1"), int)


# -- tags ------------------------------------------------------------------

def test_tags(db):
    image = api.image_create({"tags": ["a"]})
    assert api.image_tag_create(image["id"], "b") == "b"
    assert api.image_tag_create(image["id"], "a") == "a"
    assert api.image_tag_get_all(image["id"]) == ["a", "b"]
    api.image_tag_delete(image["id"], "a")
    assert api.image_tag_get_all(image["id"]) == ["b"]
    with pytest.raises(exception.NotFound):
        api.image_tag_delete(image["id"], "a")
    assert api.image_tag_set_all(image["id"], ["x", "b", "x", "y"]) == [
        "b", "x", "y"]
    assert api.image_get(image["id"])["tags"] == ["b", "x", "y"]
    api.image_tag_create(image["id"], "a")
    assert api.image_tag_get_all(image["id"])[-1] == "a"


def test_tag_changes_touch_image(db):
    image = api.image_create({})
    api.image_tag_create(image["id"], "t")
    assert api.image_get(image["id"])["updated_at"] > image["updated_at"]


def test_tags_of_missing_image(db):
    for call in (lambda: api.image_tag_get_all("nope"),
                 lambda: api.image_tag_create("nope", "t"),
                 lambda: api.image_tag_delete("nope", "t"),
                 lambda: api.image_tag_set_all("nope", ["t"])):
        with pytest.raises(exception.ImageNotFound):
            call()


# -- locations -------------------------------------------------------------

def test_locations(db):
    image = api.image_create({})
    one = api.image_location_add(image["id"], "file:///one",
                                 {"store": "fast"})
    two = api.image_location_add(image["id"], "file:///two")
    assert one == {"id": one["id"], "url": "file:///one",
                   "metadata": {"store": "fast"}, "status": "active"}
    assert two["metadata"] == {} and two["id"] != one["id"]
    assert api.image_get(image["id"])["locations"] == [one, two]
    changed = api.image_location_update(
        one["id"], {"metadata": {"store": "slow"}, "status": "pending"})
    assert changed == dict(one, metadata={"store": "slow"},
                           status="pending")
    api.image_location_delete(two["id"], status="pending_delete")
    assert api.image_get(image["id"])["locations"] == [changed]
    assert _raw_count("image_locations", status="pending_delete") == 1
    with pytest.raises(exception.NotFound):
        api.image_location_delete(two["id"])
    with pytest.raises(exception.NotFound):
        api.image_location_update(two["id"], {"status": "active"})
    with pytest.raises(exception.Invalid):
        api.image_location_delete(one["id"], status="active")
    with pytest.raises(exception.Invalid):
        api.image_location_update(one["id"], {"colour": "red"})
    with pytest.raises(exception.NotFound):
        api.image_location_update("not-a-number", {"status": "active"})
    with pytest.raises(exception.ImageNotFound):
        api.image_location_add("nope", "file:///x")


def test_update_only_if_properties_still_hold(db):
    image = api.image_create({"properties": {"lock": "t0"}})
    with pytest.raises(exception.Conflict):
        api.image_update(image["id"], {"properties": {"lock": "t1"}},
                         expected_props={"lock": None})
    assert api.image_get(image["id"])["properties"]["lock"] == "t0"
    api.image_update(image["id"], {"properties": {"lock": "t1"}},
                     expected_props={"lock": "t0"})
    api.image_update(image["id"], {"properties": {}}, purge_props=True,
                     expected_props={"lock": "t1"})
    assert "lock" not in api.image_get(image["id"])["properties"]


def test_concurrent_compare_and_set_of_a_property_has_one_winner(db):
    import threading
    image = api.image_create({})
    barrier = threading.Barrier(6)
    results = [None] * 6

    def take(i):
        barrier.wait(10)
        try:
            api.image_update(image["id"], {"properties": {"lock": "t%d" % i}},
                             expected_props={"lock": None})
            results[i] = "won"
        except exception.Conflict:
            results[i] = "lost"
    threads = [threading.Thread(target=take, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results.count("won") == 1, results
    winner = "t%d" % results.index("won")
    assert api.image_get(image["id"])["properties"]["lock"] == winner
