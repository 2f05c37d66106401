"""``/v2/metadefs/namespaces``: list, create (with contents), show,
replace and delete namespaces, and empty them of objects, properties or
tags."""
from oslo_config import cfg

from glance.api.v2 import metadef_common as common
from glance.api.v2 import metadef_schemas as schemas
from glance.common import exception
from glance.common import wsgi
from glance.domain import metadefs as rules
from glance.i18n import _
from glance.services import metadefs as service

CONF = cfg.CONF
_CONTENTS = {"resource_type_associations": "associations",
             "objects": "objects", "properties": "properties",
             "tags": "tags"}


class NamespaceController:
    """Calls one service function per action."""

    def index(self, req, filters, page):
        namespaces, next_marker = service.list_namespaces(
            req.context, filters=filters, **page)
        return {"namespaces": namespaces, "next_marker": next_marker}

    def create(self, req, values, contents):
        namespace = service.create_namespace(req.context, values, contents)
        given = {raw.get("name"): raw for raw in contents.get("objects") or ()
                 if isinstance(raw, dict)}
        namespace["objects"] = [
            common.as_given(obj, given[obj["name"]])
            if obj.get("name") in given else obj
            for obj in namespace.get("objects") or ()]
        return namespace

    def show(self, req, namespace, resource_type=None):
        return service.get_namespace(req.context, namespace, resource_type)

    def update(self, req, namespace, values):
        return service.update_namespace(req.context, namespace, values)

    def delete(self, req, namespace):
        service.delete_namespace(req.context, namespace)

    def delete_objects(self, req, namespace):
        service.delete_contents(req.context, namespace, "object")

    def delete_properties(self, req, namespace):
        service.delete_contents(req.context, namespace, "property")

    def delete_tags(self, req, namespace):
        service.delete_contents(req.context, namespace, "tag")


class RequestDeserializer(common.Deserializer):
    """Queries and bodies into the controller's arguments."""

    def index(self, request):
        params = request.params
        filters = {}
        visibility = params.get("visibility")
        if visibility:
            if visibility not in rules.VISIBILITIES:
                raise exception.Invalid(
                    _("Invalid visibility value: %s") % visibility)
            filters["visibility"] = visibility
        if params.get("resource_types"):
            filters["resource_types"] = [
                n.strip() for n in params["resource_types"].split(",")
                if n.strip()]
        page = common.page_params(params, rules.NAMESPACE_SORT_KEYS,
                                  CONF.limit_param_default)
        return {"filters": filters, "page": page}

    def show(self, request):
        return {"resource_type": request.params.get("resource_type")}

    def _namespace_body(self, request):
        body = self.body(request, schemas.NAMESPACE)
        for obj in body.get("objects") or ():
            for definition in (obj.get("properties") or {}).values():
                schemas.OBJECT_PROPERTY.validate(definition)
        return body

    def create(self, request):
        body = self._namespace_body(request)
        contents = {ours: body.pop(theirs) for theirs, ours in
                    _CONTENTS.items() if theirs in body}
        return {"values": body, "contents": contents}

    def update(self, request):
        body = self._namespace_body(request)
        for key in _CONTENTS:
            body.pop(key, None)  # as Glance: contents are not replaced
        return {"values": body}


class ResponseSerializer(common.Serializer):
    """Namespace documents and the paged list."""

    def index(self, response, result):
        params = [(k, v) for k, v in response.request.params.items()
                  if k != "marker"]
        body = {"namespaces": [common.render_namespace(ns)
                               for ns in result["namespaces"]],
                "first": common.url_with(common.NAMESPACES_URL, params),
                "schema": "/v2/schemas/metadefs/namespaces"}
        if result["next_marker"]:
            body["next"] = common.url_with(
                common.NAMESPACES_URL,
                params + [("marker", result["next_marker"])])
        self.json(response, body)

    def create(self, response, namespace):
        self.json(response, common.render_namespace(namespace), 201)
        response.location = common.header_safe(
            common.namespace_url(namespace["namespace"]))

    def show(self, response, namespace):
        self.json(response, common.render_namespace(namespace))

    def update(self, response, namespace):
        self.json(response, common.render_namespace(namespace))

    delete = delete_objects = delete_properties = delete_tags = \
        common.Serializer.no_content


def create_resource():
    """The namespaces resource."""
    return wsgi.Resource(NamespaceController(), RequestDeserializer(),
                         ResponseSerializer())
