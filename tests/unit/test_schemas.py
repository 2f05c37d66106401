"""The schema objects and the /v2/schemas documents (as Glance publishes)."""
import json

import pytest

from glance.api.v2 import schemas
from glance.common import exception
from glance.common import wsgi
from glance import schema

IMAGE_PROPS = ["id", "name", "status", "visibility", "protected", "os_hidden",
               "checksum", "os_hash_algo", "os_hash_value", "owner", "size",
               "virtual_size", "container_format", "disk_format",
               "created_at", "updated_at", "tags", "direct_url", "min_ram",
               "min_disk", "self", "file", "stores", "schema", "locations"]

READ_ONLY = ["status", "checksum", "os_hash_algo", "os_hash_value", "size",
             "virtual_size", "created_at", "updated_at", "direct_url",
             "self", "file", "stores", "schema"]

CUSTOM = ["kernel_id", "ramdisk_id", "instance_uuid", "architecture",
          "os_distro", "os_version", "description"]


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    # no operator schema-image.json: the shipped custom properties apply
    monkeypatch.setattr(schemas, "_custom_properties_path", lambda: None)
    schemas.reset_cache()
    yield
    schemas.reset_cache()


@pytest.fixture
def ctl():
    return schemas.Controller()


@pytest.fixture
def image_doc(ctl):
    return ctl.image(None)


# -- /v2/schemas/image --

def test_image_document_basics(image_doc):
    assert image_doc["name"] == "image"
    assert set(IMAGE_PROPS) <= set(image_doc["properties"])
    assert image_doc["additionalProperties"] == {"type": "string"}
    assert image_doc["links"] == [
        {"rel": "self", "href": "{self}"},
        {"rel": "enclosure", "href": "{file}"},
        {"rel": "describedby", "href": "{schema}"},
    ]


def test_image_read_only_flags(image_doc):
    props = image_doc["properties"]
    for name in READ_ONLY:
        assert props[name].get("readOnly") is True, name
    for name in ["id", "name", "visibility", "protected", "os_hidden",
                 "owner", "min_ram", "min_disk", "tags", "container_format",
                 "disk_format", "locations"]:
        assert "readOnly" not in props[name], name


def test_image_enums(image_doc):
    props = image_doc["properties"]
    assert props["visibility"]["enum"] == ["community", "public", "private",
                                           "shared"]
    assert props["status"]["enum"] == ["queued", "saving", "active", "killed",
                                       "deleted", "uploading", "importing",
                                       "pending_delete", "deactivated"]
    assert props["disk_format"]["enum"] == [None, "ami", "ari", "aki", "vhd",
                                            "vhdx", "vmdk", "raw", "qcow2",
                                            "vdi", "iso", "ploop"]
    assert props["container_format"]["enum"] == [None, "ami", "ari", "aki",
                                                 "bare", "ovf", "ova",
                                                 "docker", "compressed"]


def test_image_types_and_limits(image_doc):
    props = image_doc["properties"]
    assert props["name"] == {"type": ["null", "string"], "maxLength": 255,
                             "description": "Descriptive name for the image"}
    assert props["min_ram"]["type"] == "integer"
    assert props["min_disk"]["type"] == "integer"
    assert props["tags"]["items"] == {"type": "string", "maxLength": 255}
    assert props["checksum"]["maxLength"] == 32
    assert props["os_hash_algo"]["maxLength"] == 64
    assert props["os_hash_value"]["maxLength"] == 128
    assert props["owner"]["maxLength"] == 255
    assert props["size"]["type"] == ["null", "integer"]
    assert props["protected"]["type"] == "boolean"
    assert props["id"]["pattern"] == schemas.UUID_PATTERN
    assert props["locations"]["items"]["required"] == ["url", "metadata"]


def test_image_descriptions(image_doc):
    props = image_doc["properties"]
    assert props["id"]["description"] == "An identifier for the image"
    assert props["protected"]["description"] == \
        "If true, image will not be deletable."
    assert props["stores"]["description"].startswith(
        "Store in which image data resides.  Only present")
    assert props["min_disk"]["description"] == \
        "Amount of disk space (in GB) required to boot image."


def test_image_custom_properties_published(image_doc):
    props = image_doc["properties"]
    for name in CUSTOM:
        assert props[name]["is_base"] is False, name
    assert props["kernel_id"]["pattern"] == schemas.UUID_PATTERN
    assert props["kernel_id"]["type"] == ["null", "string"]
    assert "is_base" not in props["name"]


def test_image_formats_follow_config(conf):
    conf(disk_formats=["raw", "qcow2"], group="image_format")
    conf(container_formats=["bare"], group="image_format")
    props = schemas.get_image_schema().raw()["properties"]
    assert props["disk_format"]["enum"] == [None, "raw", "qcow2"]
    assert props["container_format"]["enum"] == [None, "bare"]


def test_image_schema_cached_per_config(conf):
    first = schemas.get_image_schema()
    assert schemas.get_image_schema() is first
    conf(disk_formats=["raw"], group="image_format")
    assert schemas.get_image_schema() is not first


def test_operator_schema_image_json(tmp_path, monkeypatch):
    path = tmp_path / "schema-image.json"
    path.write_text(json.dumps({"x_site": {"type": "string",
                                           "maxLength": 8}}))
    monkeypatch.setattr(schemas, "_custom_properties_path",
                        lambda: str(path))
    schemas.reset_cache()
    image = schemas.get_image_schema()
    assert image.raw()["properties"]["x_site"] == {
        "type": "string", "maxLength": 8, "is_base": False}
    assert "kernel_id" not in image.properties
    with pytest.raises(exception.InvalidObject):
        image.validate({"x_site": "123456789"})


def test_bad_schema_image_json(tmp_path):
    path = tmp_path / "schema-image.json"
    path.write_text("{not json")
    with pytest.raises(exception.SchemaLoadError):
        schemas.load_custom_properties(str(path))


def test_custom_property_cannot_redefine_base():
    with pytest.raises(exception.SchemaLoadError) as e:
        schemas.build_image_schema({"name": {"type": "integer"}})
    assert "name" in str(e.value)


def test_raw_is_a_copy(ctl):
    doc = ctl.image(None)
    doc["properties"]["name"]["maxLength"] = 1
    assert ctl.image(None)["properties"]["name"]["maxLength"] == 255


# -- collections, members, tasks --

def test_images_document(ctl):
    doc = ctl.images(None)
    assert doc["name"] == "images"
    assert set(doc["properties"]) == {"images", "first", "next", "schema"}
    assert doc["properties"]["images"]["type"] == "array"
    item = doc["properties"]["images"]["items"]
    assert item["name"] == "image"
    assert set(IMAGE_PROPS) <= set(item["properties"])
    assert item["additionalProperties"] == {"type": "string"}
    assert doc["links"] == [{"rel": "first", "href": "{first}"},
                            {"rel": "next", "href": "{next}"},
                            {"rel": "describedby", "href": "{schema}"}]


def test_member_document(ctl):
    doc = ctl.member(None)
    assert doc["name"] == "member"
    assert set(doc["properties"]) == {"member_id", "image_id", "created_at",
                                      "updated_at", "status", "schema"}
    assert doc["properties"]["status"]["enum"] == ["pending", "accepted",
                                                   "rejected"]
    assert doc["properties"]["image_id"]["pattern"] == schemas.UUID_PATTERN
    # the short form, as Glance serves it
    assert "links" not in doc and "additionalProperties" not in doc


def test_members_document(ctl):
    doc = ctl.members(None)
    assert doc["name"] == "members"
    assert set(doc["properties"]) == {"members", "schema"}
    assert doc["properties"]["members"]["items"]["name"] == "member"
    assert doc["links"] == [{"rel": "describedby", "href": "{schema}"}]


def test_task_document(ctl):
    doc = ctl.task(None)
    assert doc["name"] == "task"
    props = doc["properties"]
    assert set(props) == {"id", "type", "status", "input", "result", "owner",
                          "message", "image_id", "request_id", "user_id",
                          "expires_at", "created_at", "updated_at", "self",
                          "schema"}
    assert props["type"]["enum"] == ["import", "api_image_import",
                                     "location_import"]
    assert props["status"]["enum"] == ["pending", "processing", "success",
                                       "failure"]
    assert props["input"]["type"] == ["null", "object"]
    assert props["self"] == {"readOnly": True, "type": "string"}


def test_tasks_document(ctl):
    doc = ctl.tasks(None)
    assert doc["name"] == "tasks"
    item = doc["properties"]["tasks"]["items"]
    assert item["name"] == "task"
    for hidden in ("input", "result", "message"):
        assert hidden not in item["properties"]
    assert "id" in item["properties"]
    assert doc["links"] == [{"rel": "describedby", "href": "{schema}"}]


def test_documents_are_json(ctl):
    for action in ("image", "images", "member", "members", "task", "tasks"):
        json.dumps(getattr(ctl, action)(None))


def test_create_resource():
    res = schemas.create_resource()
    assert isinstance(res, wsgi.Resource)
    assert isinstance(res.controller, schemas.Controller)


# -- validation --

@pytest.mark.parametrize("body,needle", [
    ({"name": 5}, "name"),
    ({"name": "x" * 256}, "name"),
    ({"disk_format": "bogus"}, "disk_format"),
    ({"container_format": "bogus"}, "container_format"),
    ({"visibility": "bogus"}, "visibility"),
    ({"visibility": None}, "visibility"),
    ({"protected": "yes"}, "protected"),
    ({"os_hidden": "true"}, "os_hidden"),
    ({"min_ram": "5"}, "min_ram"),
    ({"min_ram": 1.5}, "min_ram"),
    ({"min_disk": None}, "min_disk"),
    ({"tags": "a"}, "tags"),
    ({"tags": [5]}, "tags[0]"),
    ({"tags": ["x" * 256]}, "tags[0]"),
    ({"owner": "o" * 256}, "owner"),
    ({"custom": 5}, "custom"),
    ({"custom": None}, "custom"),
    ({"custom": True}, "custom"),
    ({"id": "not-a-uuid"}, "id"),
    ({"kernel_id": "nope"}, "kernel_id"),
])
def test_image_validation_errors(body, needle):
    with pytest.raises(exception.InvalidObject) as e:
        schemas.get_image_schema().validate(body)
    msg = str(e.value)
    assert e.value.code == 400
    assert msg.startswith("Provided object does not match schema 'image': ")
    assert "property '%s'" % needle in msg
    assert "\n" not in msg


def test_validation_message_is_readable():
    with pytest.raises(exception.InvalidObject) as e:
        schemas.get_image_schema().validate({"name": 5})
    assert str(e.value) == ("Provided object does not match schema 'image': "
                            "5 is not of type 'null', 'string' "
                            "(property 'name')")


def test_validation_message_shortens_long_values():
    with pytest.raises(exception.InvalidObject) as e:
        schemas.get_image_schema().validate({"name": "n" * 10000})
    assert len(str(e.value)) < 200
    assert "is too long" in str(e.value)


def test_valid_image_bodies():
    image = schemas.get_image_schema()
    image.validate({})
    image.validate({"name": None, "disk_format": None, "tags": [],
                    "min_ram": 0, "custom": "v", "kernel_id": None,
                    "id": "3f1c5a44-9b3a-4c8e-a0c1-0d6d3fbb2a10"})
    assert image.is_valid({"visibility": "shared"})
    assert not image.is_valid({"visibility": "everyone"})


def test_member_schema_rejects_extra_keys():
    with pytest.raises(exception.InvalidObject) as e:
        schemas.get_member_schema().validate({"status": "accepted",
                                              "bogus": 1})
    assert "bogus" in str(e.value)
    schemas.get_member_schema().validate({"status": "accepted"})


# -- glance.schema --

def test_schema_filter_drops_unknown_keys():
    s = schema.Schema("thing", {"a": {"type": "string"}})
    assert s.filter({"a": "1", "b": "2"}) == {"a": "1"}


def test_permissive_filter_keeps_extras_and_blanks_null_extras():
    s = schema.PermissiveSchema("thing", {"a": {"type": ["null", "string"]}})
    assert s.filter({"a": None, "b": "2", "c": None}) == {
        "a": None, "b": "2", "c": ""}


def test_schema_raw_and_minimal():
    s = schema.Schema("thing", {"a": {"type": "string"}},
                      links=[{"rel": "self", "href": "{self}"}],
                      required=["a"], definitions={"d": {"type": "string"}})
    assert s.raw() == {"name": "thing",
                       "properties": {"a": {"type": "string"}},
                       "additionalProperties": False,
                       "required": ["a"],
                       "definitions": {"d": {"type": "string"}},
                       "links": [{"rel": "self", "href": "{self}"}]}
    assert s.minimal() == {"name": "thing",
                           "properties": {"a": {"type": "string"}},
                           "required": ["a"],
                           "definitions": {"d": {"type": "string"}}}
    with pytest.raises(exception.InvalidObject) as e:
        s.validate({})
    assert "'a' is a required property" in str(e.value)


def test_collection_hoists_definitions():
    item = schema.Schema("thing", {"a": {"$ref": "#/definitions/d"}},
                         definitions={"d": {"type": "string"}})
    doc = schema.CollectionSchema("things", item).raw()
    assert doc["definitions"] == {"d": {"type": "string"}}
    assert "definitions" not in doc["properties"]["things"]["items"]
    # the item schema itself is left intact
    assert item.definitions == {"d": {"type": "string"}}


def test_merge_properties_resets_validator():
    s = schema.PermissiveSchema("thing", {})
    s.validate({"x": "1"})
    s.merge_properties({"x": {"type": "string", "maxLength": 1}})
    with pytest.raises(exception.InvalidObject):
        s.validate({"x": "12"})
    # identical redefinition is allowed
    s.merge_properties({"x": {"type": "string", "maxLength": 1}})
