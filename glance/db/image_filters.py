"""The conditions of image list filters (``image_get_all``'s filters).

Base columns match a value or, for a list (``in:``), any of its values;
integer columns match by equality; booleans and dates are parsed, and a
value that cannot be parsed is refused (``Invalid...``); tags and custom
properties are lookups in their tables. ``BASE_FILTERS`` names every
filter that is not a custom property.
"""
import datetime

import sqlalchemy as sa

from glance.common import exception
from glance.db import common

Image = common.IMAGE.c

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
# every filter key that is not a custom property (see filter_clauses)
BASE_FILTERS = COLUMN_FILTERS | INT_COLUMN_FILTERS | BOOL_FILTERS | \
    DATE_FILTERS | frozenset(("size_min", "size_max", "tags", "visibility"))
# An in: list up to this long has one bound value each, so the page's
# statement is kept with its plan and read past Core; Core compiles a
# list bound as one value per execution. A longer one stays so: a kept
# statement with a bound value each took 1.8 MiB for 1,500 ids.
MAX_IN_BOUND_EACH = 32
DATE_OPERATORS = {
    "eq": lambda c, v: c == v, "neq": lambda c, v: c != v,
    "gt": lambda c, v: c > v, "gte": lambda c, v: c >= v,
    "lt": lambda c, v: c < v, "lte": lambda c, v: c <= v,
}


def filter_clauses(filters, probe_per_row=False, joined_properties=False):
    """SQL conditions for the (visibility-less) ``filters`` dict.

    ``probe_per_row``: tag and property filters as a correlated lookup
    per image (MySQL), not an EXISTS; see ``_has``. ``joined_properties``:
    no condition for the custom properties, which the caller joins
    (:func:`property_joins`).
    """
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
            clauses.extend(_tag_clause(tag, probe_per_row)
                           for tag in as_list(value))
        elif is_property_filter(key) and not joined_properties:
            clauses.append(_property_clause(key, value, probe_per_row))
    return clauses


def is_property_filter(key):
    """Whether filter ``key`` names a custom property."""
    return key not in BASE_FILTERS


def property_joins(filters):
    """(table, ON clause) to inner-join per custom-property filter of
    ``filters``: its live row of that name and a matching value.

    A property's (image_id, name) is unique, so a join adds no row. On
    MariaDB an image read in index order then has its property looked up
    as part of the join, where a correlated subquery per image had its
    own execution (a plain project's os_distro filter at 100k images:
    about 20% less time).
    """
    joins = []
    for key, value in filters.items():
        if not is_property_filter(key):
            continue
        props = common.PROPERTY.alias("filter_%d" % len(joins))
        joins.append((props, sa.and_(
            props.c.image_id == Image.id, props.c.name == key,
            _match(props.c.value, _property_value(value)),
            common.live(props.c))))
    return joins


def as_list(value):
    """``value`` as a list: itself if a list, tuple or set, else alone."""
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _match(column, value):
    if isinstance(value, (list, tuple, set)):
        values = list(value)
        if 0 < len(values) <= MAX_IN_BOUND_EACH:
            return column.in_([common.bound_value(v, column)
                               for v in values])
        return column.in_(values)
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


def _has(query, probe_per_row):
    """The outer image has a row of ``query`` (one selecting an id).

    MariaDB turns an EXISTS into an IN it materializes first: every
    image_tags row of a tag (a linear scan) before the first image of a
    page is read. A scalar subquery (``... LIMIT 1) IS NOT NULL``) stays
    a lookup by image id for each image read in index order.
    """
    if probe_per_row:
        return query.limit(1).scalar_subquery().is_not(None)
    return query.exists()


def _tag_clause(tag, probe_per_row=False):
    tags = common.TAG.c
    return _has(sa.select(tags.id).where(
        tags.image_id == Image.id, tags.value == tag,
        common.live(tags)), probe_per_row)


def _property_clause(name, value, probe_per_row=False):
    props = common.PROPERTY.c
    return _has(sa.select(props.id).where(
        props.image_id == Image.id, props.name == name,
        _match(props.value, _property_value(value)), common.live(props)),
        probe_per_row)


def _property_value(value):
    """A property filter's value or values, as the text they are kept as."""
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value]
    return str(value)
