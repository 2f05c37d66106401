"""The JSON-schema documents of the metadata definitions catalog.

``GET /v2/schemas/metadefs/{namespace,namespaces,object,objects,property,
properties,tag,tags,resource_type,resource_types}`` publish them; the same
objects validate request bodies. Their content is Glance's, field by field,
since clients (python-glanceclient, Horizon) validate against them.
"""
import copy

from glance.i18n import _
from glance import schema

TYPES = ["array", "boolean", "integer", "number", "object", "string", None]


def _ref(name):
    return {"$ref": "#/definitions/%s" % name}


def _timestamp(description):
    return {"type": "string", "readOnly": True, "description": description,
            "format": "date-time"}


def _link():
    return {"readOnly": True, "type": "string"}


def property_fields():
    """The fields a property definition may have, with their types."""
    return {
        "name": {"type": "string", "maxLength": 80},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "operators": {"type": "array", "items": {"type": "string"}},
        "type": {"type": "string", "enum": list(TYPES)},
        "required": _ref("stringArray"),
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "maxLength": _ref("positiveInteger"),
        "minLength": _ref("positiveIntegerDefault0"),
        "pattern": {"type": "string", "format": "regex"},
        "enum": {"type": "array"},
        "readonly": {"type": "boolean"},
        "default": {},
        "items": {"type": "object", "properties": {
            "type": {"type": "string", "enum": list(TYPES)},
            "enum": {"type": "array"}}},
        "maxItems": _ref("positiveInteger"),
        "minItems": _ref("positiveIntegerDefault0"),
        "uniqueItems": {"type": "boolean", "default": False},
        "additionalItems": {"type": "boolean"},
    }


def _base_definitions(min_items=False):
    string_array = {"type": "array", "items": {"type": "string"}}
    if min_items:
        string_array["minItems"] = 1
    string_array["uniqueItems"] = True
    return {
        "positiveInteger": {"type": "integer", "minimum": 0},
        "positiveIntegerDefault0": {"allOf": [_ref("positiveInteger"),
                                              {"default": 0}]},
        "stringArray": string_array,
    }


def definitions():
    """The definitions namespace and object documents share."""
    defs = _base_definitions()
    defs["property"] = {
        "type": "object",
        "additionalProperties": {"type": "object",
                                 "required": ["title", "type"],
                                 "properties": property_fields()}}
    return defs


def _namespace_properties():
    text = {"type": "string"}
    return {
        "namespace": {"type": "string",
                      "description": _("The unique namespace text."),
                      "maxLength": 80},
        "display_name": {"type": "string",
                         "description": _("The user friendly name for the "
                                          "namespace. Used by UI if "
                                          "available."),
                         "maxLength": 80},
        "description": {"type": "string",
                        "description": _("Provides a user friendly "
                                         "description of the namespace."),
                        "maxLength": 500},
        "visibility": {"type": "string",
                       "description": _("Scope of namespace accessibility."),
                       "enum": ["public", "private"]},
        "protected": {"type": "boolean",
                      "description": _("If true, namespace will not be "
                                       "deletable.")},
        "owner": {"type": "string", "description": _("Owner of the "
                                                     "namespace."),
                  "maxLength": 255},
        "created_at": _timestamp(_("Date and time of namespace creation")),
        "updated_at": _timestamp(_("Date and time of the last namespace "
                                   "modification")),
        "schema": _link(),
        "self": _link(),
        "resource_type_associations": {"type": "array", "items": {
            "type": "object", "properties": {
                "name": dict(text), "prefix": dict(text),
                "properties_target": dict(text)}}},
        "properties": _ref("property"),
        "objects": {"type": "array", "items": {
            "type": "object", "properties": {
                "name": dict(text), "description": dict(text),
                "required": _ref("stringArray"),
                "properties": _ref("property")}}},
        "tags": {"type": "array", "items": {
            "type": "object", "properties": {"name": dict(text)}}},
    }


def _object_properties():
    return {
        "name": {"type": "string", "maxLength": 80},
        "description": {"type": "string"},
        "required": _ref("stringArray"),
        "properties": _ref("property"),
        "schema": _link(),
        "self": _link(),
        "created_at": _timestamp(_("Date and time of object creation")),
        "updated_at": _timestamp(_("Date and time of the last object "
                                   "modification")),
    }


def _tag_properties():
    return {
        "name": {"type": "string", "maxLength": 80},
        "created_at": _timestamp(_("Date and time of tag creation")),
        "updated_at": _timestamp(_("Date and time of the last tag "
                                   "modification")),
    }


def _association_properties():
    return {
        "name": {"type": "string", "maxLength": 80, "description": _(
            "Resource type names should be aligned with Heat resource "
            "types whenever possible: https://docs.openstack.org/heat/"
            "latest/template_guide/openstack.html")},
        "prefix": {"type": "string", "maxLength": 80, "description": _(
            "Specifies the prefix to use for the given resource type. Any "
            "properties in the namespace should be prefixed with this "
            "prefix when being applied to the specified resource type. "
            "Must include prefix separator (e.g. a colon :).")},
        "properties_target": {"type": "string", "maxLength": 80,
                              "description": _(
            "Some resource types allow more than one key / value pair per "
            "instance.  For example, Cinder allows user and image metadata "
            "on volumes. Only the image properties metadata is evaluated "
            "by Nova (scheduling or drivers). This property allows a "
            "namespace target to remove the ambiguity.")},
        "created_at": _timestamp(_("Date and time of resource type "
                                   "association")),
        "updated_at": _timestamp(_("Date and time of the last resource "
                                   "type association modification")),
    }


class DictCollectionSchema(schema.CollectionSchema):
    """A collection keyed by name (the properties of a namespace)."""

    def raw(self):
        doc = super().raw()
        items = doc["properties"][self.name].pop("items")
        doc["properties"][self.name] = {"type": "object",
                                        "additionalProperties": items}
        return doc


def _property_schema(require_name=True):
    required = ["type", "title", "name"] if require_name else \
        ["type", "title"]
    return schema.Schema("property", property_fields(), required=required,
                         definitions=_base_definitions(min_items=True))


NAMESPACE = schema.Schema("namespace", _namespace_properties(),
                          required=["namespace"], definitions=definitions())
OBJECT = schema.Schema("object", _object_properties(), required=["name"],
                       definitions=definitions())
PROPERTY = _property_schema()
# a property inside an object: its name is the key
OBJECT_PROPERTY = _property_schema(require_name=False)
TAG = schema.Schema("tag", _tag_properties(), required=["name"])
RESOURCE_TYPE = schema.Schema("resource_type_association",
                              _association_properties(), required=["name"])
# the body of POST .../tags (not published); without ``tags`` it would
# replace the namespace's tags with nothing (Glance answers 500 there)
TAG_LIST = schema.Schema("tags", {"tags": {"type": "array", "items": {
    "type": "object", "properties": {"name": {"type": "string"}},
    "required": ["name"], "additionalProperties": False}}},
    required=["tags"])

DOCUMENTS = {
    "namespace": NAMESPACE,
    "namespaces": schema.CollectionSchema("namespaces", NAMESPACE),
    "object": OBJECT,
    "objects": schema.CollectionSchema("objects", OBJECT),
    "property": PROPERTY,
    "properties": DictCollectionSchema("properties", OBJECT_PROPERTY),
    "tag": TAG,
    "tags": schema.CollectionSchema("tags", TAG),
    "resource_type": RESOURCE_TYPE,
    "resource_types": schema.CollectionSchema("resource_type_associations",
                                              RESOURCE_TYPE),
}


def document(name):
    """The published document ``/v2/schemas/metadefs/<name>``."""
    return copy.deepcopy(DOCUMENTS[name].raw())


class Controller:
    """Serves the metadef schema documents (anyone authenticated)."""

    def __getattr__(self, action):
        if action.startswith("metadef_") and action[8:] in DOCUMENTS:
            return lambda req: document(action[8:])
        raise AttributeError(action)
