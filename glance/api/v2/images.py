"""``/v2/images``: create, list, show, update (JSON-patch) and delete."""
import urllib.parse

import webob.exc
from oslo_config import cfg

from glance.api.v2 import image_views
from glance.api.v2 import json_patch
from glance.api.v2 import list_params
from glance.api.v2 import schemas
from glance.common import exception
from glance.common import wsgi
from glance.domain import images as rules
from glance.i18n import _
from glance.services import discovery
from glance.services import images as service

CONF = cfg.CONF


class ImagesController:
    """Calls one service function per action; no rules of its own."""

    def create(self, req, image):
        base, properties, tags = image
        return service.create_image(req.context, base, properties, tags)

    def index(self, req, filters, marker, limit, sort_key, sort_dir,
              member_status):
        images, next_marker = service.list_images(
            req.context, filters, marker=marker, limit=limit,
            sort_key=sort_key, sort_dir=sort_dir,
            member_status=member_status)
        return {"images": images, "next_marker": next_marker}

    def show(self, req, image_id):
        return service.get_image(req.context, image_id)

    def update(self, req, image_id, changes):
        # (op, the position in "/locations/N" or None, value)
        locations = [(c["op"], c["path"][1] if len(c["path"]) > 1 else None,
                      c.get("value"))
                     for c in changes if c["path"][0] == "locations"]
        return service.update_image(req.context, image_id,
                                    lambda work: apply_patch(work, changes),
                                    location_changes=locations)

    def delete(self, req, image_id):
        service.delete_image(req.context, image_id)


def apply_patch(work, changes):
    """Apply parsed JSON-patch operations to the service's working copy."""
    for change in changes:
        name = change["path"][0]
        if name == "locations":
            continue    # the service's (``location_changes``)
        if len(change["path"]) > 1:
            raise exception.Invalid(
                _("Invalid JSON pointer for this resource: '/%s'")
                % "/".join(change["path"]))
        if change["op"] == "remove":
            _remove(work, name)
        else:
            _set(work, name, change["value"], change["op"],
                 change["strict_add"])


def _set(work, name, value, op, strict_add):
    work.setdefault("written", set()).add(name)
    exists = name in work["base"] or name in work["properties"] or \
        name == "tags"
    if op == "add" and strict_add and exists and name != "tags":
        raise exception.Conflict(_("Property %s already present.") % name)
    if op == "replace" and not exists and name not in rules.BASE_ATTRIBUTES:
        raise exception.PropertyNotFound(name=name)
    if name == "tags":
        work["tags"] = rules.dedup(value)
    elif name in rules.BASE_ATTRIBUTES:
        work["base"][name] = value
    else:
        work["properties"][name] = value


def _remove(work, name):
    if name in rules.BASE_ATTRIBUTES:
        raise exception.AccessDenied(_("Property %s may not be removed.")
                                     % name)
    if name not in work["properties"]:
        raise exception.PropertyNotFound(name=name)
    del work["properties"][name]


class NoBodyDeserializer(wsgi.JSONRequestDeserializer):
    """For actions that take no body: refuse one (400), as Glance does."""

    def default(self, request):
        if self.has_body(request):
            raise webob.exc.HTTPBadRequest(
                explanation=_("A body is not expected with this request."))
        return {}

    def _body(self, request):
        if not self.has_body(request):
            raise webob.exc.HTTPBadRequest(
                explanation=_("Body expected in request."))
        return self.from_json(wsgi.read_body(request))


class RequestDeserializer(NoBodyDeserializer):
    """Validates bodies and queries into the controller's arguments."""

    def create(self, request):
        body = self._body(request)
        if not isinstance(body, dict):
            raise exception.Invalid(_("Image body must be a JSON object."))
        for key in body:
            try:
                rules.check_writable(key, creating=True)
            except exception.ReservedProperty:
                if not key.startswith("os_glance"):
                    raise
                # Glance words these so on create only
                raise exception.ReservedPropertyOnCreate(
                    property=key) from None
            _check_property_name(key)
        schemas.get_image_schema().validate(body)
        return {"image": rules.split_body(body)}

    def update(self, request):
        media_type = request.content_type
        if media_type not in json_patch.MEDIA_TYPES:
            allowed = ", ".join(sorted(json_patch.MEDIA_TYPES))
            raise webob.exc.HTTPUnsupportedMediaType(
                detail=_("Image PATCH expects Content-Type one of: %s")
                % allowed, headers=[("Accept-Patch", allowed)])
        changes = json_patch.parse(self._body(request), media_type)
        image_schema = schemas.get_image_schema()
        for change in changes:
            name = change["path"][0]
            if name == "locations":
                _validate_locations_value(change, image_schema)
                continue
            rules.check_writable(name)
            _check_property_name(name)
            if "value" in change:
                image_schema.validate({name: change["value"]})
        return {"changes": changes}

    def index(self, request):
        self.default(request)
        params = request.params
        sort_key, sort_dir = list_params.parse_sort(params)
        return {"filters": list_params.parse_filters(params),
                "marker": params.get("marker"),
                "limit": list_params.parse_limit(params),
                "sort_key": sort_key, "sort_dir": sort_dir,
                "member_status": list_params.parse_member_status(params)}


def _validate_locations_value(change, image_schema):
    """A location change's value must match the schema (400), before the
    service refuses the change itself (403), as in Glance."""
    if "value" not in change:
        return
    value = change["value"]
    if len(change["path"]) > 1:    # /locations/N: one location
        value = [value]
    image_schema.validate({"locations": value})


def _check_property_name(name):
    if len(name) > 255:
        raise exception.Invalid(
            _("Custom property should not be greater than 255 "
              "characters."))


class ResponseSerializer(wsgi.JSONResponseSerializer):
    """Renders images as Glance's image documents."""

    def _image(self, response, image, status=200):
        response.status_int = status
        self.default(response, image_views.render_image(
            image, _context(response)))

    def create(self, response, image):
        self._image(response, image, status=201)
        response.location = "/v2/images/%s" % image["id"]
        methods = CONF.enabled_import_methods
        if methods:
            response.headers["OpenStack-image-import-methods"] = \
                ",".join(methods)
        store_ids = discovery.store_ids()
        if store_ids:
            response.headers["OpenStack-image-store-ids"] = \
                ",".join(store_ids)

    def show(self, response, image):
        self._image(response, image)

    def update(self, response, image):
        self._image(response, image)

    def delete(self, response, result):
        response.status_int = 204

    def index(self, response, result):
        # a repeated parameter shows once, with its last value, in its
        # first place (as Glance builds these links from a dict)
        params = [(k, v) for k, v in dict(response.request.params).items()
                  if k != "marker"]
        context = _context(response)
        options = image_views.ViewOptions()
        body = {"images": [image_views.render_image(i, context, options)
                           for i in result["images"]],
                "first": _images_url(params),
                "schema": "/v2/schemas/images"}
        if result["next_marker"]:
            body["next"] = _images_url(params + [("marker",
                                                  result["next_marker"])])
        self.default(response, body)


def _context(response):
    return getattr(response.request, "context", None)


def _images_url(params):
    if not params:
        return "/v2/images"
    return "/v2/images?%s" % urllib.parse.urlencode(params)


def create_resource():
    """The images resource."""
    return wsgi.Resource(ImagesController(), RequestDeserializer(),
                         ResponseSerializer())
