"""``/v2/images/{id}/tags/{tag}``: add and remove one tag."""
from glance.api.v2 import images
from glance.common import exception
from glance.common import wsgi
from glance.i18n import _
from glance.services import images as service


class TagsController:
    def update(self, req, image_id, tag_value):
        if len(tag_value) > 255:
            raise exception.Invalid(
                _("Tag must be at most 255 characters long"))
        service.add_tag(req.context, image_id, tag_value)
        return wsgi.empty_response()

    def delete(self, req, image_id, tag_value):
        service.delete_tag(req.context, image_id, tag_value)
        return wsgi.empty_response()


def create_resource():
    return wsgi.Resource(TagsController(), images.NoBodyDeserializer())
