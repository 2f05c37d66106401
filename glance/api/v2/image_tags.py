"""``/v2/images/{id}/tags/{tag}``: add and remove one tag."""
from glance.api.v2 import images
from glance.api.v2 import schemas
from glance.common import wsgi
from glance.services import images as service


class TagsController:
    def update(self, req, image_id, tag_value):
        # checked as a one-tag image document, for Glance's message
        schemas.get_image_schema().validate({"tags": [tag_value]})
        service.add_tag(req.context, image_id, tag_value)
        return wsgi.empty_response()

    def delete(self, req, image_id, tag_value):
        service.delete_tag(req.context, image_id, tag_value)
        return wsgi.empty_response()


def create_resource():
    return wsgi.Resource(TagsController(), images.NoBodyDeserializer())
