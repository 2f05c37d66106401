"""``/v2/metadefs/namespaces/{ns}/tags``: the tag definitions of a
namespace, one at a time or as a whole list."""
from oslo_utils import strutils

from glance.api.v2 import metadef_common as common
from glance.api.v2 import metadef_schemas as schemas
from glance.common import wsgi
from glance.domain import metadefs as rules
from glance.services import metadef_items as service
from glance.services import metadefs as namespaces


class TagsController:
    """Tags: list, set (or append) many, create, show, rename, delete."""

    def index(self, req, namespace, page):
        return service.list_tags(req.context, namespace, **page)

    def create_tags(self, req, namespace, names, append):
        return service.create_tags(req.context, namespace, names, append)

    def delete_tags(self, req, namespace):
        namespaces.delete_contents(req.context, namespace, "tag")

    def create(self, req, namespace, tag_name):
        return service.create_item(req.context, namespace, "tag",
                                   {"name": tag_name})

    def show(self, req, namespace, tag_name):
        return service.get_item(req.context, namespace, "tag", tag_name)

    def update(self, req, namespace, tag_name, body):
        return service.update_item(req.context, namespace, "tag", tag_name,
                                   body)

    def delete(self, req, namespace, tag_name):
        service.delete_item(req.context, namespace, "tag", tag_name)


class TagsDeserializer(common.Deserializer):
    """Tag bodies, the tag list body and the list's paging."""

    read_only = ("created_at", "updated_at")

    def index(self, request):
        return {"page": common.page_params(request.params,
                                           rules.TAG_SORT_KEYS)}

    def create_tags(self, request):
        body = self.body(request, schemas.TAG_LIST)
        append = strutils.bool_from_string(
            request.headers.get("X-Openstack-Append"))
        return {"names": [t["name"] for t in body.get("tags") or ()],
                "append": append}

    def create(self, request):
        # the name is in the URL; it is checked like a body's
        name = request.urlvars["tag_name"]
        schemas.TAG.validate({"name": name})
        return {}

    def update(self, request):
        return {"body": self.body(request, schemas.TAG)}


class TagsSerializer(common.Serializer):
    """Tag documents; lists show names only, as Glance's."""

    def index(self, response, tags):
        self.json(response, {"tags": [common.render_tag(t, False)
                                      for t in tags]})

    def create_tags(self, response, tags):
        self.json(response, {"tags": [common.render_tag(t, False)
                                      for t in tags]}, 201)

    def show(self, response, tag, status=200):
        self.json(response, common.render_tag(tag), status)

    def create(self, response, tag):
        self.show(response, tag, 201)

    update = show
    delete = delete_tags = common.Serializer.no_content


def create_resource():
    return wsgi.Resource(TagsController(), TagsDeserializer(),
                         TagsSerializer())
