"""``POST /v2/images/{id}/import``: start an interoperable image import.

Answers 202 with an empty body; the work runs as an ``api_image_import``
task (see ``glance.services.image_import``).
"""
import webob

from glance.api.v2 import images
from glance.common import exception
from glance.common import wsgi
from glance.i18n import _
from glance.services import image_import as service


class ImageImportController:
    def import_image(self, req, image_id, body):
        service.import_image(req.context, image_id, body,
                             store_header=req.headers.get(
                                 "x-image-meta-store"))
        return webob.Response(status=202, content_type=None)


class RequestDeserializer(images.NoBodyDeserializer):
    def import_image(self, request):
        body = self._body(request)
        if not isinstance(body, dict) or "method" not in body:
            raise exception.Invalid(_("Import request requires a 'method' "
                                      "field."))
        return {"body": body}


def create_resource():
    return wsgi.Resource(ImageImportController(), RequestDeserializer())
