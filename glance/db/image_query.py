"""Listing images: who sees what, sorting and marker pagination (the
conditions of the filters are ``image_filters``').

A page costs a constant number of statements: one for the marker, one for
the page of images, and one for the properties, tags and locations of all
the images on it. Queries are SQLAlchemy Core over the tables' columns
(``Image`` is ``images.c``), without the ORM.

A page costs the same at 1,000 images as at 1,000,000: the rows a viewer
may see are split into disjoint parts that each are one range of an index
in the sort order (``ix_images_*_created_at``, ``ix_images_*_name``:
the owner's images, each visibility, all live images), so each part is
read in order and stops after ``limit`` rows (the database never collects
and sorts every visible image), and the page is the first ``limit`` rows
of their UNION ALL. A part is:

- one branch of who sees what: a project's own images, the public (or
  community) images of others, the shared images of others it is a member
  of (found through ``image_members``), instead of one OR an index cannot
  follow (but for a filter on one owner, whose images are one range of the
  owner index whatever the branch: there who sees what is a filter);
- one range of the first sort key: its NULLs and its values apart (so a
  plain index order is also ours, where NULL sorts below every value),
  and past a marker, a bound the index seeks to (``created_at <= x``)
  rather than an OR it would have to scan up to.

Building such a statement costs more CPU than running it on a small
catalog, so a page's statement is kept, per viewer, filters, sort and
limit, and the parts of each viewer too (``_Statements``: bounded, least
recently used out). Past a marker, the marker's sort key values are bind
parameters of the kept statement, one per shape of marker (which of its
sort keys are NULL). A kept statement is read past Core's execution
layer (``direct_read``), the marker, the page and its children in one
snapshot.
"""
import collections
import threading

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from glance.common import exception
from glance.db import common
from glance.db import direct_read
from glance.db import image_filters
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
MYSQL = ("mysql", "mariadb")
# The listing indexes end with the sort key they follow.
ORDERED_BY = ("created_at", "name")


def _mysql_seek_hint(first_key):
    """Past a marker, MariaDB reads the index of the sort order from its
    equal key parts (``ref``: deleted, os_hidden) and filters its way to
    the marker, unless it found that index's range cheaper than a table
    scan and than any other index's range, which it will not for a bound
    in the middle of a large index. Ruling out the table scan and the
    indexes of the other order makes it seek to the marker."""
    if first_key not in ORDERED_BY:
        return None
    others = tuple("_" + key for key in ORDERED_BY if key != first_key)
    return "FORCE INDEX (PRIMARY, %s)" % ", ".join(sorted(
        index.name for index in common.IMAGE.indexes
        if not index.name.endswith(others)))

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
    engine = db_session.get_engine()
    listing = _Listing((visibility, project_id, is_admin, member_status),
                       filters, keys, dirs, limit, engine.dialect.name)
    if limit == 0:
        listing.conditions()    # a refused filter is refused all the same
        return []
    if listing.key is not None and limit is not None and \
            limit <= common.MAX_DIRECT_CHILDREN and \
            direct_read.usable(engine) and \
            not listing.core_only(engine.dialect):
        try:
            with direct_read.reading(engine, snapshot=True) as reader:
                return listing.read(_DirectSource(reader), marker)
        except _CoreOnly:
            pass
    with db_session.connection(write=False) as session:
        return listing.read(_CoreSource(session), marker)


class _Listing:
    """One list request: its statements, kept or built, and their reads.

    A page's statement is kept per request shape: viewer, filters, sort,
    limit and, past a marker, which of the marker's sort keys are NULL
    (the marker's values are bound at execution, so one statement serves
    every marker of that shape).
    """

    def __init__(self, viewer, filters, keys, dirs, limit, dialect):
        self.viewer, self.filters = viewer, filters
        self.keys, self.dirs, self.limit = keys, dirs, limit
        self.dialect = dialect
        self.key = None if limit == 0 else _statement_key(
            viewer, filters, keys, dirs, limit, dialect)
        self._conditions = None
        self._kept = {}     # shape: the kept page, looked up once

    def conditions(self):
        """(viewer branches, filter conditions, property joins: see
        ``image_filters.property_joins``); raises on bad input."""
        if self._conditions is None:
            branches = _viewer_branches(*self.viewer)
            if len(branches) > 1 and isinstance(self.filters.get("owner"),
                                                str):
                # one owner's images are one range of the owner index
                # whichever branch they fall in: a single part, who sees
                # what a filter on it, spares the database a union to
                # plan and run (a plain project's owner=p3 at 100k over
                # HTTP: 1.90 -> 1.73 ms on PostgreSQL, 3.17 -> 2.93 ms on
                # MariaDB)
                branches = ((viewer_clause(*self.viewer), common.IMAGE),)
            mysql = self.dialect in MYSQL
            conditions = [common.live(Image)]
            conditions.extend(image_filters.filter_clauses(
                self.filters, probe_per_row=mysql, joined_properties=mysql))
            joins = image_filters.property_joins(self.filters) if mysql \
                else []
            self._conditions = (branches, conditions, joins)
        return self._conditions

    def core_only(self, dialect):
        """Whether this request's first page was found to need Core (its
        plan is per execution: an empty or long ``in:`` list, see
        ``image_filters.MAX_IN_BOUND_EACH``)."""
        first = self._kept_page(None)
        return first is not None and first.plan(dialect) is None

    def read(self, source, marker):
        """The page's image dicts, read from ``source``."""
        if marker is None:
            return source.images(self._page(None), None)
        # bad filters are refused before a missing marker, as ever
        self.conditions()
        project_id, is_admin = self.viewer[1], self.viewer[2]
        row = source.first(_marker_read(project_id, is_admin),
                           {"marker": marker})
        if row is None:
            raise exception.NotFound("Marker image %s not found" % marker)
        found = [row[_COLUMN_INDEX[key]] for key in self.keys]
        shape = tuple(value is None for value in found)
        values = {_marker_name(key): value
                  for key, value in zip(self.keys, found, strict=True)
                  if value is not None}
        return source.images(self._page(shape), values)

    def _kept_page(self, shape):
        if shape not in self._kept:
            self._kept[shape] = None if self.key is None else \
                _PAGES.get((self.key, shape))
        return self._kept[shape]

    def _page(self, shape):
        """The DirectRead of the page; ``shape``: None for a first page,
        else which marker sort keys are NULL."""
        page = self._kept_page(shape)
        if page is None:
            page = direct_read.DirectRead(self._statement(shape))
            if self.key is not None:
                _PAGES.put((self.key, shape), page)
                self._kept[shape] = page
        return page

    def _statement(self, shape):
        branches, conditions, joins = self.conditions()
        keys, dirs = self.keys, self.dirs
        mysql, high = self.dialect in MYSQL, common.nulls_high(self.dialect)
        marker = None
        if shape is not None:
            marker = _MarkerBinds(keys, shape)
            conditions = conditions + [common.after_marker(
                Image, marker, keys, dirs, high)]
        ranges = _first_key_ranges(keys[0], dirs[0], marker, high)
        # SQLite, offered a marker's bound on the images index of the
        # sort order in the memberships' part, walks that index over every
        # shared image before the marker, probing the memberships for
        # each (20 ms for a member's second page of 100k); with the bound
        # kept off the index it reads the memberships first, as on a
        # first page
        member_ranges = ranges if marker is None or self.dialect != \
            "sqlite" else _first_key_ranges(keys[0], dirs[0], marker, high,
                                            seek=False)
        parts = [(sa.and_(branch, bound), null and mysql,
                  _joined(source, joins))
                 for branch, source in branches
                 for bound, null in (ranges if source is common.IMAGE
                                     else member_ranges)]
        hint = _mysql_seek_hint(keys[0]) if mysql and marker else None
        return _page_query(parts, conditions, (keys, dirs, high),
                           _limit(self.limit, marker), hint)


def _joined(source, joins):
    for table, on in joins:
        source = source.join(table, on)
    return source


def _limit(limit, marker):
    """A first page's LIMIT as SQL text, past a marker a bind parameter.

    PostgreSQL costs a generic plan of ``LIMIT $1`` as if it read a tenth
    of the table, so it planned a prepared first page at every execution
    (custom plans); with the number in the text, it keeps one generic
    plan for most (a kept first page is one limit's anyway). Past a
    marker, the custom plans that see the marker's values stay better
    than a generic one, so there the bind parameter keeps them.
    """
    if limit is None or marker is not None:
        return limit
    return sa.literal_column(str(int(limit)), sa.Integer)


def _marker_name(key):
    return "marker_" + key


class _MarkerBinds:
    """A marker row whose sort keys are bind parameters (None where the
    marker's value is NULL): what ``after_marker`` compares with."""

    def __init__(self, keys, shape):
        for key, null in zip(keys, shape, strict=True):
            setattr(self, key, None if null else sa.bindparam(
                _marker_name(key), type_=getattr(Image, key).type))


class _CoreOnly(Exception):
    """A statement Core must compile per execution met a direct read."""


class _DirectSource:
    """Reads on one pooled DB-API connection, in one snapshot."""

    def __init__(self, reader):
        self.reader = reader

    def _rows(self, read, values):
        if read.plan(self.reader.dialect) is None:
            raise _CoreOnly()
        return self.reader.all(read, values)

    def first(self, read, values):
        rows = self._rows(read, values)
        return rows[0] if rows else None

    def images(self, page, values):
        rows = self._rows(page, values)
        ids = [row[0] for row in rows]
        if not ids:
            return []
        children, size = common.direct_children_read(
            len(ids), self.reader.dialect)
        child_rows = self.reader.all(
            children, common.direct_children_values(ids, size))
        found = common.children_from_rows(ids, child_rows)
        return [common.image_dict(row, found[row[0]]) for row in rows]


class _CoreSource:
    """Reads through a Core connection, in its transaction."""

    def __init__(self, session):
        self.session = session

    def first(self, read, values):
        return self.session.execute(read.statement, values).first()

    def images(self, page, values):
        rows = self.session.execute(page.statement, values).all()
        return common.image_dicts(self.session, rows)


class _Statements:
    """Built statements by key, the least recently used dropped past
    ``size``. A statement is immutable; only its values are bound at
    execution, so one serves every request with its key."""

    def __init__(self, size):
        self.size = size
        self._items = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            statement = self._items.get(key)
            if statement is not None:
                self._items.move_to_end(key)
            return statement

    def put(self, key, statement):
        with self._lock:
            self._items[key] = statement
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self):
        return len(self._items)


_PAGES = _Statements(96)    # some 100 KiB each, its plan included
_BRANCHES = _Statements(256)
_MARKER_READS = _Statements(256)
_COLUMN_INDEX = {column.key: index
                 for index, column in enumerate(common.IMAGE.c)}


def _viewer_branches(*viewer):
    """``viewer_branches`` of (visibility, project, admin, member
    status), built once per viewer (an error is raised each time)."""
    branches = _BRANCHES.get(viewer)
    if branches is None:
        branches = tuple(viewer_branches(*viewer))
        _BRANCHES.put(viewer, branches)
    return branches


def _statement_key(viewer, filters, keys, dirs, limit, dialect):
    """What a first page's statement depends on, hashable; None when
    a filter value is of a kind not frozen here (no reuse then)."""
    try:
        frozen = tuple((name, _frozen(value))
                       for name, value in filters.items())
        key = (viewer, frozen, tuple(keys), tuple(dirs), limit, dialect)
        hash(key)
    except TypeError:
        return None
    return key


def _frozen(value):
    # the type is part of the key: a list and a tuple filter apart
    if isinstance(value, (list, tuple)):
        return (type(value).__name__,) + tuple(_frozen(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return ("set", frozenset(_frozen(v) for v in value))
    return (type(value).__name__, value)


def _page_query(parts, conditions, order, limit, hint=None):
    """The first ``limit`` images of the UNION ALL of the disjoint
    ``parts`` (condition, whether its first sort key is NULL, the FROM
    clause), each read in index order and cut at ``limit`` itself.
    ``order``: the sort keys, their directions and whether NULL sorts
    high (:func:`common.nulls_high`)."""
    keys, dirs, high = order
    if len(parts) == 1:
        return _part_query(common.IMAGE, parts[0], conditions, order,
                           limit, hint)
    # the parts carry only the id and the sort keys; the page's rows are
    # read by id once the page is known
    columns = [Image.id] + [getattr(Image, key) for key in keys
                            if key != "id"]
    page = sa.union_all(*(
        sa.select(_part_query(columns, part, conditions, order, limit,
                              hint).subquery())
        for part in parts)).subquery("page")
    query = (sa.select(common.IMAGE)
             .join_from(common.IMAGE, page, Image.id == page.c.id)
             .order_by(*common.order_by(page.c, keys, dirs,
                                        NULLABLE_SORT_KEYS, high)))
    if limit is not None:
        query = query.limit(limit)
    return query


def _part_query(columns, part, conditions, order, limit, hint):
    condition, null, source = part
    query = (sa.select(*image_filters.as_list(columns))
             .select_from(source)
             .where(condition, *conditions)
             .order_by(*_part_order(order, null)))
    for dialect in MYSQL if hint else ():
        query = query.with_hint(common.IMAGE, hint, dialect_name=dialect)
    return query if limit is None else query.limit(limit)


def _part_order(order, null):
    """ORDER BY of one part: the first key plainly (a part holds either
    its NULLs or its values), so the order is an index's order, or not at
    all where it is NULL throughout (``null``: for MariaDB, which would
    sort rather than see the order of the index after ``name IS NULL``;
    PostgreSQL needs the key to see it); later keys with NULLs sorting
    as in ``common.order_by``."""
    keys, dirs, high = order
    first = getattr(Image, keys[0])
    terms = [] if null else [first.asc() if dirs[0] == "asc"
                             else first.desc()]
    return terms + common.order_by(Image, keys[1:], dirs[1:],
                                   NULLABLE_SORT_KEYS, high)


def _first_key_ranges(key, direction, marker_row, high, seek=True):
    """Disjoint conditions on the first sort key covering every row
    past ``marker_row`` (None: every row): NULLs apart from values, and
    past a marker a bound an index seeks to (``seek=False``: a bound
    SQLite will not use an index for). ``after_marker`` still decides
    the ties. Each comes with whether the key is NULL in it. ``high``:
    NULL sorts above every value (``common.nulls_high``)."""
    column = getattr(Image, key)
    nullable = key in NULLABLE_SORT_KEYS
    values, nulls = (column.is_not(None), False), (column.is_(None), True)
    if marker_row is None:
        return [values, nulls] if nullable else [(sa.true(), False)]
    nulls_after = common.nulls_last(direction, high)
    value = getattr(marker_row, key)
    if value is None:  # the NULLs past it, then the values if they follow
        return [nulls] if nulls_after else [nulls, values]
    value = common.bound_value(value, column)
    if not seek:   # SQLite's unary plus: the same value, no index use
        column = UnaryExpression(column, operator=operators.custom_op("+"),
                                 type_=column.type)
    bound = (column >= value if direction == "asc" else column <= value,
             False)
    return [bound, nulls] if nullable and nulls_after else [bound]


def _marker_read(project_id, is_admin):
    """The DirectRead of a marker's row (its id bound as ``marker``)
    among the images the viewer may see, built once per viewer."""
    key = (project_id, is_admin)
    read = _MARKER_READS.get(key)
    if read is None:
        read = direct_read.DirectRead(sa.select(common.IMAGE).where(
            Image.id == sa.bindparam("marker"), common.live(Image),
            viewer_clause("all", project_id, is_admin, "all")))
        _MARKER_READS.put(key, read)
    return read


def _member_images(project_id, member_status):
    """``images`` joined to the distinct ids of the images ``project_id``
    is a live member of: read from the project's memberships first (a
    project is a member of few images), where SQLite, given an IN, walks
    the index of every shared image in order instead."""
    member = models.ImageMember.__table__.c
    query = sa.select(member.image_id).where(
        member.member == project_id, common.live(member))
    if member_status != "all":
        query = query.where(member.status == member_status)
    ids = query.distinct().subquery("member_of")
    return ids.join(common.IMAGE, Image.id == ids.c.image_id)


def _membership(project_id, member_status):
    """The image is one ``project_id`` is a live member of."""
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


def viewer_branches(visibility, project_id, is_admin, member_status):
    """``viewer_clause`` as disjoint (condition, FROM clause) pairs, each
    one range of an index (owner, visibility) or the project's
    memberships, whose union is what the viewer sees."""
    clause = viewer_clause(visibility, project_id, is_admin, member_status)
    images = common.IMAGE
    if is_admin or project_id is None or visibility not in (
            None, "all", "shared"):
        return [(clause, images)]
    owned = Image.owner == project_id
    others = sa.or_(Image.owner != project_id, Image.owner.is_(None))
    shared_with_me = (sa.and_(Image.visibility == "shared", others),
                      _member_images(project_id, member_status))
    if visibility == "shared":
        return [(sa.and_(Image.visibility == "shared", owned), images),
                shared_with_me]
    public = (sa.and_(Image.visibility == "public", others), images)
    if visibility is None:
        return [(owned, images), public, shared_with_me]
    community = (sa.and_(Image.visibility == "community", others), images)
    return [(owned, images), public, community, shared_with_me]
