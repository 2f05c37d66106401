"""Delayed delete: images whose data waits for ``glance-scrubber``.

With ``delayed_delete`` a deleted image that has data is soft-deleted as
Glance does it, with status ``pending_delete``, its locations soft-deleted
with status ``pending_delete``: the data stays in the stores. The
scrubber then takes each location with a compare-and-set on its status
(``pending_delete`` -> ``deleting``), deletes the data, and marks it
``deleted``; a failed delete puts it back to ``pending_delete`` for the
next run. Two scrubbers at once never delete the same location twice:
only one wins the compare-and-set. A claim left ``deleting`` by a
scrubber that died is taken over after ``stale_after`` seconds (again a
compare-and-set, on its status and ``updated_at``). When no location is
left, the image goes ``pending_delete`` -> ``deleted``.

``image_restore`` brings a ``pending_delete`` image back to ``active``
with its properties, tags, members and the locations not yet scrubbed.
"""
import datetime

import sqlalchemy as sa

from glance.common import exception
from glance.db import common
from glance.db import images
from glance.db import models
from glance.db import session as db_session

IMAGE = common.IMAGE
PROPERTY = common.PROPERTY
TAG = common.TAG
LOCATION = common.LOCATION
MEMBER = models.ImageMember.__table__

PENDING = "pending_delete"
DELETING = "deleting"
DELETED = "deleted"


def image_destroy_delayed(image_id):
    """Soft-delete an image as ``pending_delete``, its locations too (the
    data stays); the image's dict as it was, with status
    ``pending_delete`` and the locations it had."""
    return images.soft_delete(image_id, PENDING)


def _locations_query(image_ids):
    return (sa.select(LOCATION)
            .where(LOCATION.c.image_id.in_(image_ids),
                   LOCATION.c.status.in_((PENDING, DELETING)))
            .order_by(LOCATION.c.id))


def pending_images(deleted_before, limit=1000, marker=None):
    """``pending_delete`` images deleted before ``deleted_before``, oldest
    first, ``limit`` at a time after ``marker`` (an image id): dicts of
    ``id``, ``deleted_at`` and ``locations`` (those still
    ``pending_delete`` or ``deleting``, with ``updated_at``)."""
    query = (sa.select(IMAGE.c.id, IMAGE.c.deleted_at)
             .where(IMAGE.c.status == PENDING,
                    IMAGE.c.deleted_at <= deleted_before)
             .order_by(IMAGE.c.id).limit(limit))
    if marker is not None:
        query = query.where(IMAGE.c.id > marker)
    with db_session.connection(write=False) as session:
        rows = session.execute(query).all()
        images = {row.id: {"id": row.id, "deleted_at": row.deleted_at,
                           "locations": []} for row in rows}
        if images:
            for loc in session.execute(_locations_query(list(images))):
                entry = common.location_dict(loc)
                entry["updated_at"] = loc.updated_at
                images[loc.image_id]["locations"].append(entry)
    return list(images.values())


def location_claim(location, stale_after=None):
    """Take ``location`` for deletion (compare-and-set from
    ``pending_delete``, or from a ``deleting`` claim older than
    ``stale_after`` seconds); whether this caller got it."""
    now = models.utcnow()
    query = sa.update(LOCATION).where(LOCATION.c.id == location["id"])
    if location["status"] == PENDING:
        query = query.where(LOCATION.c.status == PENDING)
    elif location["status"] == DELETING and stale_after is not None and \
            location["updated_at"] <= now - datetime.timedelta(
                seconds=stale_after):
        query = query.where(LOCATION.c.status == DELETING,
                            LOCATION.c.updated_at == location["updated_at"])
    else:
        return False
    with db_session.connection(write=True) as session:
        return session.execute(
            query.values(status=DELETING, updated_at=now)).rowcount == 1


def location_release(location_id, scrubbed):
    """End a claim: ``deleted`` when the data is gone, else back to
    ``pending_delete`` (for the next run)."""
    now = models.utcnow()
    with db_session.connection(write=True) as session:
        session.execute(
            sa.update(LOCATION)
            .where(LOCATION.c.id == location_id,
                   LOCATION.c.status == DELETING)
            .values(status=DELETED if scrubbed else PENDING,
                    updated_at=now))


def image_scrubbed(image_id):
    """``pending_delete`` -> ``deleted`` once no location of the image
    waits; whether the image moved."""
    now = models.utcnow()
    waiting = (sa.select(LOCATION.c.id)
               .where(LOCATION.c.image_id == image_id,
                      LOCATION.c.status.in_((PENDING, DELETING)))
               .exists())
    with db_session.connection(write=True) as session:
        return session.execute(
            sa.update(IMAGE)
            .where(IMAGE.c.id == image_id, IMAGE.c.status == PENDING,
                   ~waiting)
            .values(status=DELETED, updated_at=now)).rowcount == 1


def image_restore(image_id):
    """``pending_delete`` -> ``active``: the image, its properties, tags
    and members deleted with it, and its locations still
    ``pending_delete``; the restored image's dict. Conflict if the image
    is not ``pending_delete`` or none of its data is left."""
    now = models.utcnow()
    with db_session.connection(write=True) as session:
        row = common.image_row(session, image_id, include_deleted=True)
        if row.status != PENDING:
            raise exception.Conflict(
                "Image %s is %s, not pending_delete" % (image_id,
                                                        row.status))
        revived = session.execute(
            sa.update(LOCATION)
            .where(LOCATION.c.image_id == image_id,
                   LOCATION.c.status == PENDING)
            .values(status="active", deleted=False, deleted_at=None,
                    updated_at=now)).rowcount
        if not revived:
            raise exception.Conflict(
                "Image %s has no data left to restore: the scrubber "
                "deleted it or is deleting it" % image_id)
        done = session.execute(
            sa.update(IMAGE)
            .where(IMAGE.c.id == image_id, IMAGE.c.status == PENDING)
            .values(status="active", deleted=False, deleted_at=None,
                    updated_at=now))
        if done.rowcount != 1:
            raise exception.Conflict("Image %s changed status meanwhile"
                                     % image_id)
        for table in (PROPERTY, TAG, MEMBER):
            session.execute(sa.update(table)
                            .where(table.c.image_id == image_id,
                                   table.c.deleted == sa.true(),
                                   table.c.deleted_at == row.deleted_at)
                            .values(deleted=False, deleted_at=None,
                                    updated_at=now))
        return common.load_image(session, image_id)
