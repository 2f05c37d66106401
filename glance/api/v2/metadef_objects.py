"""``/v2/metadefs/namespaces/{ns}/objects`` and ``.../properties``: the
objects and property definitions of a namespace."""
from glance.api.v2 import metadef_common as common
from glance.api.v2 import metadef_schemas as schemas
from glance.common import wsgi
from glance.services import metadef_items as service
from glance.services import metadefs as namespaces


class ObjectsController:
    """Objects: list, create, show, replace, delete (one or all)."""

    def index(self, req, namespace):
        return service.list_items(req.context, namespace, "object")

    def create(self, req, namespace, body):
        return common.as_given(service.create_item(req.context, namespace,
                                             "object", body), body)

    def show(self, req, namespace, object_name):
        return service.get_item(req.context, namespace, "object",
                                object_name)

    def update(self, req, namespace, object_name, body):
        return common.as_given(service.update_item(req.context, namespace,
                                             "object", object_name, body),
                         body)

    def delete(self, req, namespace, object_name):
        service.delete_item(req.context, namespace, "object", object_name)

    def delete_objects(self, req, namespace):
        namespaces.delete_contents(req.context, namespace, "object")


class ObjectsDeserializer(common.Deserializer):
    """Object bodies: the object schema, and each property's."""

    def _object(self, request):
        body = self.body(request, schemas.OBJECT)
        for definition in (body.get("properties") or {}).values():
            schemas.OBJECT_PROPERTY.validate(definition)
        return {"body": body}

    create = update = _object

    def index(self, request):
        # Glance checks these parameters, then lists every object.
        common.parse_sort_dir(request.params)
        common.parse_limit(request.params)
        return {}


class ObjectsSerializer(common.Serializer):
    """Object documents."""

    def index(self, response, objects):
        ns_name = response.request.urlvars["namespace"]
        self.json(response, {
            "objects": [common.render_object(ns_name, o) for o in objects],
            # (sic: Glance's link has no leading slash)
            "schema": "v2/schemas/metadefs/objects"})

    def _one(self, response, obj, status=200):
        ns_name = response.request.urlvars["namespace"]
        self.json(response, common.render_object(ns_name, obj), status)
        return response

    def create(self, response, obj):
        self._one(response, obj, 201)

    show = update = _one
    delete = delete_objects = common.Serializer.no_content


class PropertiesController:
    """Property definitions: list, create, show, replace, delete (all of
    them: the namespace's ``delete_properties``)."""

    def index(self, req, namespace):
        return service.list_items(req.context, namespace, "property")

    def create(self, req, namespace, body):
        return service.create_item(req.context, namespace, "property", body)

    def show(self, req, namespace, property_name, resource_type=None):
        return service.get_property(req.context, namespace, property_name,
                                    resource_type)

    def update(self, req, namespace, property_name, body):
        return service.update_item(req.context, namespace, "property",
                                   property_name, body)

    def delete(self, req, namespace, property_name):
        service.delete_item(req.context, namespace, "property",
                            property_name)

    def delete_properties(self, req, namespace):
        namespaces.delete_contents(req.context, namespace, "property")


class PropertiesDeserializer(common.Deserializer):
    """Property bodies: the property schema."""

    def _property(self, request):
        return {"body": self.body(request, schemas.PROPERTY)}

    create = update = _property

    def show(self, request):
        return {"resource_type": request.params.get("resource_type")}


class PropertiesSerializer(common.Serializer):
    """Property documents; the list is keyed by name."""

    def index(self, response, props):
        self.json(response, {"properties": {p["name"]: p["schema"]
                                            for p in props}})

    def show(self, response, prop, status=200):
        self.json(response, common.render_property(prop), status)

    def create(self, response, prop):
        self.show(response, prop, 201)

    update = show
    delete = delete_properties = common.Serializer.no_content


def create_objects_resource():
    return wsgi.Resource(ObjectsController(), ObjectsDeserializer(),
                         ObjectsSerializer())


def create_properties_resource():
    return wsgi.Resource(PropertiesController(), PropertiesDeserializer(),
                         PropertiesSerializer())
