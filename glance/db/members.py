"""Image memberships: which projects an image is shared with.

A membership is a row per (image, member project) with the member's answer
('pending', 'accepted', 'rejected'). Deleting one is a soft delete, so the
same project may be added again later.
"""
import sqlalchemy as sa

from glance.common import exception
from glance.db import common
from glance.db import direct_read
from glance.db import models
from glance.db import session as db_session

Member = models.ImageMember
MEMBER = Member.__table__
STATUSES = ("pending", "accepted", "rejected")
_UPDATABLE = frozenset(("status", "can_share"))


# a membership's dict: these keys, in this order
_FIELDS = ("id", "image_id", "member", "status", "can_share", "created_at",
           "updated_at", "deleted", "deleted_at")


def _member_dict(row):
    return {name: getattr(row, name) for name in _FIELDS}


def _check_status(status):
    if status not in STATUSES:
        raise exception.InvalidParameterValue(
            value=status, param="status",
            extra_msg="must be one of %s" % ", ".join(STATUSES))


def _not_found(member_id):
    return exception.MemberNotFound(
        "Image membership %s not found" % member_id, member_id=member_id)


def _member_pk(member_id):
    try:
        return int(member_id)
    except (TypeError, ValueError):
        raise _not_found(member_id) from None


def _member_row(session, member_id):
    row = session.scalars(sa.select(Member).where(
        Member.id == _member_pk(member_id), common.live(Member))).first()
    if row is None:
        raise _not_found(member_id)
    return row


def image_member_create(image_id, member, status="pending",
                        max_members=None):
    """Share an image with project ``member``; the membership dict.

    ImageNotFound if the image is not live, Duplicate if the project is
    already a member, ImageMemberLimitExceeded if the image has
    ``max_members`` (when given and not negative) already. The image row
    is locked meanwhile: the unique index cannot tell two live rows of
    one member apart (deleted ones share the key), so two concurrent
    calls must not both find the member missing.
    """
    common.check_string("member", member, 255)
    _check_status(status)
    now = models.utcnow()
    with db_session.writer() as session:
        common.image_row(session, image_id, lock=True)
        members = session.execute(sa.select(Member.member).where(
            Member.image_id == image_id, common.live(Member))).scalars().all()
        if member in members:
            raise exception.Duplicate(
                "Project %s is already a member of image %s"
                % (member, image_id))
        if max_members is not None and 0 <= max_members <= len(members):
            raise exception.ImageMemberLimitExceeded(
                attempted=len(members) + 1, maximum=max_members)
        result = session.execute(sa.insert(MEMBER).values(
            image_id=image_id, member=member, status=status,
            can_share=False, created_at=now, updated_at=now,
            deleted=False))
        member_id = result.inserted_primary_key[0]
    return {"id": member_id, "image_id": image_id, "member": member,
            "status": status, "can_share": False, "created_at": now,
            "updated_at": now, "deleted": False, "deleted_at": None}


_CRITERIA = ("image_id", "member", "status")
# one statement per set of criteria given, read past Core: a member's GET
# of a shared image asks (image_id, member) every time, and the members
# API asks the rest (the ORM query cost a member's GET more than the
# image's own read)
_FINDS = {}


def _find(criteria):
    read = _FINDS.get(criteria)
    if read is None:
        image = models.Image.__table__
        query = (sa.select(*(MEMBER.c[name] for name in _FIELDS))
                 .join(image, image.c.id == MEMBER.c.image_id)
                 .where(common.live(MEMBER.c), common.live(image.c),
                        *(MEMBER.c[name] == sa.bindparam(name)
                          for name in criteria))
                 .order_by(MEMBER.c.created_at, MEMBER.c.id))
        read = _FINDS[criteria] = direct_read.DirectRead(query)
    return read


def image_member_find(image_id=None, member=None, status=None):
    """Live memberships of live images matching the given criteria."""
    given = {name: value for name, value in zip(
        _CRITERIA, (image_id, member, status), strict=True)
        if value is not None}
    rows = _find(tuple(given)).all(given)
    return [dict(zip(_FIELDS, row, strict=True)) for row in rows]


def image_member_exists(image_id, member):
    """Whether ``member`` holds a live membership (any status) of the
    live image ``image_id``."""
    return bool(_find(("image_id", "member")).all(
        {"image_id": image_id, "member": member}))


def image_member_update(member_id, values):
    """Change a membership's ``status`` (or ``can_share``); its dict."""
    changes = {}
    for key, value in values.items():
        if key not in _UPDATABLE:
            raise exception.Invalid("Unknown membership attribute %r" % key)
        changes[key] = value
    if "status" in changes:
        _check_status(changes["status"])
    changes["updated_at"] = models.utcnow()
    with db_session.writer() as session:
        row = _member_row(session, member_id)
        session.execute(sa.update(MEMBER).where(MEMBER.c.id == row.id)
                        .values(**changes))
        session.expire(row)
        return _member_dict(_member_row(session, row.id))


def image_member_delete(member_id):
    """Soft-delete a membership (MemberNotFound if absent)."""
    now = models.utcnow()
    with db_session.writer() as session:
        done = session.execute(
            sa.update(MEMBER)
            .where(MEMBER.c.id == _member_pk(member_id),
                   MEMBER.c.deleted == sa.false())
            .values(deleted=True, deleted_at=now, updated_at=now))
        if done.rowcount != 1:
            raise _not_found(member_id)


def image_member_count(image_id):
    """How many live memberships an image has."""
    query = (sa.select(sa.func.count()).select_from(Member)
             .where(Member.image_id == image_id, common.live(Member)))
    with db_session.reader() as session:
        return int(session.execute(query).scalar_one())
