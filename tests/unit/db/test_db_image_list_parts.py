"""image_get_all reads a page as the UNION ALL of disjoint parts (who sees
what x the NULLs and values of the first sort key x past the marker): every
viewer, order and page size gives the same images in the same order as one
plain query with the viewer's whole condition, sorted in Python."""
import datetime
import functools

import pytest
import sqlalchemy as sa

from glance.db import api
from glance.db import common
from glance.db import image_query
from glance.db import session as db_session

T0 = datetime.datetime(2024, 1, 1)


@pytest.fixture
def world(db):
    """Images of p1, p2 and p3 in every visibility, some without a name or
    size, several per creation time, shared with p1 in every status."""
    names = ["b", None, "a", "c", None, "b", "d", "a", None, "e"]
    visibilities = ["public", "private", "shared", "community"]
    statuses = ["accepted", "pending", "rejected", None]
    n = 0
    for owner in ("p1", "p2", "p3"):
        for visibility in visibilities:
            for k in range(3):
                properties = {} if n % 5 == 4 else {
                    "os_distro": "d%d" % (n % 3), "arch": "a%d" % (n % 2)}
                image = api.image_create({
                    "properties": properties,
                    "name": names[n % len(names)],
                    "size": None if n % 4 == 0 else n % 5,
                    "owner": owner, "visibility": visibility,
                    "os_hidden": n % 11 == 0,
                    "created_at": T0 + datetime.timedelta(minutes=n // 3)})
                status = statuses[(n + k) % 4]
                if visibility == "shared" and owner != "p1" and status:
                    api.image_member_create(image["id"], "p1",
                                            status=status)
                n += 1


def expected(visibility, project_id, is_admin, member_status, keys, dirs,
             owner=None, properties=()):
    """The listing by one plain query and a Python sort; ``properties``:
    (name, values) the image has a live property of."""
    image = common.IMAGE.c
    props = common.PROPERTY.c
    with db_session.connection(write=False) as conn:
        rows = conn.execute(sa.select(common.IMAGE).where(
            common.live(image), image.os_hidden == sa.false(),
            sa.true() if owner is None else image.owner == owner,
            image_query.viewer_clause(visibility, project_id, is_admin,
                                      member_status),
            *(sa.select(props.id).where(
                props.image_id == image.id, props.name == name,
                props.value.in_(values), common.live(props)).exists()
              for name, values in properties))).all()
    images = [dict(row._mapping) for row in rows]
    keys, dirs = list(keys), list(dirs)
    for extra in ("created_at", "id"):
        if extra not in keys:
            keys.append(extra)
            dirs.append(dirs[0])
    # NULL sorts below every value, above on PostgreSQL (Glance's orders)
    high = common.nulls_high(db_session.get_engine().dialect.name)
    for key, direction in reversed(list(zip(keys, dirs, strict=True))):
        images.sort(key=lambda i, k=key: ((i[k] is None) == high,
                                          i[k] if i[k] is not None else 0),
                    reverse=direction == "desc")
    return [i["id"] for i in images]


VIEWERS = [
    (None, "p1", False, "accepted"),
    (None, "p1", False, "all"),
    ("all", "p1", False, "pending"),
    ("shared", "p1", False, "accepted"),
    ("public", "p1", False, "accepted"),
    (None, None, False, "accepted"),
    (None, "p1", True, "accepted"),
    ("all", None, True, "accepted"),
]
ORDERS = [(["created_at"], ["desc"]), (["name"], ["desc"]),
          (["name"], ["asc"]), (["size", "name"], ["desc", "asc"])]


@pytest.mark.parametrize("visibility, project_id, is_admin, member_status",
                         VIEWERS)
def test_pages_match_one_plain_query(world, visibility, project_id,
                                     is_admin, member_status):
    _check_pages(visibility, project_id, is_admin, member_status, None)


@pytest.mark.parametrize("owner", ["p1", "p2"])
@pytest.mark.parametrize("visibility, project_id, is_admin, member_status",
                         [v for v in VIEWERS if not v[2] and v[1]])
def test_a_filter_on_one_owner_is_one_part(world, visibility, project_id,
                                           is_admin, member_status, owner):
    viewer = (visibility, project_id, is_admin, member_status)
    listing = image_query._Listing(viewer, {"owner": owner},
                                   ["created_at", "id"], ["desc", "desc"],
                                   5, db_session.get_engine().dialect.name)
    sql = str(listing._statement(None).compile(
        dialect=db_session.get_engine().dialect))
    assert "UNION" not in sql.upper()
    _check_pages(visibility, project_id, is_admin, member_status, owner)


@pytest.mark.parametrize("properties", [
    {"os_distro": "d1"}, {"os_distro": ["d0", "d2"], "arch": "a1"}])
@pytest.mark.parametrize("visibility, project_id, is_admin, member_status",
                         VIEWERS[::2])
def test_property_filters_match_one_plain_query(
        world, visibility, project_id, is_admin, member_status, properties):
    # a soft-deleted property matches nothing
    [image] = api.image_get_all(is_admin=True, limit=1,
                                filters={"os_distro": "d1"})
    api.image_update(image["id"], {"properties": {}}, purge_props=True)
    viewer = (visibility, project_id, is_admin, member_status)
    dialect = db_session.get_engine().dialect
    listing = image_query._Listing(viewer, dict(properties),
                                   ["created_at", "id"], ["desc", "desc"],
                                   5, dialect.name)
    sql = str(listing._statement(None).compile(dialect=dialect))
    # MariaDB joins the properties rather than look each one up in a
    # subquery of its own per image
    assert ("JOIN image_properties" in sql) == (dialect.name == "mysql")
    _check_pages(visibility, project_id, is_admin, member_status, None,
                 properties)


def _check_pages(visibility, project_id, is_admin, member_status, owner,
                 properties=None):
    """Every order's listing, whole and page by page, is ``expected``."""
    filters = {} if visibility is None else {"visibility": visibility}
    if owner is not None:
        filters["owner"] = owner
    filters.update(properties or {})
    wanted = [(name, value if isinstance(value, list) else [value])
              for name, value in (properties or {}).items()]
    for keys, dirs in ORDERS:
        want = expected(visibility, project_id, is_admin, member_status,
                        keys, dirs, owner, wanted)
        listing = functools.partial(
            api.image_get_all, sort_key=keys, sort_dir=dirs,
            project_id=project_id, is_admin=is_admin,
            member_status=member_status, filters=dict(filters))
        assert [i["id"] for i in listing()] == want, keys
        for limit in (1, 2, 5):
            got, marker = [], None
            while True:
                page = listing(limit=limit, marker=marker)
                if not page:
                    break
                assert len(page) <= limit
                got.extend(i["id"] for i in page)
                marker = page[-1]["id"]
            assert got == want, (keys, dirs, limit)
