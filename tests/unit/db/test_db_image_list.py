"""image_get_all: viewer rules, filters, sorting, marker pagination."""
import datetime
import functools

import pytest

from glance.common import exception
from glance.db import api
from glance.db import common
from glance.db import session as db_session

T0 = datetime.datetime(2024, 1, 1, 12, 0, 0)


def names(images):
    return sorted(image["name"] for image in images)


def at(minutes):
    return T0 + datetime.timedelta(minutes=minutes)


# -- viewer rules ----------------------------------------------------------

@pytest.fixture
def visibility_world(db):
    """Images of p1 and p2 covering every visibility and membership."""
    def make(name, owner, visibility, member_status=None):
        image = api.image_create({"name": name, "owner": owner,
                                  "visibility": visibility})
        if member_status:
            api.image_member_create(image["id"], "p1", status=member_status)

    make("p1-public", "p1", "public")
    make("p1-private", "p1", "private")
    make("p1-shared", "p1", "shared")
    make("p1-community", "p1", "community")
    make("p2-public", "p2", "public")
    make("p2-private", "p2", "private")
    make("p2-community", "p2", "community")
    make("p2-shared-accepted", "p2", "shared", "accepted")
    make("p2-shared-pending", "p2", "shared", "pending")
    make("p2-shared-rejected", "p2", "shared", "rejected")
    make("p2-shared-none", "p2", "shared")
    hidden = api.image_create({"name": "p1-hidden", "owner": "p1",
                               "visibility": "public", "os_hidden": True})
    return hidden


OWN = {"p1-public", "p1-private", "p1-shared", "p1-community"}
ALL_NAMES = OWN | {"p2-public", "p2-private", "p2-community",
                   "p2-shared-accepted", "p2-shared-pending",
                   "p2-shared-rejected", "p2-shared-none"}
# (project, is_admin, visibility, member_status) -> expected names
VIEWER_CASES = [
    ("p1", False, None, "accepted",
     OWN | {"p2-public", "p2-shared-accepted"}),
    ("p1", False, None, "pending", OWN | {"p2-public", "p2-shared-pending"}),
    ("p1", False, None, "rejected",
     OWN | {"p2-public", "p2-shared-rejected"}),
    ("p1", False, None, "all",
     OWN | {"p2-public", "p2-shared-accepted", "p2-shared-pending",
            "p2-shared-rejected"}),
    ("p1", False, "public", "accepted", {"p1-public", "p2-public"}),
    ("p1", False, "private", "accepted", {"p1-private"}),
    ("p1", False, "shared", "accepted", {"p1-shared", "p2-shared-accepted"}),
    ("p1", False, "shared", "pending", {"p1-shared", "p2-shared-pending"}),
    ("p1", False, "community", "accepted", {"p1-community",
                                            "p2-community"}),
    ("p1", False, "all", "accepted",
     OWN | {"p2-public", "p2-community", "p2-shared-accepted"}),
    ("p2", False, None, "accepted",
     {"p1-public", "p2-public", "p2-private", "p2-community",
      "p2-shared-accepted", "p2-shared-pending", "p2-shared-rejected",
      "p2-shared-none"}),
    ("p3", False, None, "accepted", {"p1-public", "p2-public"}),
    ("p3", False, "shared", "all", set()),
    ("p3", False, "private", "accepted", set()),
    (None, False, None, "accepted", {"p1-public", "p2-public"}),
    (None, False, "all", "accepted", {"p1-public", "p2-public",
                                      "p1-community", "p2-community"}),
    (None, False, "community", "accepted", {"p1-community",
                                            "p2-community"}),
    (None, False, "private", "accepted", set()),
    (None, False, "shared", "accepted", set()),
    # as in Glance, even an admin's default listing leaves out the
    # community images of other projects
    ("p3", True, None, "accepted",
     ALL_NAMES - {"p1-community", "p2-community"}),
    ("p1", True, None, "accepted", ALL_NAMES - {"p2-community"}),
    (None, True, "all", "accepted", ALL_NAMES),
    ("p3", True, "private", "accepted", {"p1-private", "p2-private"}),
    ("p3", True, "shared", "accepted",
     {"p1-shared", "p2-shared-accepted", "p2-shared-pending",
      "p2-shared-rejected", "p2-shared-none"}),
    ("p3", True, "community", "accepted", {"p1-community",
                                           "p2-community"}),
]


def test_visibility_matrix(visibility_world):
    failures = []
    for project, admin, visibility, member_status, expected in VIEWER_CASES:
        filters = {} if visibility is None else {"visibility": visibility}
        got = set(names(api.image_get_all(
            filters=filters, member_status=member_status,
            project_id=project, is_admin=admin)))
        if got != expected:
            failures.append((project, admin, visibility, member_status,
                             sorted(got ^ expected)))
    assert failures == []


def test_hidden_images(visibility_world):
    hidden = visibility_world
    listed = api.image_get_all(project_id="p1")
    assert hidden["id"] not in [i["id"] for i in listed]
    only_hidden = api.image_get_all(filters={"os_hidden": True},
                                    project_id="p1")
    assert [i["id"] for i in only_hidden] == [hidden["id"]]
    assert len(api.image_get_all(filters={"os_hidden": False},
                                 project_id="p1")) == len(listed)


def test_deleted_images_never_listed(visibility_world):
    everything = api.image_get_all(filters={"visibility": "all"},
                                   is_admin=True)
    for image in everything:
        api.image_destroy(image["id"])
    assert api.image_get_all(filters={"visibility": "all"},
                             is_admin=True) == []
    assert api.image_get_all(filters={"visibility": "all"},
                             project_id="p1") == []


def test_bad_visibility_and_member_status(db):
    with pytest.raises(exception.InvalidParameterValue):
        api.image_get_all(filters={"visibility": "everyone"})
    with pytest.raises(exception.InvalidParameterValue):
        api.image_get_all(member_status="maybe", project_id="p1")


# -- filters ---------------------------------------------------------------

@pytest.fixture
def catalog(db):
    """Public images with varied attributes, created one minute apart."""
    specs = [
        dict(name="alpha", status="active", disk_format="qcow2",
             container_format="bare", size=10, protected=True,
             checksum="c" * 32, os_hash_value="h1",
             properties={"os_distro": "ubuntu", "arch": "x86_64"},
             tags=["gold", "linux"]),
        dict(name="beta", status="queued", disk_format="raw",
             container_format="bare", size=None,
             properties={"os_distro": "fedora"}, tags=["linux"]),
        dict(name="gamma", status="active", disk_format="raw",
             container_format="ovf", size=300,
             properties={"os_distro": "ubuntu", "arch": "aarch64"},
             tags=["gold"]),
        dict(name="delta", status="killed", disk_format="iso",
             container_format="bare", size=40, owner="p9"),
    ]
    created = {}
    for minute, spec in enumerate(specs):
        values = {"visibility": "public", "owner": "p1",
                  "created_at": at(minute), "updated_at": at(10 - minute)}
        values.update(spec)
        created[spec["name"]] = api.image_create(values)
    return created


FILTER_CASES = [
    ({"name": "alpha"}, ["alpha"]),
    ({"name": ["alpha", "gamma", "nope"]}, ["alpha", "gamma"]),
    ({"status": "active"}, ["alpha", "gamma"]),
    ({"status": ["queued", "killed"]}, ["beta", "delta"]),
    ({"owner": "p9"}, ["delta"]),
    ({"disk_format": "raw"}, ["beta", "gamma"]),
    ({"disk_format": ["iso", "qcow2"]}, ["alpha", "delta"]),
    ({"container_format": "ovf"}, ["gamma"]),
    ({"container_format": ["bare"], "disk_format": "raw"}, ["beta"]),
    ({"protected": True}, ["alpha"]),
    ({"protected": False}, ["beta", "delta", "gamma"]),
    ({"protected": "false"}, ["beta", "delta", "gamma"]),
    ({"size_min": 40}, ["delta", "gamma"]),
    ({"size_max": 40}, ["alpha", "delta"]),
    ({"size_min": "11", "size_max": 299}, ["delta"]),
    ({"checksum": "c" * 32}, ["alpha"]),
    ({"os_hash_value": "h1"}, ["alpha"]),
    ({"tags": ["gold"]}, ["alpha", "gamma"]),
    ({"tags": ["gold", "linux"]}, ["alpha"]),
    ({"tags": ["gold", "nope"]}, []),
    ({"os_distro": "ubuntu"}, ["alpha", "gamma"]),
    ({"os_distro": "ubuntu", "arch": "aarch64"}, ["gamma"]),
    ({"os_distro": ["fedora", "arch"]}, ["beta"]),
    ({"arch": "nope"}, []),
    ({"created_at": [("gt", at(1))]}, ["delta", "gamma"]),
    ({"created_at": [("gte", at(1))]}, ["beta", "delta", "gamma"]),
    ({"created_at": [("lt", at(1))]}, ["alpha"]),
    ({"created_at": [("lte", at(1))]}, ["alpha", "beta"]),
    ({"created_at": [("eq", at(2))]}, ["gamma"]),
    ({"created_at": [("neq", at(2))]}, ["alpha", "beta", "delta"]),
    ({"created_at": [("gt", at(0)), ("lt", at(3))]}, ["beta", "gamma"]),
    ({"created_at": [("gte", "2024-01-01T12:02:00Z")]}, ["delta", "gamma"]),
    ({"updated_at": [("lt", at(9))]}, ["delta", "gamma"]),
    ({"updated_at": [("eq", at(10))]}, ["alpha"]),
]


def test_filters(catalog):
    failures = []
    for filters, expected in FILTER_CASES:
        got = names(api.image_get_all(filters=dict(filters),
                                      project_id="p1"))
        if got != expected:
            failures.append((filters, got, expected))
    assert failures == []


def test_filter_by_id_list(catalog):
    ids = [catalog["alpha"]["id"], catalog["delta"]["id"], "nope"]
    assert names(api.image_get_all(filters={"id": ids},
                                   project_id="p1")) == ["alpha", "delta"]
    assert names(api.image_get_all(filters={"id": catalog["beta"]["id"]},
                                   project_id="p1")) == ["beta"]
    assert api.image_get_all(filters={"id": []}, project_id="p1") == []


def test_deleted_property_and_tag_do_not_match(catalog):
    alpha = catalog["alpha"]["id"]
    api.image_update(alpha, {"properties": {}, "tags": []},
                     purge_props=True)
    assert names(api.image_get_all(filters={"os_distro": "ubuntu"},
                                   project_id="p1")) == ["gamma"]
    assert names(api.image_get_all(filters={"tags": ["linux"]},
                                   project_id="p1")) == ["beta"]


@pytest.mark.parametrize("filters, error", [
    ({"created_at": [("after", T0)]}, exception.InvalidFilterOperatorValue),
    ({"created_at": [("gt", "yesterday")]},
     exception.InvalidFilterRangeValue),
    ({"created_at": ["gt"]}, exception.InvalidFilterOperatorValue),
    ({"size_min": "big"}, exception.InvalidFilterRangeValue),
    ({"protected": "perhaps"}, exception.InvalidParameterValue),
])
def test_bad_filters(db, filters, error):
    with pytest.raises(error):
        api.image_get_all(filters=filters, project_id="p1")


def test_list_returns_full_dicts(catalog):
    (alpha,) = api.image_get_all(filters={"name": "alpha"},
                                 project_id="p1")
    assert alpha == api.image_get(catalog["alpha"]["id"])
    assert alpha["properties"] == {"os_distro": "ubuntu", "arch": "x86_64"}
    assert alpha["tags"] == ["gold", "linux"]


# -- sorting ---------------------------------------------------------------

def _ordered(images, key):
    return [image[key] for image in images]


def test_default_sort_is_newest_first(catalog):
    listed = api.image_get_all(project_id="p1")
    assert _ordered(listed, "name") == ["delta", "gamma", "beta", "alpha"]


def test_sort_single_and_multiple_keys(catalog):
    def listed(keys, dirs=None):
        return _ordered(api.image_get_all(project_id="p1", sort_key=keys,
                                          sort_dir=dirs), "name")

    assert listed(["name"], ["asc"]) == ["alpha", "beta", "delta", "gamma"]
    assert listed(["name"]) == ["gamma", "delta", "beta", "alpha"]
    assert listed("name", "asc") == ["alpha", "beta", "delta", "gamma"]
    # beta's NULL size sorts lowest, highest on PostgreSQL, as Glance's
    # plain ORDER BY sorts it on each database
    if common.nulls_high(db_session.get_engine().dialect.name):
        assert listed(["size"], ["asc"]) == [
            "alpha", "delta", "gamma", "beta"]
        assert listed(["size"], ["desc"]) == [
            "beta", "gamma", "delta", "alpha"]
        assert listed(["disk_format", "size"], ["asc", "desc"]) == [
            "delta", "alpha", "beta", "gamma"]
    else:
        assert listed(["size"], ["asc"]) == [
            "beta", "alpha", "delta", "gamma"]
        assert listed(["size"], ["desc"]) == [
            "gamma", "delta", "alpha", "beta"]
        assert listed(["disk_format", "size"], ["asc", "desc"]) == [
            "delta", "alpha", "gamma", "beta"]
    assert listed(["container_format", "name"], ["desc", "asc"]) == [
        "gamma", "alpha", "beta", "delta"]
    # one direction applies to every key
    assert listed(["status", "name"], ["asc"]) == [
        "alpha", "gamma", "delta", "beta"]
    assert listed(["updated_at"], ["asc"]) == [
        "delta", "gamma", "beta", "alpha"]


def test_bad_sort(db):
    with pytest.raises(exception.InvalidSortKey):
        api.image_get_all(sort_key=["colour"])
    with pytest.raises(exception.InvalidSortKey):
        api.image_get_all(sort_key=["checksum"])
    with pytest.raises(exception.InvalidSortDir):
        api.image_get_all(sort_key=["name"], sort_dir=["up"])
    with pytest.raises(exception.InvalidSortDir):
        api.image_get_all(sort_key=["name", "size", "status"],
                          sort_dir=["asc", "desc"])
    with pytest.raises(exception.InvalidParameterValue):
        api.image_get_all(limit=-1)


# -- marker pagination -----------------------------------------------------

@pytest.fixture
def crowd(db):
    """Eleven images with repeated and missing sort values."""
    specs = [("ant", 5, "raw"), ("bee", None, "qcow2"), ("ant", 5, None),
             ("cat", 1, "raw"), (None, 9, "iso"), ("bee", 2, "raw"),
             ("ant", None, "qcow2"), ("dog", 9, None), (None, None, "raw"),
             ("cat", 1, "iso"), ("eel", 3, "raw")]
    same_time = at(0)
    images = []
    for index, (name, size, disk_format) in enumerate(specs):
        images.append(api.image_create({
            "name": name, "size": size, "disk_format": disk_format,
            "owner": "p1", "visibility": "private",
            "os_hidden": index % 4 == 0,
            # several images share a creation time: the id breaks ties
            "created_at": same_time if index % 3 else at(index)}))
    return images


SORTS = [
    (["name"], ["asc"]),
    (["name", "size"], ["desc", "asc"]),
    (["size"], ["asc"]),
    (["disk_format", "name"], ["asc", "desc"]),
    (["created_at"], ["desc"]),
    (["os_hidden", "size", "name"], ["desc", "desc", "asc"]),
    (["id"], ["asc"]),
]


@pytest.mark.parametrize("keys, dirs", SORTS)
def test_marker_pages_cover_everything(crowd, keys, dirs):
    listing = functools.partial(api.image_get_all, project_id="p1",
                                sort_key=keys, sort_dir=dirs)
    full = listing()
    visible = [i for i in crowd if not i["os_hidden"]]
    assert [i["id"] for i in full] == [
        i["id"] for i in _reference(visible, keys, dirs)]
    for limit in range(1, len(full) + 1):
        pages, marker = [], None
        while True:
            page = listing(limit=limit, marker=marker)
            assert len(page) <= limit
            if not page:
                break
            pages.extend(page)
            # a marker that does not move on would page forever
            assert len(pages) <= len(full), (limit, marker)
            marker = page[-1]["id"]
        assert [i["id"] for i in pages] == [i["id"] for i in full], limit


def _reference(images, keys, dirs):
    ordered = list(images)
    keys = list(keys)
    dirs = list(dirs)
    default_dir = dirs[0] if len(dirs) == 1 else "desc"
    for extra in ("created_at", "id"):
        if extra not in keys:
            keys.append(extra)
            dirs.append(default_dir)
    # NULL sorts lowest, highest on PostgreSQL
    high = common.nulls_high(db_session.get_engine().dialect.name)
    for key, direction in reversed(list(zip(keys, dirs, strict=True))):
        ordered.sort(key=lambda i, k=key: ((i[k] is None) == high,
                                           i[k] if i[k] is not None else 0),
                     reverse=direction == "desc")
    return ordered


def test_marker_errors(crowd, db):
    other = api.image_create({"owner": "p2", "visibility": "private"})
    with pytest.raises(exception.NotFound):
        api.image_get_all(project_id="p1", marker="nope")
    with pytest.raises(exception.NotFound):
        api.image_get_all(project_id="p1", marker=other["id"])
    # an admin may page from anyone's image
    assert api.image_get_all(is_admin=True, marker=other["id"]) is not None
    gone = crowd[1]
    api.image_destroy(gone["id"])
    with pytest.raises(exception.NotFound):
        api.image_get_all(project_id="p1", marker=gone["id"])


def test_marker_of_visible_but_filtered_out_image(crowd):
    hidden = crowd[0]
    assert hidden["os_hidden"]
    page = api.image_get_all(project_id="p1", marker=hidden["id"],
                             sort_key=["name"], sort_dir=["asc"])
    assert hidden["id"] not in [i["id"] for i in page]


def test_limit_zero(crowd):
    assert api.image_get_all(project_id="p1", limit=0) == []


# -- statement counts ------------------------------------------------------

def test_page_statement_count_is_constant(db, count_statements):
    def make(count, prefix):
        for n in range(count):
            image = api.image_create({
                "name": "%s%02d" % (prefix, n), "owner": "p%s" % prefix,
                "properties": {"a": "1", "b": str(n)},
                "tags": ["t1", "t2", "t%d" % n]})
            api.image_location_add(image["id"], "file:///%d" % n)
            api.image_member_create(image["id"], "viewer",
                                    status="accepted")

    make(1, "x")
    make(20, "y")

    def count(owner, **kwargs):
        with count_statements() as counter:
            page = api.image_get_all(filters={"owner": owner},
                                     project_id="viewer", **kwargs)
        return len(page), counter.count

    one = count("px")
    twenty = count("py")
    assert one[0] == 1 and twenty[0] == 20
    assert one[1] == twenty[1]
    # with a marker: one more statement, still not per image
    first = api.image_get_all(filters={"owner": "py"}, project_id="viewer",
                              limit=1)
    with_marker = count("py", marker=first[0]["id"])
    assert with_marker == (19, twenty[1] + 1)


# -- built statements --------------------------------------------------------

def test_a_first_page_statement_is_built_once_and_reads_fresh_rows(
        db, monkeypatch):
    from glance.db import image_query
    monkeypatch.setattr(image_query, "_PAGES", image_query._Statements(16))
    api.image_create({"name": "one", "owner": "p1", "visibility": "public"})
    before = 0
    viewer = "p9"
    args = {"filters": {"name": ["one", "two"]}, "project_id": viewer,
            "limit": 5}
    assert names(api.image_get_all(**args)) == ["one"]
    assert len(image_query._PAGES) == before + 1
    api.image_create({"name": "two", "owner": "p2", "visibility": "public"})
    # the same statement, run again: the rows are read each time
    assert names(api.image_get_all(**args)) == ["one", "two"]
    assert len(image_query._PAGES) == before + 1
    # another viewer, filter or limit is another statement
    assert names(api.image_get_all(**dict(args, project_id=viewer + "b"))) \
        == ["one", "two"]
    assert names(api.image_get_all(**dict(args, limit=1))) == ["two"]
    assert len(image_query._PAGES) == before + 3


def test_a_list_and_a_tuple_filter_are_told_apart():
    from glance.db import image_query
    key = functools.partial(image_query._statement_key,
                            (None, "p1", False, "accepted"),
                            keys=["created_at"], dirs=["desc"], limit=5,
                            dialect="sqlite")
    as_list = key({"created_at": [("gt", "2024-01-01")]})
    as_tuple = key({"created_at": ("gt", "2024-01-01")})
    assert as_list != as_tuple and None not in (as_list, as_tuple)
    assert key({"x": {"a": 1}}) is None  # not frozen here: not reused


def test_a_refused_filter_is_refused_every_time(db):
    for _ in range(2):
        with pytest.raises(exception.InvalidFilterRangeValue):
            api.image_get_all(filters={"size_min": "big"}, project_id="p1")
        with pytest.raises(exception.InvalidParameterValue):
            api.image_get_all(filters={"visibility": "everyone"})


def test_built_statements_are_bounded():
    from glance.db import image_query
    statements = image_query._Statements(2)
    for name in "abc":
        statements.put(name, name.upper())
    assert statements.get("a") is None and len(statements) == 2
    statements.get("b")            # used: kept over "c"
    statements.put("d", "D")
    assert (statements.get("b"), statements.get("c")) == ("B", None)


def test_listed_tags_and_locations_keep_their_insertion_order(db):
    # the children of a page come unordered from the database
    tags = ["zeta", "alpha", "mid", "beta"]
    urls = ["file:///z", "file:///a", "file:///m"]
    ids = []
    for n in range(3):
        image = api.image_create({"name": "i%d" % n, "owner": "p1",
                                  "tags": tags[n:] + tags[:n]})
        for url in urls[n:] + urls[:n]:
            api.image_location_add(image["id"], url + str(n))
        ids.append(image["id"])
    listed = {i["id"]: i for i in api.image_get_all(project_id="p1")}
    for n, image_id in enumerate(ids):
        got = listed[image_id]
        assert got == api.image_get(image_id)
        assert got["tags"] == tags[n:] + tags[:n]
        assert [loc["url"] for loc in got["locations"]] == [
            url + str(n) for url in urls[n:] + urls[:n]]


def test_listed_location_metadata_empty_or_not(db):
    image = api.image_create({"name": "m", "owner": "p1"})
    metadata = [None, {}, {"store": "fast", "n": [1, {"k": "v"}]}]
    for n, meta in enumerate(metadata):
        api.image_location_add(image["id"], "file:///%d" % n,
                               metadata=meta)
    for page in (api.image_get_all(project_id="p1"),
                 api.image_get_all(project_id="p1", limit=5)):
        locations = page[0]["locations"]
        assert [loc["metadata"] for loc in locations] == [
            {}, {}, metadata[2]]
        # each location's metadata is its own dict
        locations[0]["metadata"]["x"] = 1
        assert locations[1]["metadata"] == {}
        assert page[0] == dict(api.image_get(image["id"]),
                               locations=locations)
