"""Image records: create, read, update, soft-delete, counts and usage.

Also the pieces of an image stored in side tables: tags and locations.
Listing images (filters, visibility, sorting, pagination) lives in
``glance.db.image_query``.
"""
import uuid

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from glance.common import exception
from glance.db import common
from glance.db import direct_read
from glance.db import models
from glance.db import session as db_session

IMAGE = common.IMAGE
PROPERTY = common.PROPERTY
TAG = common.TAG
LOCATION = common.LOCATION
MEMBER = models.ImageMember.__table__

CREATE_DEFAULTS = {"status": "queued", "visibility": "shared",
                   "protected": False, "os_hidden": False,
                   "min_disk": 0, "min_ram": 0}
# Keys of an image dict that callers cannot set; ignored so a caller may
# hand back a dict it read.
_READ_ONLY = frozenset(("deleted", "deleted_at", "locations"))
_SET_ON_CREATE_ONLY = frozenset(("id", "created_at", "updated_at"))
_COLUMNS = frozenset(common.IMAGE_COLUMNS) - _READ_ONLY
_NOT_NULL = frozenset(c.name for c in IMAGE.columns if not c.nullable)


def _split_values(values, creating):
    """``(base columns, properties or None, tags or None)`` of ``values``."""
    base = {}
    properties = tags = None
    for key, value in (values or {}).items():
        if key == "properties":
            properties = _check_properties(value)
        elif key == "tags":
            tags = common.normalize_tags(value)
        elif key in _READ_ONLY or (
                not creating and key in _SET_ON_CREATE_ONLY):
            continue
        elif key in _COLUMNS:
            if value is None and key in _NOT_NULL and not creating:
                raise exception.Invalid("Image %s cannot be null" % key)
            base[key] = value
        else:
            raise exception.Invalid("Unknown image attribute %r" % key)
    if base.get("visibility", "shared") not in common.VISIBILITIES:
        raise exception.InvalidParameterValue(
            value=base["visibility"], param="visibility",
            extra_msg="must be one of %s" % ", ".join(common.VISIBILITIES))
    return base, properties, tags


def _check_properties(properties):
    if not isinstance(properties, dict):
        raise exception.Invalid("properties must be a dict")
    for name, value in properties.items():
        common.check_string("property name", name, 255)
        if value is not None:
            common.check_string("value of property %r" % name, value)
    return properties


def image_create(values):
    """Create an image (with ``properties`` and ``tags``); its dict.

    The id is generated unless given; an id ever used, even by a deleted
    image, is a Duplicate. All or nothing: one transaction.
    """
    base, properties, tags = _split_values(values, creating=True)
    for key, default in CREATE_DEFAULTS.items():
        if base.get(key) is None:
            base[key] = default
    image_id = base.get("id") or str(uuid.uuid4())
    common.check_string("image id", image_id, 36)
    now = models.utcnow()
    base["id"] = image_id
    base["created_at"] = base.get("created_at") or now
    base["updated_at"] = base.get("updated_at") or base["created_at"]
    base.update(deleted=False, deleted_at=None)
    try:
        with db_session.connection(write=True) as session:
            _check_unused_id(session, image_id)
            session.execute(sa.insert(IMAGE).values(**base))
            _set_properties(session, image_id, properties or {}, False, now)
            _add_tags(session, image_id, tags or [], now)
    except sa_exc.IntegrityError as e:
        raise exception.Duplicate(
            "Image %s already exists or violates a constraint" % image_id
        ) from e
    image = {name: base.get(name) for name in common.IMAGE_COLUMNS}
    image.update(properties=dict(properties or {}), tags=tags or [],
                 locations=[])
    return image


_ANY_IMAGE_ID = sa.select(IMAGE.c.id).where(
    IMAGE.c.id == sa.bindparam("image_id"))


def _check_unused_id(session, image_id):
    if session.execute(_ANY_IMAGE_ID,
                       {"image_id": image_id}).first() is not None:
        raise exception.Duplicate("Image ID %s already exists" % image_id)


_IMAGE_READ = {flag: direct_read.DirectRead(statement)
               for flag, statement in common.IMAGE_WITH_CHILDREN.items()}


def image_get(image_id, include_deleted=False):
    """The dict of an image (ImageNotFound if absent or deleted)."""
    rows = _IMAGE_READ[include_deleted].all({"image_id": image_id})
    return common.image_from_rows(image_id, rows)


def image_update(image_id, values, purge_props=False, from_state=None,
                 expected_props=None):
    """Change an image; its new dict.

    ``properties`` are set (with ``purge_props``, every property not named
    is deleted, even when ``properties`` is absent); ``tags`` replace all
    tags. With ``from_state`` the change happens only if the status is
    still ``from_state``, and with ``expected_props`` (name -> value, None
    for absent) only if those properties still hold those values; else
    Conflict and nothing changes.
    """
    base, properties, tags = _split_values(values, creating=False)
    now = models.utcnow()
    base["updated_at"] = now
    with db_session.connection(write=True) as session:
        query = (sa.update(IMAGE)
                 .where(IMAGE.c.id == image_id, common.live(IMAGE.c))
                 .values(**base))
        if from_state is not None:
            query = query.where(IMAGE.c.status == from_state)
        if session.execute(query).rowcount != 1:
            row = common.image_row(session, image_id)
            raise exception.Conflict(
                "Image %s is %s, not %s" % (image_id, row.status,
                                            from_state))
        if expected_props:
            # the UPDATE above holds the image row: no one changes the
            # properties between this check and the commit
            _check_expected_properties(session, image_id, expected_props)
        if properties is not None or purge_props:
            _set_properties(session, image_id, properties or {},
                            purge_props, now)
        if tags is not None:
            _replace_tags(session, image_id, tags, now)
        return common.load_image(session, image_id)


def _check_expected_properties(session, image_id, expected):
    rows = session.execute(
        sa.select(PROPERTY.c.name, PROPERTY.c.value)
        .where(PROPERTY.c.image_id == image_id,
               PROPERTY.c.name.in_(list(expected)), common.live(PROPERTY.c))
        .with_for_update()).all()
    current = {row.name: row.value for row in rows}
    for name, value in expected.items():
        if current.get(name) != value:
            raise exception.Conflict(
                "Image %s has %s=%r, not %r" % (image_id, name,
                                                current.get(name), value))


def _set_properties(session, image_id, properties, purge, now):
    """Upsert properties (reviving deleted rows); optionally purge."""
    rows = session.execute(
        sa.select(PROPERTY.c.id, PROPERTY.c.name, PROPERTY.c.value,
                  PROPERTY.c.deleted)
        .where(PROPERTY.c.image_id == image_id)).all()
    existing = {row.name: row for row in rows}
    new = [{"image_id": image_id, "name": name, "value": value,
            "created_at": now, "updated_at": now, "deleted": False}
           for name, value in properties.items() if name not in existing]
    if new:
        session.execute(sa.insert(PROPERTY), new)
    for name, value in properties.items():
        row = existing.get(name)
        if row is not None and (row.deleted or row.value != value):
            session.execute(
                sa.update(PROPERTY).where(PROPERTY.c.id == row.id)
                .values(value=value, deleted=False, deleted_at=None,
                        updated_at=now))
    if purge:
        stale = [row.id for row in rows
                 if not row.deleted and row.name not in properties]
        if stale:
            session.execute(
                sa.update(PROPERTY).where(PROPERTY.c.id.in_(stale))
                .values(deleted=True, deleted_at=now, updated_at=now))


_LIVE_TAGS = (sa.select(TAG.c.value)
              .where(TAG.c.image_id == sa.bindparam("image_id"),
                     common.live(TAG.c))
              .order_by(TAG.c.id))


def _live_tags(session, image_id):
    return session.scalars(_LIVE_TAGS, {"image_id": image_id}).all()


def _add_tags(session, image_id, tags, now, existing=()):
    new = [{"image_id": image_id, "value": tag, "created_at": now,
            "updated_at": now, "deleted": False}
           for tag in tags if tag not in existing]
    if new:
        session.execute(sa.insert(TAG), new)
    return bool(new)


def _replace_tags(session, image_id, tags, now):
    """Make the live tags exactly ``tags``; True if anything changed."""
    existing = _live_tags(session, image_id)
    stale = [tag for tag in existing if tag not in tags]
    if stale:
        session.execute(
            sa.update(TAG)
            .where(TAG.c.image_id == image_id, TAG.c.value.in_(stale),
                   TAG.c.deleted == sa.false())
            .values(deleted=True, deleted_at=now, updated_at=now))
    added = _add_tags(session, image_id, tags, now, existing=existing)
    return added or bool(stale)


def image_destroy(image_id):
    """Soft-delete an image and everything hanging off it.

    Returns the image's dict as it was, with status 'deleted'.
    """
    return soft_delete(image_id, "deleted")


def soft_delete(image_id, status):
    """Soft-delete an image, its properties, tags and members, and its
    locations, giving the image and its locations ``status`` ('deleted',
    or 'pending_delete' when the scrubber deletes the data later); the
    image's dict as it was, with the new status."""
    now = models.utcnow()
    with db_session.connection(write=True) as session:
        image = common.load_image(session, image_id)
        done = session.execute(
            sa.update(IMAGE)
            .where(IMAGE.c.id == image_id, common.live(IMAGE.c))
            .values(status=status, deleted=True, deleted_at=now,
                    updated_at=now))
        if done.rowcount != 1:
            raise exception.ImageNotFound(image_id=image_id)
        gone = {"deleted": True, "deleted_at": now, "updated_at": now}
        for table in (PROPERTY, TAG, MEMBER):
            session.execute(sa.update(table)
                            .where(table.c.image_id == image_id,
                                   table.c.deleted == sa.false())
                            .values(**gone))
        session.execute(sa.update(LOCATION)
                        .where(LOCATION.c.image_id == image_id,
                               LOCATION.c.deleted == sa.false())
                        .values(status=status, **gone))
    image.update(status=status, **gone)
    for loc in image["locations"]:
        loc["status"] = status
    return image


def image_count(project_id):
    """How many live images ``project_id`` owns."""
    return image_count_for_owner(project_id)


def image_count_for_owner(owner, status=None):
    """How many live images ``owner`` owns, optionally in ``status``.

    ``status`` may be a str or a list of statuses.
    """
    query = (sa.select(sa.func.count())
             .select_from(IMAGE)
             .where(IMAGE.c.owner == owner, common.live(IMAGE.c)))
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        query = query.where(IMAGE.c.status.in_(statuses))
    with db_session.connection(write=False) as session:
        return int(session.execute(query).scalar_one())


def user_get_storage_usage(owner, image_id=None):
    """Bytes used by ``owner``'s live images, not counting ``image_id``.

    Killed images hold no data and are not counted.
    """
    query = (sa.select(sa.func.coalesce(sa.func.sum(IMAGE.c.size), 0))
             .where(IMAGE.c.owner == owner, common.live(IMAGE.c),
                    IMAGE.c.status != "killed"))
    if image_id is not None:
        query = query.where(IMAGE.c.id != image_id)
    with db_session.connection(write=False) as session:
        return int(session.execute(query).scalar_one())


# Tags --------------------------------------------------------------------

def image_tag_get_all(image_id):
    """The tags of an image, in insertion order."""
    with db_session.connection(write=False) as session:
        common.check_image(session, image_id)
        return list(_live_tags(session, image_id))


def image_tag_create(image_id, tag):
    """Add a tag (nothing happens if it is already there); the tag."""
    tag = common.check_string("tag", tag, 255)
    now = models.utcnow()
    with db_session.connection(write=True) as session:
        common.check_image(session, image_id)
        if _add_tags(session, image_id, [tag], now,
                     existing=_live_tags(session, image_id)):
            common.touch_image(session, image_id, now)
    return tag


def image_tag_delete(image_id, tag):
    """Remove a tag; NotFound if the image does not have it."""
    now = models.utcnow()
    with db_session.connection(write=True) as session:
        common.check_image(session, image_id)
        done = session.execute(
            sa.update(TAG)
            .where(TAG.c.image_id == image_id, TAG.c.value == tag,
                   TAG.c.deleted == sa.false())
            .values(deleted=True, deleted_at=now, updated_at=now))
        if done.rowcount == 0:
            raise exception.NotFound("Tag %s not found on image %s"
                                     % (tag, image_id))
        common.touch_image(session, image_id, now)


def image_tag_set_all(image_id, tags):
    """Replace all tags of an image; the new tag list.

    Tags already present keep their place; new ones follow in order.
    """
    tags = common.normalize_tags(tags)
    now = models.utcnow()
    with db_session.connection(write=True) as session:
        common.check_image(session, image_id)
        if _replace_tags(session, image_id, tags, now):
            common.touch_image(session, image_id, now)
        return list(_live_tags(session, image_id))


# Locations ---------------------------------------------------------------

LOCATION_DELETE_STATUSES = ("deleted", "pending_delete")


def image_location_add(image_id, url, metadata=None, status="active"):
    """Record a location of an image's data; the location dict."""
    common.check_string("location url", url)
    common.check_string("location status", status, 30)
    now = models.utcnow()
    with db_session.connection(write=True) as session:
        common.check_image(session, image_id)
        result = session.execute(sa.insert(LOCATION).values(
            image_id=image_id, value=url, meta_data=metadata or {},
            status=status, created_at=now, updated_at=now, deleted=False))
        common.touch_image(session, image_id, now)
        location_id = result.inserted_primary_key[0]
    return {"id": location_id, "url": url, "metadata": metadata or {},
            "status": status}


def _location_row(session, location_id):
    try:
        pk = int(location_id)
    except (TypeError, ValueError):
        pk = None
    row = None if pk is None else session.execute(
        sa.select(LOCATION)
        .where(LOCATION.c.id == pk, common.live(LOCATION.c))).first()
    if row is None:
        raise exception.NotFound("Location %s not found" % location_id)
    return row


_LOCATION_KEYS = {"url": "value", "metadata": "meta_data",
                  "status": "status"}


def image_location_update(location_id, values):
    """Change a location's ``url``, ``metadata`` or ``status``; its dict."""
    changes = {}
    for key, value in values.items():
        if key not in _LOCATION_KEYS:
            raise exception.Invalid("Unknown location attribute %r" % key)
        changes[_LOCATION_KEYS[key]] = value
    now = models.utcnow()
    changes["updated_at"] = now
    with db_session.connection(write=True) as session:
        row = _location_row(session, location_id)
        session.execute(sa.update(LOCATION)
                        .where(LOCATION.c.id == row.id)
                        .values(**changes))
        common.touch_image(session, row.image_id, now)
        return common.location_dict(_location_row(session, row.id))


def image_location_delete(location_id, status="deleted"):
    """Soft-delete a location, marking it 'deleted' or 'pending_delete'."""
    if status not in LOCATION_DELETE_STATUSES:
        raise exception.Invalid("A deleted location's status must be one "
                                "of %s" % ", ".join(LOCATION_DELETE_STATUSES))
    now = models.utcnow()
    with db_session.connection(write=True) as session:
        row = _location_row(session, location_id)
        session.execute(sa.update(LOCATION)
                        .where(LOCATION.c.id == row.id)
                        .values(status=status, deleted=True, deleted_at=now,
                                updated_at=now))
        common.touch_image(session, row.image_id, now)
