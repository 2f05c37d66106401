"""JSON-schema objects for API resources: validate, filter, publish.

A ``Schema`` describes one resource (an image, a member, a task). The API
publishes its document under ``/v2/schemas/<name>`` (``raw()`` or the shorter
``minimal()``), validates request bodies against it (``validate()``) and uses
it to decide which keys of a resource reach the client (``filter()``).

``PermissiveSchema`` allows any extra key whose value is a string (an image's
custom properties); ``CollectionSchema`` describes a paged list of items.
"""
import copy

import jsonschema
from jsonschema import exceptions as js_exceptions

from glance.common import exception
from glance.i18n import _


def _json_path(path):
    """``['locations', 0, 'url']`` -> ``locations[0].url``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += "[%d]" % part
        else:
            text += ("." if text else "") + str(part)
    return text


_MAX_ECHO = 80


def describe_error(error):
    """A one-line, readable account of a jsonschema ValidationError.

    A long offending value is shortened rather than echoed in full.
    """
    message = error.message
    shown = repr(error.instance)
    if len(shown) > _MAX_ECHO and shown in message:
        message = message.replace(shown, shown[:_MAX_ECHO - 3] + "...")
    where = _json_path(error.absolute_path)
    if where:
        return _("%(message)s (property '%(path)s')") % {
            "message": message, "path": where}
    return message


class Schema:
    """A JSON schema with a name, properties and optional links."""

    # Value of ``additionalProperties`` in ``raw()``.
    additional_properties = False

    def __init__(self, name, properties=None, links=None, required=None,
                 definitions=None):
        self.name = name
        self.properties = properties if properties is not None else {}
        self.links = links
        self.required = required
        self.definitions = definitions
        self._validator = None

    # -- validation -------------------------------------------------------
    def _get_validator(self):
        if self._validator is None:
            document = self.raw()
            cls = jsonschema.validators.validator_for(document)
            self._validator = cls(document)
        return self._validator

    def validate(self, obj):
        """Raise InvalidObject (400) when ``obj`` does not fit the schema.

        The message names the offending property and the reason, e.g.
        ``Provided object does not match schema 'image': 5 is not of type
        'null', 'string' (property 'name')``.
        """
        error = js_exceptions.best_match(
            self._get_validator().iter_errors(obj))
        if error is not None:
            raise exception.InvalidObject(schema=self.name,
                                          reason=describe_error(error))

    def is_valid(self, obj):
        """Whether ``obj`` fits the schema, without raising."""
        return self._get_validator().is_valid(obj)

    # -- shaping ----------------------------------------------------------
    def filter(self, obj):
        """A copy of ``obj`` keeping only the keys this schema knows."""
        return {k: v for k, v in obj.items() if k in self.properties}

    def merge_properties(self, properties):
        """Add ``properties``; redefining an existing one is an error."""
        conflicts = sorted(k for k in properties
                           if k in self.properties
                           and self.properties[k] != properties[k])
        if conflicts:
            reason = _("custom properties (%(props)s) conflict with base "
                       "properties") % {"props": ", ".join(conflicts)}
            raise exception.SchemaLoadError(reason=reason)
        self.properties.update(properties)
        self._validator = None

    # -- documents --------------------------------------------------------
    def raw(self):
        """The full JSON-schema document (a fresh copy)."""
        doc = {
            "name": self.name,
            "properties": copy.deepcopy(self.properties),
            "additionalProperties": copy.deepcopy(self.additional_properties),
        }
        if self.definitions:
            doc["definitions"] = copy.deepcopy(self.definitions)
        if self.required:
            doc["required"] = list(self.required)
        if self.links:
            doc["links"] = copy.deepcopy(self.links)
        return doc

    def minimal(self):
        """The short document: name, properties and what they need."""
        doc = {"name": self.name,
               "properties": copy.deepcopy(self.properties)}
        if self.definitions:
            doc["definitions"] = copy.deepcopy(self.definitions)
        if self.required:
            doc["required"] = list(self.required)
        return doc


class PermissiveSchema(Schema):
    """A schema accepting extra string-valued keys (custom properties)."""

    additional_properties = {"type": "string"}

    def filter(self, obj):
        """Keep every key; an extra key holding None comes out as ''.

        Base properties may legitimately be null; custom ones are strings,
        so a null custom value (left over from old records) is shown as the
        empty string, as Glance does.
        """
        return {k: ("" if v is None and k not in self.properties else v)
                for k, v in obj.items()}


class CollectionSchema:
    """A paged list of ``item_schema`` items, under the key ``name``."""

    def __init__(self, name, item_schema):
        self.name = name
        self.item_schema = item_schema

    def _hoist_definitions(self, doc, item_doc):
        # definitions live at the top of the document, not inside items
        definitions = item_doc.pop("definitions", None)
        if definitions:
            doc["definitions"] = definitions

    def raw(self):
        item = self.item_schema.raw()
        doc = {
            "name": self.name,
            "properties": {
                self.name: {"type": "array", "items": item},
                "first": {"type": "string"},
                "next": {"type": "string"},
                "schema": {"type": "string"},
            },
            "links": [
                {"rel": "first", "href": "{first}"},
                {"rel": "next", "href": "{next}"},
                {"rel": "describedby", "href": "{schema}"},
            ],
        }
        self._hoist_definitions(doc, item)
        return doc

    def minimal(self):
        item = self.item_schema.minimal()
        doc = {
            "name": self.name,
            "properties": {
                self.name: {"type": "array", "items": item},
                "schema": {"type": "string"},
            },
            "links": [{"rel": "describedby", "href": "{schema}"}],
        }
        self._hoist_definitions(doc, item)
        return doc
