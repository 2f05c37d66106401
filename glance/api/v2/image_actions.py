"""``/v2/images/{id}/actions/deactivate`` and ``/reactivate``."""
from glance.api.v2 import images
from glance.common import wsgi
from glance.services import images as service


class ImageActionsController:
    def deactivate(self, req, image_id):
        service.deactivate(req.context, image_id)
        return wsgi.empty_response()

    def reactivate(self, req, image_id):
        service.reactivate(req.context, image_id)
        return wsgi.empty_response()


def create_resource():
    return wsgi.Resource(ImageActionsController(),
                         images.NoBodyDeserializer())
