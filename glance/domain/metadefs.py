"""Rules of the metadata definitions catalog, and its errors.

A property definition is a small JSON schema (``type``, ``title``,
``enum``, ``minimum``...). Glance stores it in the normalized form its API
model produces, and so do we (``normalize_property``): unknown keys are
dropped, ``default`` becomes a string (or null when it is not a scalar),
``minimum``/``maximum`` are truncated to integers, ``enum`` values must be
strings. The API shows what was stored.
"""
from glance.common import exception
from glance.i18n import _

NAME_MAX = 80
VISIBILITIES = ("public", "private")
NAMESPACE_SORT_KEYS = ("namespace", "display_name", "owner", "visibility",
                       "created_at", "updated_at", "id")
TAG_SORT_KEYS = ("name", "created_at", "updated_at", "id")

_TEXT_KEYS = ("name", "type", "title", "description", "pattern")
_INT_KEYS = ("minimum", "maximum", "minLength", "maxLength", "minItems",
             "maxItems")
_BOOL_KEYS = ("readonly", "confidential", "uniqueItems", "additionalItems")
# The order Glance's API model writes the keys in.
PROPERTY_KEYS = ("name", "type", "title", "description", "operators",
                 "default", "readonly", "minimum", "maximum", "enum",
                 "pattern", "minLength", "maxLength", "confidential",
                 "items", "uniqueItems", "minItems", "maxItems",
                 "additionalItems")


class NamespaceNotFound(exception.NotFound):
    message = _("Metadata definition namespace=%(namespace_name)s was not "
                "found.")


class ObjectNotFound(exception.NotFound):
    message = _("Could not find metadata object %(name)s")


class PropertyNotFound(exception.NotFound):
    message = _("Could not find property %(name)s")


class TagNotFound(exception.NotFound):
    message = _("Could not find metadata tag %(name)s")


class ResourceTypeNotFound(exception.NotFound):
    message = _("Failed to find resource type %(name)s")


class ProtectedDelete(exception.Forbidden):
    message = _("Metadata definition %(kind)s %(name)s is protected and "
                "cannot be deleted.")


class DuplicateNamespace(exception.Duplicate):
    message = _("The metadata definition namespace=%(namespace_name)s "
                "already exists.")


class DuplicateObject(exception.Duplicate):
    message = _("A metadata definition object with name=%(name)s already "
                "exists in namespace=%(namespace_name)s.")


class DuplicateProperty(exception.Duplicate):
    message = _("A metadata definition property with name=%(name)s already "
                "exists in namespace=%(namespace_name)s.")


class DuplicateTag(exception.Duplicate):
    message = _("A metadata tag with name=%(name)s already exists in "
                "namespace=%(namespace_name)s. (Please note that metadata "
                "tag names are case insensitive).")


class DuplicateAssociation(exception.Duplicate):
    message = _("The metadata definition resource-type association of "
                "resource-type=%(name)s to namespace=%(namespace_name)s "
                "already exists.")


DUPLICATES = {"object": DuplicateObject, "property": DuplicateProperty,
              "tag": DuplicateTag}
NOT_FOUND = {"object": ObjectNotFound, "property": PropertyNotFound,
             "tag": TagNotFound}


def check_name(kind, name):
    """A name must be a non-empty string of at most 80 characters."""
    if not isinstance(name, str) or not name.strip():
        raise exception.Invalid(_("The %s name must not be empty.") % kind)
    if len(name) > NAME_MAX:
        raise exception.Invalid(
            _("The %(kind)s name is longer than %(max)d characters.")
            % {"kind": kind, "max": NAME_MAX})
    return name


def _text(key, value):
    if value is None or isinstance(value, str):
        return value
    raise exception.Invalid(_("Invalid input for field/attribute %(key)s. "
                              "Value: %(value)r. Not a string.")
                            % {"key": key, "value": value})


def _integer(key, value):
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise exception.Invalid(
            _("Invalid input for field/attribute %(key)s. Value: "
              "%(value)r. Not an integer.") % {"key": key, "value": value})


def _text_list(key, value):
    if value is None:
        return None
    if not isinstance(value, list):
        raise exception.Invalid(_("%s must be a list of strings.") % key)
    return [_text(key, item) for item in value]


def _default(value):
    """Glance keeps a default as text: scalars are written out, lists and
    objects become null."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return str(value)
    return None


def _items(value):
    if value is None:
        return None
    if not isinstance(value, dict) or "type" not in value:
        raise exception.Invalid(_("items must be an object with a type."))
    items = {"type": _text("items.type", value["type"])}
    if value.get("enum") is not None:
        items["enum"] = _text_list("items.enum", value["enum"])
    return items


def normalize_property(definition, keep_name=True):
    """The stored form of a property definition (see the module doc)."""
    if not isinstance(definition, dict):
        raise exception.Invalid(_("A property definition must be an "
                                  "object."))
    out = {}
    for key in PROPERTY_KEYS:
        if key not in definition or (key == "name" and not keep_name):
            continue
        out[key] = _convert(key, definition[key])
    return out


def _convert(key, value):
    if key in _TEXT_KEYS:
        return _text(key, value)
    if key in _INT_KEYS:
        return _integer(key, value)
    if key in _BOOL_KEYS:
        return None if value is None else bool(value)
    if key in ("operators", "enum"):
        return _text_list(key, value)
    if key == "items":
        return _items(value)
    return _default(value)


def normalize_properties(properties):
    """``{name: definition}`` in stored form, names checked."""
    if properties is None:
        return {}
    if not isinstance(properties, dict):
        raise exception.Invalid(_("properties must be an object."))
    return {check_name("property", name): normalize_property(value)
            for name, value in properties.items()}


def prefixed(prefix, names):
    """``names`` with ``prefix`` in front (for a resource type's view)."""
    return [prefix + name for name in names]


def normalize_object(values):
    """The stored form of an object: name, description, required, and
    its properties normalized."""
    return {"name": check_name("object", values.get("name")),
            "description": values.get("description"),
            "required": list(values.get("required") or []),
            "properties": normalize_properties(values.get("properties"))}


def normalize_association(values):
    """A resource type association: name, prefix, properties_target."""
    return {"name": check_name("resource type", values.get("name")),
            "prefix": values.get("prefix"),
            "properties_target": values.get("properties_target")}


def normalize_contents(contents):
    """The nested contents of a whole-namespace create, normalized."""
    return {
        "associations": [normalize_association(a) for a in
                         contents.get("associations") or ()],
        "objects": [normalize_object(o) for o in
                    contents.get("objects") or ()],
        "properties": normalize_properties(contents.get("properties")),
        "tags": [{"name": check_name("tag", t.get("name"))}
                 for t in contents.get("tags") or ()],
    }
