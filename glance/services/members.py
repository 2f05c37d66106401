"""Image sharing: members of ``shared`` images and their statuses."""
from oslo_config import cfg

from glance import policy
from glance.common import exception
from glance.db import api as db
from glance.i18n import _
from glance import notifier
from glance.services import images as image_service

CONF = cfg.CONF

MEMBER_STATUSES = ("pending", "accepted", "rejected")


# What Glance answers for the members of an image that is not shared.
_NOT_SHARED = {
    "list": (exception.Forbidden, _("Not allowed to list members for image "
                                    "%s: Only shared images have members.")),
    "get": (exception.NotFound, _("Only shared images have members.")),
    "create": (exception.Forbidden,
               _("Not allowed to create members for image %s.")),
    "update": (exception.Forbidden,
               _("Not allowed to update members for image %s.")),
    "delete": (exception.Forbidden,
               _("Not allowed to delete members for image %s.")),
}


def _shared_image(context, image_id, action):
    image = image_service.find_image(context, image_id,
                                     _("Image %s not found."))
    if image["visibility"] != "shared":
        error, message = _NOT_SHARED[action]
        raise error(message % image_id if "%s" in message else message)
    return image


def list_members(context, image_id):
    """All members for the owner and admins, one's own for a member."""
    image = _shared_image(context, image_id, "list")
    policy.enforce(context, "get_members",
                   policy.member_target(image, context))
    members = db.image_member_find(image_id=image_id)
    if context.is_admin or image["owner"] == context.project_id:
        return members
    return [m for m in members if m["member"] == context.project_id]


def get_member(context, image_id, member_id):
    image = _shared_image(context, image_id, "get")
    member = _find(context, image, member_id)
    policy.enforce(context, "get_member", policy.member_target(image, context))
    return member


def add_member(context, image_id, member_id):
    image = _shared_image(context, image_id, "create")
    policy.enforce(context, "add_member", policy.member_target(image, context))
    try:
        # the duplicate and quota checks happen with the image locked
        member = db.image_member_create(
            image_id, member_id, max_members=CONF.image_member_quota)
    except exception.Duplicate:
        raise exception.Duplicate(
            _("Member %(member)s is duplicated for image %(image)s")
            % {"member": member_id, "image": image_id})
    except exception.ImageMemberLimitExceeded as e:
        raise exception.ImageMemberLimitExceeded(
            _("Image member limit exceeded for image %(id)s: %(e)s:")
            % {"id": image_id, "e": e}) from None
    return notifier.member_event("image.member.create", member)


def update_member(context, image_id, member_id, status):
    """Only the member project itself may accept or reject."""
    image = _shared_image(context, image_id, "update")
    member = _find(context, image, member_id)
    policy.enforce(context, "modify_member",
                   policy.member_target(image, context))
    if member_id != context.project_id and not context.is_admin:
        raise exception.Forbidden(
            _("Only the member project may change its status"))
    if status not in MEMBER_STATUSES:
        raise exception.Invalid(_("Invalid status: %s") % status)
    return notifier.member_event(
        "image.member.update",
        db.image_member_update(member["id"], {"status": status}))


def delete_member(context, image_id, member_id):
    image = _shared_image(context, image_id, "delete")
    member = _find(context, image, member_id)
    policy.enforce(context, "delete_member",
                   policy.member_target(image, context))
    db.image_member_delete(member["id"])
    notifier.member_event("image.member.delete", member, deleted=True)


def _find(context, image, member_id):
    """The member; a project other than the owner sees only itself in
    the member list (404 for the others), as in Glance."""
    image_id = image["id"]
    found = None
    if context.is_admin or image["owner"] == context.project_id \
            or member_id == context.project_id:
        found = db.image_member_find(image_id=image_id, member=member_id)
    if not found:
        raise exception.MemberNotFound(member_id=member_id,
                                       image_id=image_id)
    return found[0]
