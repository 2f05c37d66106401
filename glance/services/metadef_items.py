"""What the metadefs API does with a namespace's objects, properties,
tags and resource type associations.

Each function finds the namespace the caller may see (404 otherwise),
enforces the kind's policy rule (``glance.services.metadefs.RULES``), then
reads or writes. Nothing in a protected namespace can be deleted (403).
"""
from glance.db import metadef_items as db_items
from glance.db import metadefs as db
from glance.domain import metadefs as rules
from glance.i18n import _
from glance.services import metadefs as namespaces


def _namespace(context, name, kind, operation):
    return namespaces.authorized_namespace(
        context, name, namespaces.RULES[(kind, operation)])


def _normalize(kind, values):
    namespaces.refuse_four_byte(values)
    if kind == "object":
        return rules.normalize_object(values)
    if kind == "property":
        name = rules.check_name("property", values.get("name"))
        return {"name": name, "schema": rules.normalize_property(values)}
    return {"name": rules.check_name("tag", values.get("name"))}


# --- objects and properties (and single tags) ----------------------------

def list_items(context, ns_name, kind):
    """Every object or property of a namespace, in name order."""
    namespace = _namespace(context, ns_name, kind, "list")
    return db_items.item_list(kind, namespace["id"])


def get_item(context, ns_name, kind, name):
    """One object, property or tag by name."""
    namespace = _namespace(context, ns_name, kind, "get")
    return db_items.item_get(kind, namespace["id"], name)


def get_property(context, ns_name, name, resource_type=None):
    """A property; with ``resource_type``, ``name`` carries the prefix of
    the namespace's association with that type (404 if it does not)."""
    namespace = _namespace(context, ns_name, "property", "get")
    if resource_type:
        namespaces.enforce(context, "get_metadef_resource_type", namespace)
        try:
            prefix = _association(namespace, resource_type)["prefix"]
        except rules.ResourceTypeNotFound:
            raise rules.ResourceTypeNotFound(
                _("The metadata definition resource-type with name=%s, "
                  "was not found.") % resource_type) from None
        if not prefix or not name.startswith(prefix):
            raise rules.PropertyNotFound(
                _("Property %(name)s does not start with the expected "
                  "resource type association prefix of '%(prefix)s'.")
                % {"name": name, "prefix": prefix})
        name = name[len(prefix):]
    return db_items.item_get("property", namespace["id"], name)


def create_item(context, ns_name, kind, values):
    """Add an object, property or tag; its dict (409 on a name clash)."""
    namespace = _namespace(context, ns_name, kind, "add")
    return db_items.item_create(kind, namespace, _normalize(kind, values))


def update_item(context, ns_name, kind, name, values):
    """Replace an object, property or tag (it may be renamed)."""
    namespace = _namespace(context, ns_name, kind, "modify")
    return db_items.item_update(kind, namespace, name,
                                _normalize(kind, values))


def delete_item(context, ns_name, kind, name):
    """Delete an object, property or tag (403 in a protected namespace)."""
    namespace = _namespace(context, ns_name, kind, "delete")
    db_items.item_get(kind, namespace["id"], name)  # 404 first
    if namespace["protected"]:
        raise rules.ProtectedDelete(kind=kind, name=name)
    db_items.item_delete(kind, namespace["id"], name)


# --- tags ----------------------------------------------------------------

def list_tags(context, ns_name, marker=None, limit=None,
              sort_key="created_at", sort_dir="desc"):
    """A page of a namespace's tags."""
    namespace = _namespace(context, ns_name, "tag", "list")
    return db_items.tag_list(namespace["id"], marker=marker, limit=limit,
                             sort_key=sort_key, sort_dir=sort_dir)


def create_tags(context, ns_name, names, append=False):
    """Set a namespace's tags to ``names`` (or add them, ``append``)."""
    namespace = namespaces.authorized_namespace(context, ns_name,
                                                "add_metadef_tags")
    names = [rules.check_name("tag", name) for name in names]
    return db_items.tags_create(namespace, names, append=append)


# --- resource types ----------------------------------------------------------

def list_resource_types(context):
    """Every resource type known to the catalog."""
    namespaces.enforce(context, "list_metadef_resource_types")
    return db.resource_type_list()


def list_associations(context, ns_name):
    """The resource types a namespace is associated with."""
    namespace = namespaces.authorized_namespace(
        context, ns_name, "get_metadef_resource_type")
    return db.associations([namespace["id"]])[namespace["id"]]


def _association(namespace, name):
    for assoc in db.associations([namespace["id"]])[namespace["id"]]:
        if assoc["name"] == name:
            return assoc
    raise rules.ResourceTypeNotFound(name=name)


def create_association(context, ns_name, values):
    """Associate a namespace with a resource type (made on first use)."""
    namespace = namespaces.authorized_namespace(
        context, ns_name, "add_metadef_resource_type_association")
    return db.association_create(namespace,
                                 rules.normalize_association(values))


def delete_association(context, ns_name, name):
    """Remove an association (403 in a protected namespace)."""
    namespace = namespaces.authorized_namespace(
        context, ns_name, "remove_metadef_resource_type_association")
    try:
        _association(namespace, name)
    except rules.ResourceTypeNotFound:
        raise rules.ResourceTypeNotFound(
            _("Failed to find resource type %s to delete") % name)
    if namespace["protected"]:
        raise rules.ProtectedDelete(kind="resource-type-association",
                                    name=name)
    db.association_delete(namespace["id"], name)
