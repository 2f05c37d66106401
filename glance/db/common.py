"""Helpers shared by the query modules: row loading and dict building.

Everything that leaves ``glance.db`` is a plain dict built here, never an ORM
object, so callers cannot lazy-load or write through by accident.

Image reads are SQLAlchemy Core statements built once at import time (the
per-call cost is then the compiled-statement cache lookup, not building the
statement): one statement reads an image with its properties, tags and
locations; a page of images costs one statement for the rows and one for
the children of all of them.
"""
import json

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from glance.common import exception
from glance.db import direct_read
from glance.db import models

IMAGE = models.Image.__table__
PROPERTY = models.ImageProperty.__table__
TAG = models.ImageTag.__table__
LOCATION = models.ImageLocation.__table__

IMAGE_COLUMNS = tuple(c.name for c in IMAGE.columns)

VISIBILITIES = ("public", "private", "shared", "community")


def live(model):
    """The condition "this row is not soft-deleted" (a model or a table's
    ``.c``)."""
    return model.deleted == sa.false()


def _null(type_):
    """A NULL of ``type_``, converted on reading as that type is."""
    return sa.type_coerce(sa.null(), type_)


def _children(image_id_clause):
    """Live properties, tags and locations as one UNION ALL.

    Columns: ``kind`` (0 property, 1 tag, 2 location), ``image_id``, the
    row's ``id``, and per kind ``name``/``value`` (property), ``tag``,
    ``value``/``meta``/``status`` (location: url, metadata, status). A
    column holds one kind of value so no backend has to reconcile types
    or collations; NULLs are typed so results are converted as usual.
    """
    def branch(kind, table, name, value, tag, meta, status):
        return sa.select(
            sa.literal_column(str(kind), sa.Integer).label("kind"),
            table.c.image_id.label("image_id"),
            table.c.id.label("id"), name.label("name"),
            value.label("value"), tag.label("tag"), meta.label("meta"),
            status.label("status"),
        ).where(image_id_clause(table.c.image_id), live(table.c))

    text = sa.Text()
    # the location metadata comes as its JSON text, decoded by _add_child
    # for the location rows only (a JSON column type would run its
    # decoder on every row, NULL or not); kinds are literal SQL, not bound
    meta = sa.type_coerce(LOCATION.c.meta_data, text)
    return sa.union_all(
        branch(0, PROPERTY, PROPERTY.c.name, PROPERTY.c.value, _null(text),
               _null(text), _null(text)),
        branch(1, TAG, _null(text), _null(text), TAG.c.value,
               _null(text), _null(text)),
        branch(2, LOCATION, _null(text), LOCATION.c.value, _null(text),
               meta, LOCATION.c.status),
    )


def _image_statement(include_deleted):
    """One image and its children as one flat UNION ALL: the image's row
    (its columns, then NULL child columns) and a row per child (NULL
    image columns, then the child's). MariaDB materialised and sorted
    the children joined to the image as a derived table: 0.55 ms of its
    CPU per show, 0.25 ms so; PostgreSQL and SQLite take about as long
    either way. The image's row comes first: PostgreSQL gives a column of NULLs
    in the first two branches the type text."""
    image_id = sa.bindparam("image_id")
    branches = _children(lambda column: column == image_id).selects
    child_columns = [column for column in branches[0].selected_columns
                     if column.name != "image_id"]
    image = sa.select(IMAGE, *(_null(column.type).label("child_" + column.name)
                               for column in child_columns))
    image = image.where(IMAGE.c.id == image_id)
    if not include_deleted:
        image = image.where(live(IMAGE.c))
    children = [branch.with_only_columns(
        *(_null(column.type).label(column.name) for column in IMAGE.columns),
        *(column.label("child_" + column.name)
          for column in branch.selected_columns
          if column.name != "image_id"))
        for branch in branches]
    return sa.union_all(image, *children)


# one image with its children, by include_deleted
IMAGE_WITH_CHILDREN = {flag: _image_statement(flag)
                       for flag in (False, True)}
# unordered: load_children puts the tags and locations of each image in
# insertion order itself (sorting every row cost a list of 1,000 images
# a quarter of this statement's time on SQLite)
_CHILDREN_OF = _children(
    lambda column: column.in_(sa.bindparam("ids", expanding=True)))
# the children of up to MAX_DIRECT_CHILDREN images, read directly: one
# statement per power of two of ids (the ids repeated up to it), as an
# expanding IN list would make Core compile the statement per execution
MAX_DIRECT_CHILDREN = 1024
_DIRECT_CHILDREN = {}


class _IdArray(sa.types.TypeDecorator):
    """``VARCHAR[]`` bound as it comes: psycopg2 sends a list of str as an
    array itself, and a type without a bind processor lets the read skip
    Core's per-call parameter processing."""

    impl = postgresql.ARRAY(sa.String)
    cache_ok = True

    def bind_processor(self, dialect):
        return None


# PostgreSQL: past ARRAY_PAST ids, one statement for any number of them,
# an array parameter. Prepared with an IN list of up to 1,024 parameters,
# a statement kept PostgreSQL's custom plans, planned again at every
# execution (half of a 1,000-image page's read at 100k images); one array
# is planned once. But PostgreSQL costs an array parameter as ten values,
# so for fewer ids its custom plans look cheaper than the generic one,
# which it never keeps: one id's children took 0.30 ms so, 0.17 ms with
# an IN list, whose generic plan costs what its custom ones do.
ARRAY_PAST = 16
_ARRAY_CHILDREN = direct_read.DirectRead(_children(
    lambda column: column == sa.any_(sa.bindparam("ids",
                                                  type_=_IdArray()))))


def direct_children_read(count, dialect):
    """(the DirectRead of the children of ``count`` images on ``dialect``,
    the number of ids it takes or None for an array of them: see
    :func:`direct_children_values`)."""
    if dialect.name == "postgresql" and count > ARRAY_PAST:
        return _ARRAY_CHILDREN, None
    size = 1
    while size < count:
        size *= 2
    read = _DIRECT_CHILDREN.get(size)
    if read is None:
        ids = [sa.bindparam("id%d" % i) for i in range(size)]
        read = _DIRECT_CHILDREN.setdefault(size, direct_read.DirectRead(
            _children(lambda column: column.in_(ids))))
    return read, size


def direct_children_values(image_ids, size):
    """The values of a children read of ``size`` ids for ``image_ids``."""
    if size is None:
        return {"ids": list(image_ids)}
    last = len(image_ids) - 1
    return {"id%d" % i: image_ids[min(i, last)] for i in range(size)}


_IMAGE_ROW = {
    False: sa.select(IMAGE).where(IMAGE.c.id == sa.bindparam("image_id"),
                                  live(IMAGE.c)),
    True: sa.select(IMAGE).where(IMAGE.c.id == sa.bindparam("image_id")),
}
_IMAGE_ROW_FOR_UPDATE = _IMAGE_ROW[False].with_for_update()
_LIVE_IMAGE_ID = sa.select(IMAGE.c.id).where(
    IMAGE.c.id == sa.bindparam("image_id"), live(IMAGE.c))
_NCOLS = len(IMAGE_COLUMNS)


def image_row(session, image_id, include_deleted=False, lock=False):
    """The ``images`` row of ``image_id`` (a Core row) or ImageNotFound.

    ``session`` is a Core connection or an ORM session.
    """
    query = _IMAGE_ROW_FOR_UPDATE if lock else _IMAGE_ROW[include_deleted]
    row = session.execute(query, {"image_id": image_id}).first()
    if row is None:
        raise exception.ImageNotFound(image_id=image_id)
    return row


def check_image(session, image_id):
    """ImageNotFound unless ``image_id`` names a live image."""
    if session.execute(_LIVE_IMAGE_ID,
                       {"image_id": image_id}).first() is None:
        raise exception.ImageNotFound(image_id=image_id)


def touch_image(session, image_id, now=None):
    """Set an image's ``updated_at`` to now."""
    session.execute(sa.update(IMAGE)
                    .where(IMAGE.c.id == image_id)
                    .values(updated_at=now or models.utcnow()))


def location_dict(row):
    """The public shape of an ``image_locations`` row."""
    return {"id": row.id, "url": row.value,
            "metadata": row.meta_data or {}, "status": row.status}


def _add_child(children, kind, child_id, name, value, tag, meta, status):
    """File one row of :func:`_children` into ``(props, tags, locs)``."""
    if kind == 0:
        children[0][name] = value
    elif kind == 1:
        children[1].append(tag)
    elif kind == 2:
        if meta == "{}":   # what nearly every location holds: no decoder
            meta = {}
        elif isinstance(meta, str):  # the column's JSON text (_children)
            meta = json.loads(meta)
        children[2].append({"id": child_id, "url": value,
                            "metadata": meta or {}, "status": status})


def load_children(session, image_ids):
    """Properties, tags and locations of many images in one statement.

    Returns ``{image_id: (properties, tags, locations)}`` with only the
    live rows, tags and locations in insertion order.
    """
    if not image_ids:
        return {}
    rows = session.execute(_CHILDREN_OF, {"ids": list(image_ids)}).all()
    return children_from_rows(image_ids, rows)


def children_from_rows(image_ids, rows):
    """:func:`load_children`'s answer from the rows of its statement."""
    children = {i: ({}, [], []) for i in image_ids}
    for kind, image_id, child_id, name, value, tag, meta, status in rows:
        if kind == 0:  # most rows: inline rather than _add_child
            children[image_id][0][name] = value
        elif kind == 1:
            children[image_id][1].append((child_id, tag))
        else:
            _add_child(children[image_id], kind, child_id, name, value,
                       tag, meta, status)
    for _props, tags, locations in children.values():
        if tags:
            tags.sort()
            tags[:] = [tag for _id, tag in tags]
        if len(locations) > 1:
            locations.sort(key=_by_id)
    return children


def _by_id(child):
    return child["id"]


def image_dict(row, children):
    """The public dict of an image row plus its (props, tags, locations).

    ``row`` holds the ``images`` columns first, in table order.
    """
    image = dict(zip(IMAGE_COLUMNS, row, strict=False))
    props, tags, locations = children
    image["properties"] = props
    image["tags"] = tags
    image["locations"] = locations
    return image


def image_dicts(session, rows):
    """Dicts of many image rows, in their order, in two statements."""
    children = load_children(session, [row[0] for row in rows])
    return [image_dict(row, children[row[0]]) for row in rows]


def load_image(session, image_id, include_deleted=False):
    """The full dict of one image, in one statement, or ImageNotFound."""
    rows = session.execute(IMAGE_WITH_CHILDREN[include_deleted],
                           {"image_id": image_id}).all()
    return image_from_rows(image_id, rows)


def image_from_rows(image_id, rows):
    """The dict of the rows of :data:`IMAGE_WITH_CHILDREN`, or
    ImageNotFound when the image's row is not among them."""
    image = None
    children = []
    for row in rows:
        if row[_NCOLS] is None:     # the image's row has no child kind
            image = row
        else:
            children.append(row[_NCOLS:])
    if image is None:
        raise exception.ImageNotFound(image_id=image_id)
    # in the order of kind and id, as tags and locations are listed
    children.sort(key=_kind_and_id)
    found = ({}, [], [])
    for child in children:
        _add_child(found, *child)
    return image_dict(image, found)


def _kind_and_id(child):
    return child[0], child[1]


def normalize_tags(tags):
    """Tags as a list of str without duplicates, first occurrence first."""
    if isinstance(tags, (str, bytes, dict)) or tags is None:
        raise exception.Invalid("tags must be a list of strings")
    for tag in tags:
        check_string("tag", tag, 255)
    return list(dict.fromkeys(tags))


def check_string(what, value, max_len=None):
    """Invalid unless ``value`` is a str of at most ``max_len`` chars."""
    if not isinstance(value, str):
        raise exception.Invalid("%s must be a string, not %r"
                                % (what, type(value).__name__))
    if max_len is not None and len(value) > max_len:
        raise exception.Invalid("%s is longer than %d characters"
                                % (what, max_len))
    return value


def check_sort_dir(sort_dir):
    """InvalidSortDir unless ``sort_dir`` is 'asc' or 'desc'."""
    if sort_dir not in ("asc", "desc"):
        raise exception.InvalidSortDir(
            "Sort direction %r is not 'asc' or 'desc'" % (sort_dir,))
    return sort_dir


def sort_spec(sort_key, sort_dir, valid_keys, default_key, tie_breakers):
    """Validated ``(keys, dirs)`` lists ending with the tie-breaker keys.

    ``sort_key``/``sort_dir`` may be a str or a list; without a direction
    every key sorts 'desc'; one direction applies to every key (and the
    tie-breakers); otherwise there must be one direction per key.
    """
    keys = [sort_key] if isinstance(sort_key, str) else list(
        sort_key or [default_key])
    if sort_dir is None:
        dirs = ["desc"] * len(keys)
    else:
        dirs = [sort_dir] if isinstance(sort_dir, str) else list(sort_dir)
    for direction in dirs:
        check_sort_dir(direction)
    default_dir = dirs[0] if len(dirs) == 1 else "desc"
    if len(dirs) == 1:
        dirs = dirs * len(keys)
    if len(dirs) != len(keys):
        raise exception.InvalidSortDir(
            "Give one sort direction, or one per sort key")
    spec = {}
    for key, direction in zip(keys, dirs, strict=True):
        if key not in valid_keys:
            raise exception.InvalidSortKey(
                "Sort key %r is not one of: %s"
                % (key, ", ".join(sorted(valid_keys))))
        spec.setdefault(key, direction)
    for key in tie_breakers:
        spec.setdefault(key, default_dir)
    return list(spec), list(spec.values())


def nulls_high(dialect_name):
    """Whether NULL sorts above every value in listings on this database.

    Glance sorts with a plain ORDER BY, so its listings show each
    database's own order: PostgreSQL's puts NULL above every value (first
    in a descending sort), MySQL's and SQLite's below. Ours are the same.
    """
    return dialect_name == "postgresql"


def nulls_last(direction, high):
    """Whether NULLs come after the values in a ``direction`` sort."""
    return (direction == "desc") != high


def order_by(model, keys, dirs, nullable, high=False):
    """ORDER BY terms; NULL sorts below every value (``high``: above)."""
    terms = []
    for key, direction in zip(keys, dirs, strict=True):
        column = getattr(model, key)
        term = column.asc() if direction == "asc" else column.desc()
        if key in nullable and high:
            # PostgreSQL's own order, spelled out: an index still serves it
            term = (term.nulls_last() if nulls_last(direction, high)
                    else term.nulls_first())
        elif key in nullable:
            present = sa.case((column.is_(None), 0), else_=1)
            terms.append(present.asc() if direction == "asc"
                         else present.desc())
        terms.append(term)
    return terms


def after_marker(model, marker_row, keys, dirs, high=False):
    """The condition "sorts after ``marker_row``" (keyset pagination).

    Lexicographic on ``keys``: equal on the first i-1 keys and beyond the
    marker on key i, for some i; NULL is the smallest value (``high``:
    the largest), as in :func:`order_by`.
    """
    alternatives = []
    equal = []
    for key, direction in zip(keys, dirs, strict=True):
        column = getattr(model, key)
        value = getattr(marker_row, key)
        if value is not None:
            value = bound_value(value, column)
        alternatives.append(sa.and_(*equal, _beyond(
            column, value, direction, nulls_last(direction, high))))
        equal.append(column.is_(None) if value is None else column == value)
    return sa.or_(*alternatives)


def bound_value(value, column):
    """``value`` bound with ``column``'s type (``column > True`` is not
    valid SQLAlchemy); a bind parameter is kept as it is."""
    if isinstance(value, sa.BindParameter):
        return value
    return sa.literal(value, type_=column.type)


def _beyond(column, value, direction, nulls_after):
    """``column`` sorts after ``value``; ``nulls_after``: NULLs come after
    every value in this direction."""
    if value is None:
        return sa.false() if nulls_after else column.is_not(None)
    beyond = column > value if direction == "asc" else column < value
    return sa.or_(beyond, column.is_(None)) if nulls_after else beyond


def check_limit(limit):
    """``limit`` as an int >= 0 (or None), else InvalidParameterValue."""
    if limit is None:
        return None
    try:
        value = int(limit)
    except (TypeError, ValueError):
        value = -1
    if value < 0:
        raise exception.InvalidParameterValue(
            value=limit, param="limit", extra_msg="must be an integer >= 0")
    return value
