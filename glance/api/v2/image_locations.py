"""``/v2/images/{id}/locations`` (API 2.17): add an http(s) location to a
queued image (202; the data is hashed in the background), list an
image's locations (service users); ``/v2/stores/{store}/{id}`` (API
2.10): remove the copy of an image's data in one store (204)."""
import webob

from glance.api.v2 import images
from glance.common import exception
from glance.common import wsgi
from glance.i18n import _
from glance.services import image_locations as service

MAX_URL_LENGTH = 255


class LocationsController:
    def get_locations(self, req, image_id):
        return service.get_locations(req.context, image_id)

    def add_location(self, req, image_id, url, validation_data):
        service.add_location(req.context, image_id, url, validation_data)
        return webob.Response(status=202)

    def delete_from_store(self, req, store_id, image_id):
        service.delete_from_store(req.context, image_id, store_id)
        return webob.Response(status=204)


class RequestDeserializer(images.NoBodyDeserializer):
    def add_location(self, request):
        body = self._body(request)
        if not isinstance(body, dict):
            raise exception.Invalid(_("Request body must be a JSON "
                                      "object."))
        extra = sorted(set(body) - {"url", "validation_data"})
        if extra:
            raise exception.Invalid(
                _("Additional properties are not allowed (%s)")
                % ", ".join(extra))
        url = body.get("url")
        if not isinstance(url, str) or not url:
            raise exception.Invalid(_("'url' must be a non-empty string"))
        if len(url) > MAX_URL_LENGTH:
            raise exception.Invalid(_("'url' is longer than %d characters")
                                    % MAX_URL_LENGTH)
        validation_data = body.get("validation_data") or {}
        if not isinstance(validation_data, dict):
            raise exception.Invalid(_("'validation_data' must be an "
                                      "object"))
        return {"url": url, "validation_data": validation_data}


def create_resource():
    return wsgi.Resource(LocationsController(), RequestDeserializer())
