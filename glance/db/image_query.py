"""Listing images: who sees what, filters, sorting and marker pagination.

A page costs a constant number of statements: one for the marker, one for
the page of images, and one for the properties, tags and locations of all
the images on it. Queries are SQLAlchemy Core over the tables' columns
(``Image`` is ``images.c``), without the ORM.
"""
import datetime

import sqlalchemy as sa

from glance.common import exception
from glance.db import common
from glance.db import models
from glance.db import session as db_session

Image = common.IMAGE.c

SORT_KEYS = frozenset((
    "name", "status", "container_format", "disk_format", "size", "id",
    "created_at", "updated_at", "visibility", "owner", "min_disk",
    "min_ram", "virtual_size", "os_hidden"))
NULLABLE_SORT_KEYS = frozenset((
    "name", "container_format", "disk_format", "size", "updated_at",
    "owner", "virtual_size"))
MEMBER_STATUSES = ("accepted", "pending", "rejected", "all")

# Filters on a base column: a value, or a list meaning "any of" (in:).
COLUMN_FILTERS = frozenset((
    "name", "status", "owner", "disk_format", "container_format", "id",
    "checksum", "os_hash_value", "os_hash_algo"))
# Integer columns filtered by equality, as Glance filters any column; a
# value that is no integer ("gte:1") matches nothing.
INT_COLUMN_FILTERS = frozenset(("min_ram", "min_disk", "size",
                                "virtual_size"))
BOOL_FILTERS = frozenset(("protected", "os_hidden"))
DATE_FILTERS = frozenset(("created_at", "updated_at"))
DATE_OPERATORS = {
    "eq": lambda c, v: c == v, "neq": lambda c, v: c != v,
    "gt": lambda c, v: c > v, "gte": lambda c, v: c >= v,
    "lt": lambda c, v: c < v, "lte": lambda c, v: c <= v,
}


def image_get_all(filters=None, marker=None, limit=None, sort_key=None,
                  sort_dir=None, member_status="accepted", project_id=None,
                  is_admin=False):
    """One page of the images a viewer may list, as dicts.

    The viewer is ``project_id`` (None: anonymous) and ``is_admin``. See
    the module docstring of ``glance.db.api`` for filters and rules.
    """
    filters = dict(filters or {})
    limit = common.check_limit(limit)
    keys, dirs = common.sort_spec(sort_key, sort_dir, SORT_KEYS,
                                  "created_at", ("created_at", "id"))
    visibility = filters.pop("visibility", None)
    conditions = [common.live(Image),
                  viewer_clause(visibility, project_id, is_admin,
                                member_status)]
    conditions.extend(filter_clauses(filters))
    if limit == 0:
        return []
    with db_session.connection(write=False) as session:
        if marker is not None:
            marker_row = _marker_row(session, marker, project_id, is_admin)
            conditions.append(common.after_marker(Image, marker_row, keys,
                                                  dirs))
        query = (sa.select(common.IMAGE).where(*conditions)
                 .order_by(*common.order_by(Image, keys, dirs,
                                            NULLABLE_SORT_KEYS)))
        if limit is not None:
            query = query.limit(limit)
        rows = session.execute(query).all()
        return common.image_dicts(session, rows)


def _marker_row(session, marker, project_id, is_admin):
    query = sa.select(common.IMAGE).where(
        Image.id == marker, common.live(Image),
        viewer_clause("all", project_id, is_admin, "all"))
    row = session.execute(query).first()
    if row is None:
        raise exception.NotFound("Marker image %s not found" % marker)
    return row


def _membership(project_id, member_status):
    """EXISTS a live membership of ``project_id`` in the outer image."""
    member = models.ImageMember.__table__.c
    query = sa.select(member.id).where(
        member.image_id == Image.id, member.member == project_id,
        common.live(member))
    if member_status != "all":
        query = query.where(member.status == member_status)
    return query.exists()


def viewer_clause(visibility, project_id, is_admin, member_status):
    """Which images a viewer sees for a ``visibility`` filter (None: the
    default listing; 'all': everything they may see, community included).
    """
    if visibility not in (None, "all") + common.VISIBILITIES:
        raise exception.InvalidParameterValue(
            value=visibility, param="visibility",
            extra_msg="must be one of all, %s"
            % ", ".join(common.VISIBILITIES))
    if member_status not in MEMBER_STATUSES:
        raise exception.InvalidParameterValue(
            value=member_status, param="member_status",
            extra_msg="must be one of %s" % ", ".join(MEMBER_STATUSES))
    if is_admin:
        if visibility is None:
            # an admin's default listing leaves out the community images
            # of other projects, as Glance's does
            not_community = Image.visibility != "community"
            if project_id is None:
                return not_community
            return sa.or_(not_community, Image.owner == project_id)
        if visibility == "all":
            return sa.true()
        return Image.visibility == visibility
    public = Image.visibility == "public"
    community = Image.visibility == "community"
    if project_id is None:
        owned = member = sa.false()
    else:
        owned = Image.owner == project_id
        member = _membership(project_id, member_status)
    shared_with_me = sa.and_(Image.visibility == "shared", member)
    return {
        None: lambda: sa.or_(owned, public, shared_with_me),
        "all": lambda: sa.or_(owned, public, community, shared_with_me),
        "public": lambda: public,
        "community": lambda: community,
        "private": lambda: sa.and_(Image.visibility == "private", owned),
        "shared": lambda: sa.and_(Image.visibility == "shared",
                                  sa.or_(owned, member)),
    }[visibility]()


def filter_clauses(filters):
    """SQL conditions for the (visibility-less) ``filters`` dict."""
    clauses = []
    if "os_hidden" not in filters:
        clauses.append(Image.os_hidden == sa.false())
    for key, value in filters.items():
        if key in COLUMN_FILTERS:
            clauses.append(_match(getattr(Image, key), value))
        elif key in INT_COLUMN_FILTERS:
            clauses.append(_int_match(getattr(Image, key), value))
        elif key in BOOL_FILTERS:
            clauses.append(getattr(Image, key) == _to_bool(key, value))
        elif key in DATE_FILTERS:
            clauses.extend(_date_clauses(getattr(Image, key), value))
        elif key == "size_min":
            clauses.append(Image.size >= _to_int(key, value))
        elif key == "size_max":
            clauses.append(Image.size <= _to_int(key, value))
        elif key == "tags":
            clauses.extend(_tag_clause(tag) for tag in _as_list(value))
        else:
            clauses.append(_property_clause(key, value))
    return clauses


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _match(column, value):
    if isinstance(value, (list, tuple, set)):
        return column.in_(list(value))
    return column == value


def _int_match(column, value):
    try:
        return column == int(value)
    except (TypeError, ValueError):
        return sa.false()


def _to_bool(key, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise exception.InvalidParameterValue(value=value, param=key,
                                          extra_msg="must be a boolean")


def _to_int(key, value):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise exception.InvalidFilterRangeValue(
            "Filter %s needs an integer, not %r" % (key, value)) from None


def _date_clauses(column, value):
    if isinstance(value, (datetime.datetime, str)):
        value = [("eq", value)]
    elif isinstance(value, tuple) and len(value) == 2 and isinstance(
            value[0], str):
        value = [value]
    clauses = []
    for item in value:
        try:
            operator, when = item
        except (TypeError, ValueError):
            raise exception.InvalidFilterOperatorValue(
                "Date filters are (operator, datetime) pairs") from None
        if operator not in DATE_OPERATORS:
            raise exception.InvalidFilterOperatorValue(
                "Unknown date operator %r" % (operator,))
        clauses.append(DATE_OPERATORS[operator](column, _to_datetime(when)))
    return clauses


def _to_datetime(value):
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(
                value.replace("Z", "+00:00"))
        except ValueError:
            raise exception.InvalidFilterRangeValue(
                "Not an ISO 8601 time: %r" % value) from None
    if not isinstance(value, datetime.datetime):
        raise exception.InvalidFilterRangeValue(
            "Not a datetime: %r" % (value,))
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def _tag_clause(tag):
    tags = common.TAG.c
    return sa.select(tags.id).where(
        tags.image_id == Image.id, tags.value == tag,
        common.live(tags)).exists()


def _property_clause(name, value):
    props = common.PROPERTY.c
    if isinstance(value, (list, tuple, set)):
        value = [str(v) for v in value]
    else:
        value = str(value)
    return sa.select(props.id).where(
        props.image_id == Image.id, props.name == name,
        _match(props.value, value), common.live(props)).exists()
