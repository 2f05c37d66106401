"""Default policies for the metadata definitions catalog (/v2/metadefs).

As in Glance: reading needs the reader role on the namespace's project, or
a public namespace; every write is for administrators (``metadef_admin``).
Targets carry the namespace's owner as ``project_id`` and its
``visibility``.
"""
from oslo_policy import policy

from glance.policies import base

METADEF_ADMIN = "rule:metadef_admin"
METADEF_DEFAULT = "rule:metadef_default"

ADMIN_OR_PROJECT_READER_GET_NAMESPACE = (
    f"{base.ADMIN} or (role:reader and (project_id:%(project_id)s or "
    f"{base.PUBLIC_VISIBILITY_CHECK}))")

_DEPRECATED_REASON = ("The metadata API now supports project scope and "
                      "default roles.")
_NS = "/v2/metadefs/namespaces"
_ONE_NS = _NS + "/{namespace_name}"


def _read(name, description, method, path):
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
        scope_types=["project"],
        description=description,
        operations=[{"path": path, "method": method}],
        deprecated_rule=policy.DeprecatedRule(
            name=name, check_str=METADEF_DEFAULT,
            deprecated_reason=_DEPRECATED_REASON,
            deprecated_since="Xena"))


def _write(name, description, method, path):
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=METADEF_ADMIN,
        scope_types=["project"],
        description=description,
        operations=[{"path": path, "method": method}])


metadef_policies = [
    policy.RuleDefault(name="metadef_default", check_str="",
                       description="The legacy rule of metadef reads."),
    policy.RuleDefault(name="metadef_admin", check_str=base.ADMIN,
                       description="Who may change the metadef catalog."),
    _read("get_metadef_namespace", "Show a namespace.", "GET", _ONE_NS),
    policy.DocumentedRuleDefault(
        name="get_metadef_namespaces",
        check_str=base.ADMIN_OR_PROJECT_READER,
        scope_types=["project"],
        description="List namespaces.",
        operations=[{"path": _NS, "method": "GET"}],
        deprecated_rule=policy.DeprecatedRule(
            name="get_metadef_namespaces", check_str=METADEF_DEFAULT,
            deprecated_reason=_DEPRECATED_REASON,
            deprecated_since="Xena")),
    _write("modify_metadef_namespace", "Change a namespace.", "PUT",
           _ONE_NS),
    _write("add_metadef_namespace", "Create a namespace.", "POST", _NS),
    _write("delete_metadef_namespace", "Delete a namespace (or all its "
           "objects, properties or tags).", "DELETE", _ONE_NS),
    _read("get_metadef_object", "Show an object of a namespace.", "GET",
          _ONE_NS + "/objects/{object_name}"),
    _read("get_metadef_objects", "List the objects of a namespace.", "GET",
          _ONE_NS + "/objects"),
    _write("modify_metadef_object", "Change an object of a namespace.",
           "PUT", _ONE_NS + "/objects/{object_name}"),
    _write("add_metadef_object", "Create an object in a namespace.",
           "POST", _ONE_NS + "/objects"),
    _write("delete_metadef_object", "Delete an object of a namespace.",
           "DELETE", _ONE_NS + "/objects/{object_name}"),
    _read("list_metadef_resource_types", "List the resource types.",
          "GET", "/v2/metadefs/resource_types"),
    _read("get_metadef_resource_type", "List the resource type "
          "associations of a namespace.", "GET", _ONE_NS + "/resource_types"),
    _write("add_metadef_resource_type_association", "Associate a namespace "
           "with a resource type.", "POST", _ONE_NS + "/resource_types"),
    _write("remove_metadef_resource_type_association", "Remove an "
           "association of a namespace with a resource type.", "DELETE",
           _ONE_NS + "/resource_types/{name}"),
    _read("get_metadef_property", "Show a property of a namespace.", "GET",
          _ONE_NS + "/properties/{property_name}"),
    _read("get_metadef_properties", "List the properties of a namespace.",
          "GET", _ONE_NS + "/properties"),
    _write("modify_metadef_property", "Change a property of a namespace.",
           "PUT", _ONE_NS + "/properties/{property_name}"),
    _write("add_metadef_property", "Create a property in a namespace.",
           "POST", _ONE_NS + "/properties"),
    _write("remove_metadef_property", "Delete a property of a namespace.",
           "DELETE", _ONE_NS + "/properties/{property_name}"),
    _read("get_metadef_tag", "Show a tag of a namespace.", "GET",
          _ONE_NS + "/tags/{tag_name}"),
    _read("get_metadef_tags", "List the tags of a namespace.", "GET",
          _ONE_NS + "/tags"),
    _write("modify_metadef_tag", "Rename a tag of a namespace.", "PUT",
           _ONE_NS + "/tags/{tag_name}"),
    _write("add_metadef_tag", "Create a tag in a namespace.", "POST",
           _ONE_NS + "/tags/{tag_name}"),
    _write("add_metadef_tags", "Create tags in a namespace.", "POST",
           _ONE_NS + "/tags"),
    _write("delete_metadef_tag", "Delete a tag of a namespace.", "DELETE",
           _ONE_NS + "/tags/{tag_name}"),
    _write("delete_metadef_tags", "Delete all tags of a namespace.",
           "DELETE", _ONE_NS + "/tags"),
]


def list_rules():
    return metadef_policies
