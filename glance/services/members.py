"""Image sharing: members of ``shared`` images and their statuses."""
from oslo_config import cfg

from glance.api import policy
from glance.common import exception
from glance.db import api as db
from glance.i18n import _
from glance.services import images as image_service

CONF = cfg.CONF

MEMBER_STATUSES = ("pending", "accepted", "rejected")


def _shared_image(context, image_id):
    image = image_service.find_image(context, image_id)
    if image["visibility"] != "shared":
        raise exception.Forbidden(_("Only shared images have members."))
    return image


def list_members(context, image_id):
    """All members for the owner and admins, one's own for a member."""
    image = _shared_image(context, image_id)
    policy.enforce(context, "get_members",
                   policy.member_target(image, context))
    members = db.image_member_find(image_id=image_id)
    if context.is_admin or image["owner"] == context.project_id:
        return members
    return [m for m in members if m["member"] == context.project_id]


def get_member(context, image_id, member_id):
    image = _shared_image(context, image_id)
    member = _find(image_id, member_id)
    if not (context.is_admin or image["owner"] == context.project_id
            or member_id == context.project_id):
        raise exception.MemberNotFound(member_id=member_id,
                                       image_id=image_id)
    policy.enforce(context, "get_member", policy.member_target(image, context))
    return member


def add_member(context, image_id, member_id):
    image = _shared_image(context, image_id)
    policy.enforce(context, "add_member", policy.member_target(image, context))
    try:
        # the duplicate and quota checks happen with the image locked
        return db.image_member_create(
            image_id, member_id, max_members=CONF.image_member_quota)
    except exception.Duplicate:
        raise exception.Duplicate(
            _("Member %(member)s is duplicated for image %(image)s")
            % {"member": member_id, "image": image_id})


def update_member(context, image_id, member_id, status):
    """Only the member project itself may accept or reject."""
    image = _shared_image(context, image_id)
    member = _find(image_id, member_id)
    policy.enforce(context, "modify_member",
                   policy.member_target(image, context))
    if member_id != context.project_id and not context.is_admin:
        raise exception.Forbidden(
            _("Only the member project may change its status"))
    if status not in MEMBER_STATUSES:
        raise exception.Invalid(_("Invalid status: %s") % status)
    return db.image_member_update(member["id"], {"status": status})


def delete_member(context, image_id, member_id):
    image = _shared_image(context, image_id)
    member = _find(image_id, member_id)
    policy.enforce(context, "delete_member",
                   policy.member_target(image, context))
    db.image_member_delete(member["id"])


def _find(image_id, member_id):
    found = db.image_member_find(image_id=image_id, member=member_id)
    if not found:
        raise exception.MemberNotFound(member_id=member_id,
                                       image_id=image_id)
    return found[0]
