"""``/v2/images/{id}/members``: share an image with other projects."""
import webob

from glance.api.v2 import image_views
from glance.api.v2 import images
from glance.api.v2 import schemas
from glance.common import exception
from glance.common import wsgi
from glance.i18n import _
from glance.services import members as service


def render_member(member):
    return {"image_id": member["image_id"],
            "member_id": member["member"],
            "status": member["status"],
            "created_at": image_views.format_time(member["created_at"]),
            "updated_at": image_views.format_time(member["updated_at"]),
            "schema": "/v2/schemas/member"}


class MembersController:
    def index(self, req, image_id):
        members = service.list_members(req.context, image_id)
        return {"members": [render_member(m) for m in members],
                "schema": "/v2/schemas/members"}

    def show(self, req, image_id, member_id):
        return render_member(service.get_member(req.context, image_id,
                                                member_id))

    def create(self, req, image_id, member_id):
        return render_member(service.add_member(req.context, image_id,
                                                member_id))

    def update(self, req, image_id, member_id, status):
        return render_member(service.update_member(req.context, image_id,
                                                   member_id, status))

    def delete(self, req, image_id, member_id):
        service.delete_member(req.context, image_id, member_id)
        return webob.Response(status=204)


class RequestDeserializer(images.NoBodyDeserializer):
    def _object(self, request):
        body = self._body(request)
        if not isinstance(body, dict):
            raise exception.Invalid(_("Request body must be a JSON "
                                      "object."))
        return body

    def create(self, request):
        body = self._object(request)
        member = body.get("member")
        if member is None:
            raise exception.Invalid(_("Member to be added not specified"))
        if not isinstance(member, str) or not member.strip():
            raise exception.Invalid(_("Member must be a non-empty string"))
        if len(member) > 255:
            raise exception.Invalid(_("Member id must be at most 255 "
                                      "characters"))
        return {"member_id": member}

    def update(self, request):
        body = self._object(request)
        if "status" not in body:
            raise exception.Invalid(_("Status not specified"))
        if body["status"] not in service.MEMBER_STATUSES:
            raise exception.Invalid(_(
                'Incorrect request: Status must be "pending", "accepted" '
                'or "rejected".'))
        schemas.get_member_schema().validate({"status": body["status"]})
        return {"status": body["status"]}


def create_resource():
    return wsgi.Resource(MembersController(), RequestDeserializer())
