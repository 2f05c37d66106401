"""What a project uses, counted as Glance counts it for Keystone's unified
limits (``glance.services.quota``).

Each function takes the owner (a project id, or None) and returns bytes or
a count, from one query. Rows are chosen by ``status``, not by the soft
delete flag, as Glance chooses them: a ``pending_delete`` image still holds
its data (and counts) until ``glance-scrubber`` removes it; ``killed`` and
``deleted`` ones count for nothing.
"""
import sqlalchemy as sa

from glance.db import common
from glance.db import session as db_session

IMAGE = common.IMAGE
PROPERTY = common.PROPERTY
LOCATION = common.LOCATION

# the property an import (copy-image included) lists its target stores in
IMPORTING_TO_STORES = "os_glance_importing_to_stores"
GONE = ("killed", "deleted")
STAGING = ("uploading", "importing")
UPLOADING = ("saving", "uploading", "importing")


def _scalar(query):
    with db_session.connection(write=False) as session:
        return int(session.execute(query).scalar_one() or 0)


def _importing_to_stores():
    """EXISTS: the image is being imported to some store (its live
    ``os_glance_importing_to_stores`` property is not empty)."""
    return sa.exists().where(PROPERTY.c.image_id == IMAGE.c.id,
                             PROPERTY.c.name == IMPORTING_TO_STORES,
                             PROPERTY.c.value != "",
                             common.live(PROPERTY.c))


def stored_bytes(owner):
    """Bytes of ``owner``'s image data in the stores: each image's size
    once per location it has (a copied image counts in every store)."""
    query = (sa.select(sa.func.coalesce(sa.func.sum(IMAGE.c.size), 0))
             .select_from(IMAGE.join(LOCATION,
                                     LOCATION.c.image_id == IMAGE.c.id))
             .where(IMAGE.c.owner == owner, IMAGE.c.size > 0,
                    IMAGE.c.status.notin_(GONE),
                    LOCATION.c.status != "deleted"))
    return _scalar(query)


def staged_bytes(owner):
    """Bytes ``owner``'s images hold in the staging area: the images
    staged or being imported, and the active ones being copied to
    another store (copy-image goes through staging)."""
    query = (sa.select(sa.func.coalesce(sa.func.sum(IMAGE.c.size), 0))
             .where(IMAGE.c.owner == owner, IMAGE.c.size > 0,
                    sa.or_(IMAGE.c.status.in_(STAGING),
                           sa.and_(IMAGE.c.status.notin_(GONE),
                                   _importing_to_stores()))))
    return _scalar(query)


def image_count(owner):
    """How many images ``owner`` has (killed and deleted ones aside)."""
    query = (sa.select(sa.func.count()).select_from(IMAGE)
             .where(IMAGE.c.owner == owner, IMAGE.c.status.notin_(GONE)))
    return _scalar(query)


def uploading_count(owner):
    """How many of ``owner``'s images are taking data now: uploaded,
    staged, imported, or copied to another store."""
    query = (sa.select(sa.func.count()).select_from(IMAGE)
             .where(IMAGE.c.owner == owner,
                    sa.or_(IMAGE.c.status.in_(UPLOADING),
                           sa.and_(IMAGE.c.status.notin_(GONE),
                                   _importing_to_stores()))))
    return _scalar(query)
