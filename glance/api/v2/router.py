"""The v2 routes: one declarative table of (path, {method: action}).

Every path answers 405 with an ``Allow`` header for methods not listed,
but those of ``NO_REJECT``: 404, as Glance answers. Paths are relative to
the ``/v2`` mount point of the paste composite.
"""
from glance.api.v2 import discovery
from glance.api.v2 import image_actions
from glance.api.v2 import image_data
from glance.api.v2 import image_import
from glance.api.v2 import image_locations
from glance.api.v2 import image_members
from glance.api.v2 import image_tags
from glance.api.v2 import images
from glance.api.v2 import metadef_namespaces
from glance.api.v2 import metadef_objects
from glance.api.v2 import metadef_resource_types
from glance.api.v2 import metadef_schemas
from glance.api.v2 import metadef_tags
from glance.api.v2 import schemas
from glance.api.v2 import tasks
from glance import property_utils
from glance.common import wsgi


# Paths Glance routes with no 405 for other methods
NO_REJECT = frozenset(("/info/usage", "/images/{image_id}/tasks"))


def route_table():
    """[(path, resource, {method: action})] of the Images API v2."""
    schema_res = schemas.create_resource()
    images_res = images.create_resource()
    members_res = image_members.create_resource()
    info_res = discovery.create_resource()
    data_res = image_data.create_resource()
    tasks_res = tasks.create_resource()
    locations_res = image_locations.create_resource()
    table = [
        ("/schemas/%s" % name, schema_res, {"GET": name})
        for name in ("image", "images", "member", "members", "task",
                     "tasks")
    ]
    table += [
        ("/images", images_res, {"GET": "index", "POST": "create"}),
        ("/images/{image_id}", images_res,
         {"GET": "show", "PATCH": "update", "DELETE": "delete"}),
        ("/images/{image_id}/file", data_res,
         {"GET": "download", "PUT": "upload"}),
        ("/images/{image_id}/stage", data_res, {"PUT": "stage"}),
        ("/images/{image_id}/locations", locations_res,
         {"GET": "get_locations", "POST": "add_location"}),
        ("/stores/{store_id}/{image_id}", locations_res,
         {"DELETE": "delete_from_store"}),
        ("/images/{image_id}/import", image_import.create_resource(),
         {"POST": "import_image"}),
        ("/images/{image_id}/tasks", tasks_res, {"GET": "image_tasks"}),
        ("/tasks", tasks_res, {"GET": "index", "POST": "create"}),
        ("/tasks/{task_id}", tasks_res, {"GET": "show", "DELETE": "delete"}),
        ("/images/{image_id}/actions/deactivate",
         image_actions.create_resource(), {"POST": "deactivate"}),
        ("/images/{image_id}/actions/reactivate",
         image_actions.create_resource(), {"POST": "reactivate"}),
        ("/images/{image_id}/tags/{tag_value}",
         image_tags.create_resource(), {"PUT": "update",
                                        "DELETE": "delete"}),
        ("/images/{image_id}/members", members_res,
         {"GET": "index", "POST": "create"}),
        ("/images/{image_id}/members/{member_id}", members_res,
         {"GET": "show", "PUT": "update", "DELETE": "delete"}),
        ("/info/import", info_res, {"GET": "get_image_import"}),
        ("/info/stores", info_res, {"GET": "get_stores"}),
        ("/info/stores/detail", info_res, {"GET": "get_stores_detail"}),
        ("/info/usage", info_res, {"GET": "get_usage"}),
    ]
    return table + metadef_route_table()


def metadef_route_table():
    """[(path, resource, {method: action})] of the metadefs catalog."""
    schema_res = wsgi.Resource(metadef_schemas.Controller())
    ns_res = metadef_namespaces.create_resource()
    obj_res = metadef_objects.create_objects_resource()
    prop_res = metadef_objects.create_properties_resource()
    tag_res = metadef_tags.create_resource()
    rt_res = metadef_resource_types.create_resource()
    ns = "/metadefs/namespaces/{namespace}"
    table = [("/schemas/metadefs/%s" % name, schema_res,
              {"GET": "metadef_%s" % name})
             for name in metadef_schemas.DOCUMENTS]
    table += [
        ("/metadefs/resource_types", rt_res, {"GET": "index"}),
        (ns + "/resource_types", rt_res, {"GET": "show", "POST": "create"}),
        (ns + "/resource_types/{resource_type}", rt_res,
         {"DELETE": "delete"}),
        ("/metadefs/namespaces", ns_res, {"GET": "index", "POST": "create"}),
        (ns, ns_res, {"GET": "show", "PUT": "update", "DELETE": "delete"}),
        (ns + "/properties", prop_res, {"GET": "index", "POST": "create",
                                        "DELETE": "delete_properties"}),
        (ns + "/properties/{property_name}", prop_res,
         {"GET": "show", "PUT": "update", "DELETE": "delete"}),
        (ns + "/objects", obj_res, {"GET": "index", "POST": "create",
                                    "DELETE": "delete_objects"}),
        (ns + "/objects/{object_name}", obj_res,
         {"GET": "show", "PUT": "update", "DELETE": "delete"}),
        (ns + "/tags", tag_res, {"GET": "index", "POST": "create_tags",
                                 "DELETE": "delete_tags"}),
        (ns + "/tags/{tag_name}", tag_res, {"GET": "show", "POST": "create",
                                            "PUT": "update",
                                            "DELETE": "delete"}),
    ]
    return table


class API(wsgi.Router):
    """The Images API v2 WSGI router."""

    def __init__(self, mapper):
        # A malformed protections file must stop the worker from booting.
        property_utils.reset()
        property_utils.get_rules()
        for path, resource, actions in route_table():
            mapper.connect_methods(path, resource, actions,
                                   reject=path not in NO_REJECT)
        super().__init__(mapper)

    @classmethod
    def factory(cls, global_conf, **local_conf):
        return cls(wsgi.APIMapper())
