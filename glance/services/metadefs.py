"""What the metadefs API does with namespaces.

Glance's rules: a namespace is seen by administrators, by its owner's
project and, when public, by everyone; one the caller cannot see is
reported as not found (404). Policy is checked explicitly at the top of
each function with the namespace's owner and visibility as the target; a
denial on a namespace the caller may read is 403, else 404. A protected
namespace cannot be deleted, nor can anything in it (403).

Objects, properties, tags and resource types are in
``glance.services.metadef_items``.
"""
import re

from glance import policy
from glance.common import exception
from glance.db import metadef_items as db_items
from glance.db import metadefs as db
from glance.domain import metadefs as rules
from glance.i18n import _

# policy rule for (kind, operation)
RULES = {
    ("object", "list"): "get_metadef_objects",
    ("object", "get"): "get_metadef_object",
    ("object", "add"): "add_metadef_object",
    ("object", "modify"): "modify_metadef_object",
    ("object", "delete"): "delete_metadef_object",
    ("property", "list"): "get_metadef_properties",
    ("property", "get"): "get_metadef_property",
    ("property", "add"): "add_metadef_property",
    ("property", "modify"): "modify_metadef_property",
    ("property", "delete"): "remove_metadef_property",
    ("tag", "list"): "get_metadef_tags",
    ("tag", "get"): "get_metadef_tag",
    ("tag", "add"): "add_metadef_tag",
    ("tag", "modify"): "modify_metadef_tag",
    ("tag", "delete"): "delete_metadef_tag",
}


# Characters of four bytes in UTF-8 (MySQL's utf8 cannot store them).
_FOUR_BYTE = re.compile("[\U00010000-\U0010ffff]")


def refuse_four_byte(values):
    """Glance refuses characters of four UTF-8 bytes in the keys and text
    values (nested dicts included) of a namespace, object, property or
    tag it writes: Invalid (400)."""
    for key, value in values.items():
        if isinstance(value, dict):
            refuse_four_byte(value)
            continue
        if isinstance(key, str) and _FOUR_BYTE.search(key):
            raise exception.Invalid(
                _("Property names can't contain 4 byte unicode."))
        if isinstance(value, str) and _FOUR_BYTE.search(value):
            raise exception.Invalid(
                _("%s can't contain 4 byte unicode characters.")
                % str(key).title())


# --- finding and authorizing -------------------------------------------------

def target(context, namespace=None):
    """The policy target: the namespace's owner and visibility."""
    if namespace is None:
        return {"project_id": context.project_id}
    return {"project_id": namespace["owner"],
            "visibility": namespace["visibility"]}


def is_visible(context, namespace):
    """Whether ``context`` may see ``namespace`` at all."""
    if context.is_admin or namespace["owner"] is None:
        return True
    if namespace["visibility"] == "public":
        return True
    return context.project_id is not None and \
        namespace["owner"] == context.project_id


_OBJECT_RULES = frozenset(rule for (kind, _op), rule in RULES.items()
                          if kind == "object")


def not_found(name, action=None, missing=True):
    """The 404 for a namespace that is ``missing`` (else one the caller
    may not see), worded as Glance words it for ``action``: its namespace
    show and object routes say a missing namespace "was not found", the
    show of a hidden one "could not be found", every other route (and
    the object routes for a hidden one) "Namespace X not found"."""
    if action == "get_metadef_namespace":
        if missing:
            return rules.NamespaceNotFound(namespace_name=name)
        return rules.NamespaceNotFound(_("The resource could not be found."))
    if action is None or (missing and action in _OBJECT_RULES):
        return rules.NamespaceNotFound(namespace_name=name)
    return rules.NamespaceNotFound(_("Namespace %s not found") % name)


def find_namespace(context, name, action=None):
    """The namespace if ``context`` may see it, else NamespaceNotFound
    (worded for ``action``, see ``not_found``)."""
    try:
        namespace = db.namespace_get(name)
    except rules.NamespaceNotFound:
        raise not_found(name, action) from None
    if not is_visible(context, namespace):
        raise not_found(name, action, missing=False)
    return namespace


def enforce(context, action, namespace=None):
    """Enforce a metadef rule; 404 rather than 403 when the caller may not
    even read the namespace."""
    tgt = target(context, namespace)
    if policy.check(context, action, tgt):
        return
    if namespace is not None and (
            action == "get_metadef_namespace" or
            not policy.check(context, "get_metadef_namespace", tgt)):
        raise not_found(namespace["namespace"], action, missing=False)
    raise exception.Forbidden(action=action)


def authorized_namespace(context, name, action):
    """The namespace, once ``context`` may see it and do ``action``."""
    namespace = find_namespace(context, name, action)
    enforce(context, action, namespace)
    return namespace


# --- namespaces --------------------------------------------------------------

def list_namespaces(context, filters=None, marker=None, limit=None,
                    sort_key="created_at", sort_dir="desc"):
    """A page of namespaces (each with its ``associations``) and the
    marker of the next page (or None)."""
    enforce(context, "get_metadef_namespaces")
    enforce(context, "list_metadef_resource_types")
    found = db.namespace_list(filters=filters, marker=marker, limit=limit,
                              sort_key=sort_key, sort_dir=sort_dir,
                              project_id=context.project_id,
                              is_admin=context.is_admin)
    readable = [ns for ns in found if policy.check(
        context, "get_metadef_namespace", target(context, ns))]
    assocs = db.associations([ns["id"] for ns in readable])
    result = [dict(ns, associations=assocs[ns["id"]]) for ns in readable]
    next_marker = None
    if readable and limit is not None and len(readable) == limit:
        next_marker = readable[-1]["namespace"]
    return result, next_marker


def get_namespace(context, name, resource_type=None):
    """A namespace with its associations, objects, properties and tags;
    with ``resource_type``, property names carry that association's
    prefix."""
    namespace = authorized_namespace(context, name, "get_metadef_namespace")
    for action in ("list_metadef_resource_types", "get_metadef_objects",
                   "get_metadef_properties", "get_metadef_tags"):
        enforce(context, action, namespace)
    ns_id = namespace["id"]
    full = dict(namespace,
                associations=db.associations([ns_id])[ns_id],
                objects=db_items.item_list("object", ns_id),
                properties={p["name"]: p["schema"] for p in
                            db_items.item_list("property", ns_id)},
                tags=db_items.tag_list(ns_id))
    prefix = _prefix_of(full["associations"], resource_type)
    return _with_prefix(full, prefix) if prefix else full


def _prefix_of(associations, resource_type):
    for assoc in associations if resource_type else ():
        if assoc["name"] == resource_type:
            return assoc["prefix"]
    return None


def _with_prefix(namespace, prefix):
    objects = [dict(obj, required=rules.prefixed(prefix, obj["required"]),
                    properties={prefix + k: v for k, v in
                                obj["properties"].items()})
               for obj in namespace["objects"]]
    properties = {prefix + k: v for k, v in namespace["properties"].items()}
    return dict(namespace, objects=objects, properties=properties)


def create_namespace(context, values, contents):
    """Create a namespace and its ``contents`` (``objects``,
    ``properties``, ``tags``, ``associations``) at once; the namespace
    dict with the contents as given."""
    enforce(context, "add_metadef_namespace")
    contents = rules.normalize_contents(contents)
    for key, action in (("associations",
                         "add_metadef_resource_type_association"),
                        ("objects", "add_metadef_object"),
                        ("properties", "add_metadef_property"),
                        ("tags", "add_metadef_tag")):
        if contents.get(key):
            enforce(context, action)
    values = dict(values)
    values["namespace"] = rules.check_name("namespace", values["namespace"])
    refuse_four_byte(values)
    for assoc in contents["associations"]:
        # as POST .../resource_types checks them (its schema), on every
        # database (SQLite would store longer ones)
        for key in ("prefix", "properties_target"):
            if len(assoc.get(key) or "") > rules.NAME_MAX:
                raise exception.Invalid(
                    _("The %(key)s of resource type %(name)s is longer "
                      "than %(max)d characters.")
                    % {"key": key, "name": assoc["name"],
                       "max": rules.NAME_MAX})
    for obj in contents["objects"]:
        refuse_four_byte(obj)
    for name, definition in contents["properties"].items():
        refuse_four_byte(dict(definition, name=name))
    for tag in contents["tags"]:
        refuse_four_byte(tag)
    values.setdefault("owner", context.project_id)
    if not values["owner"]:
        raise exception.Invalid(_("A namespace needs an owner."))
    values["visibility"] = values.get("visibility") or "private"
    values["protected"] = bool(values.get("protected"))
    namespace = db.namespace_create(
        values, objects=contents.get("objects") or (),
        properties=contents.get("properties"),
        tags=contents.get("tags") or (),
        associations=contents.get("associations") or ())
    return dict(namespace, **contents)


def update_namespace(context, name, values):
    """Replace a namespace's attributes (Glance's PUT: what is not given
    goes back to its default); the new namespace dict."""
    namespace = authorized_namespace(context, name,
                                     "modify_metadef_namespace")
    new = {"namespace": rules.check_name("namespace", values["namespace"]),
           "display_name": values.get("display_name"),
           "description": values.get("description"),
           "visibility": values.get("visibility") or "private",
           "protected": bool(values.get("protected")),
           "owner": values.get("owner") or context.project_id}
    if not new["owner"]:
        raise exception.Invalid(_("A namespace needs an owner."))
    refuse_four_byte(new)
    return db.namespace_update(namespace["id"], new)


def _check_not_protected(namespace):
    if namespace["protected"]:
        raise rules.ProtectedDelete(kind="namespace",
                                    name=namespace["namespace"])


def delete_namespace(context, name):
    """Delete a namespace with everything in it (403 if protected)."""
    namespace = authorized_namespace(context, name,
                                     "delete_metadef_namespace")
    _check_not_protected(namespace)
    db.namespace_delete(namespace["id"])


def delete_contents(context, name, kind):
    """Delete every object, property or tag of a namespace; the
    namespace must be deletable by the caller (as in Glance)."""
    namespace = authorized_namespace(context, name,
                                     "delete_metadef_namespace")
    if kind == "tag":
        enforce(context, "delete_metadef_tags", namespace)
    _check_not_protected(namespace)
    db_items.delete_all(kind, namespace["id"])
