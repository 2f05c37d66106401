"""``/v2/metadefs/resource_types`` and a namespace's resource type
associations."""
from glance.api.v2 import metadef_common as common
from glance.api.v2 import metadef_schemas as schemas
from glance.common import wsgi
from glance.services import metadef_items as service


class ResourceTypesController:
    """Resource types, and associations of a namespace with them."""

    def index(self, req):
        return service.list_resource_types(req.context)

    def show(self, req, namespace):
        return service.list_associations(req.context, namespace)

    def create(self, req, namespace, body):
        return service.create_association(req.context, namespace, body)

    def delete(self, req, namespace, resource_type):
        service.delete_association(req.context, namespace, resource_type)


class ResourceTypesDeserializer(common.Deserializer):
    """The association body."""

    def create(self, request):
        return {"body": self.body(request, schemas.RESOURCE_TYPE)}


class ResourceTypesSerializer(common.Serializer):
    """Resource type and association documents."""

    def index(self, response, resource_types):
        self.json(response, {"resource_types": [
            common.render_resource_type(r) for r in resource_types]})

    def show(self, response, associations):
        self.json(response, {"resource_type_associations": [
            common.render_association(a) for a in associations]})

    def create(self, response, association):
        self.json(response, common.render_association(association), 201)

    delete = common.Serializer.no_content


def create_resource():
    return wsgi.Resource(ResourceTypesController(),
                         ResourceTypesDeserializer(),
                         ResourceTypesSerializer())
