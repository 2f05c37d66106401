"""``/v2/images/{id}/actions/deactivate`` and ``/reactivate``."""
import webob

from glance.api.v2 import images
from glance.common import wsgi
from glance.services import images as service


class ImageActionsController:
    def deactivate(self, req, image_id):
        service.deactivate(req.context, image_id)
        return webob.Response(status=204)

    def reactivate(self, req, image_id):
        service.reactivate(req.context, image_id)
        return webob.Response(status=204)


def create_resource():
    return wsgi.Resource(ImageActionsController(),
                         images.NoBodyDeserializer())
