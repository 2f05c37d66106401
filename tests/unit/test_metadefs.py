"""Metadefs rules that need no database: the published schema documents,
property normalization, the default policies."""
import json
import pathlib

import pytest

from glance.api.v2 import metadef_schemas
from glance.common import exception
from glance.domain import metadefs as rules
from glance import policies

# The documents Glance 33.0.0 serves at /v2/schemas/metadefs/<name>,
# recorded from a running glance-api.
GLANCE33 = pathlib.Path(__file__).parent / "data" / \
    "glance33_metadef_schemas"


@pytest.mark.parametrize("name", sorted(metadef_schemas.DOCUMENTS))
def test_schema_documents_equal_glance33(name):
    served = json.loads(json.dumps(metadef_schemas.document(name)))
    assert served == json.loads((GLANCE33 / ("%s.json" % name)).read_text())


def test_every_document_is_recorded():
    recorded = {p.stem for p in GLANCE33.glob("*.json")}
    assert recorded == set(metadef_schemas.DOCUMENTS)


def test_property_schema_validates():
    good = {"name": "p", "title": "P", "type": "string", "enum": ["a"]}
    metadef_schemas.PROPERTY.validate(good)
    for bad in ({"name": "p", "type": "string"},
                dict(good, type="wrong"), dict(good, extra=1),
                dict(good, name="x" * 81), dict(good, minLength=-1)):
        with pytest.raises(exception.InvalidObject):
            metadef_schemas.PROPERTY.validate(bad)


@pytest.mark.parametrize("given, stored", [
    ({"type": "integer", "title": "T", "default": 2, "minimum": 1.5},
     {"type": "integer", "title": "T", "default": "2", "minimum": 1}),
    ({"type": "boolean", "title": "T", "default": True},
     {"type": "boolean", "title": "T", "default": "True"}),
    ({"type": "array", "title": "T", "default": ["x"],
      "items": {"type": "string", "enum": ["x"], "other": 1}},
     {"type": "array", "title": "T", "default": None,
      "items": {"type": "string", "enum": ["x"]}}),
    ({"type": "string", "title": "T", "unknown": 1, "readonly": True},
     {"type": "string", "title": "T", "readonly": True}),
])
def test_property_normalized_as_glance_stores_it(given, stored):
    assert rules.normalize_property(given) == stored


@pytest.mark.parametrize("bad", [
    {"type": "string", "title": "T", "enum": [1, 2]},
    {"type": "string", "title": 5},
    {"type": "integer", "title": "T", "minimum": "low"},
    "not an object",
])
def test_bad_property_definitions_are_invalid(bad):
    with pytest.raises(exception.Invalid):
        rules.normalize_property(bad)


@pytest.mark.parametrize("name", ["", "   ", None, "x" * 81])
def test_names_are_checked(name):
    with pytest.raises(exception.Invalid):
        rules.check_name("namespace", name)


def test_default_metadef_policies_registered():
    defaults = {r.name: r.check_str for r in policies.list_rules()}
    assert defaults["metadef_admin"] == "rule:context_is_admin"
    for name in ("add_metadef_namespace", "modify_metadef_namespace",
                 "delete_metadef_namespace", "add_metadef_object",
                 "add_metadef_tags", "delete_metadef_tags",
                 "add_metadef_resource_type_association",
                 "remove_metadef_property", "modify_metadef_tag"):
        assert defaults[name] == "rule:metadef_admin", name
    assert "public" in defaults["get_metadef_namespace"]
    assert defaults["get_metadef_namespaces"] == (
        "rule:context_is_admin or "
        "(role:reader and project_id:%(project_id)s)")
    assert len([n for n in defaults if "metadef" in n]) == 28
