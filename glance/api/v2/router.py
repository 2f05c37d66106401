"""The v2 routes: one declarative table of (path, {method: action}).

Every path answers 405 with an ``Allow`` header for methods not listed.
Paths are relative to the ``/v2`` mount point of the paste composite.
"""
from glance.api.v2 import discovery
from glance.api.v2 import image_actions
from glance.api.v2 import image_data
from glance.api.v2 import image_import
from glance.api.v2 import image_locations
from glance.api.v2 import image_members
from glance.api.v2 import image_tags
from glance.api.v2 import images
from glance.api.v2 import schemas
from glance.api.v2 import tasks
from glance.common import property_utils
from glance.common import wsgi


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
    return table


class API(wsgi.Router):
    """The Images API v2 WSGI router."""

    def __init__(self, mapper):
        # A malformed protections file must stop the worker from booting.
        property_utils.reset()
        property_utils.get_rules()
        for path, resource, actions in route_table():
            mapper.connect_methods(path, resource, actions)
        super().__init__(mapper)

    @classmethod
    def factory(cls, global_conf, **local_conf):
        return cls(wsgi.APIMapper())
