"""Listing images by a property the caller may not read tells nothing
(glance.services.images.list_images on SQLite with property
protections)."""
import uuid

import pytest

from glance.common import exception
from glance import property_utils
from glance import context
from glance.db import api as db
from glance.db import image_filters
from glance.services import images

RULES = """\
[^x_secret_]
create = admin
read = admin
update = admin
delete = admin

[.*]
create = @
read = @
update = @
delete = @
"""


@pytest.fixture
def protected(sqlite_db, tmp_path, conf):
    rules = tmp_path / "protections.conf"
    rules.write_text(RULES)
    conf(property_protection_file=str(rules))
    property_utils.reset()
    yield
    property_utils.reset()


def ctx(project, *roles):
    return context.RequestContext(project_id=project, user_id="u",
                                  roles=list(roles),
                                  is_admin="admin" in roles)


@pytest.fixture
def projects(protected):
    """(admin context, member context, id of the member's image holding
    x_secret_tier=gold and x_note=hi)."""
    project = "p-" + uuid.uuid4().hex[:8]
    image = db.image_create({"owner": project, "disk_format": "raw",
                             "container_format": "bare",
                             "properties": {"x_secret_tier": "gold",
                                            "x_note": "hi"}})
    return (ctx(project, "admin", "member", "reader"),
            ctx(project, "member", "reader"), image["id"])


def ids(context, **filters):
    found, _next = images.list_images(context, filters)
    return [i["id"] for i in found]


def test_admin_finds_the_image_by_the_protected_property(projects):
    admin, _member, image_id = projects
    assert ids(admin, x_secret_tier="gold") == [image_id]
    assert ids(admin, x_secret_tier="silver") == []


def test_member_learns_nothing_from_the_protected_property(projects):
    _admin, member, image_id = projects
    assert ids(member) == [image_id]
    assert ids(member, x_secret_tier="gold") == []
    assert ids(member, x_secret_tier="silver") == []
    assert ids(member, x_secret_tier="gold", x_note="hi") == []
    # readable properties and base filters still work
    assert ids(member, x_note="hi") == [image_id]
    assert ids(member, x_note="hi", disk_format="raw") == [image_id]


def test_the_request_is_still_checked(projects):
    _admin, member, _image_id = projects
    with pytest.raises(exception.Invalid, match="No image found with ID"):
        images.list_images(member, {"x_secret_tier": "gold"},
                           marker=str(uuid.uuid4()))


def test_without_protections_every_filter_applies(sqlite_db, conf):
    conf(property_protection_file=None)
    property_utils.reset()
    project = "p-" + uuid.uuid4().hex[:8]
    image = db.image_create({"owner": project, "properties": {
        "x_secret_tier": "gold"}})
    assert ids(ctx(project, "member", "reader"), x_secret_tier="gold") == \
        [image["id"]]


def test_base_filters_cover_the_database_filters():
    # Anything the database filters on by column is not a property.
    database = (image_filters.COLUMN_FILTERS | image_filters.BOOL_FILTERS |
                image_filters.DATE_FILTERS |
                {"visibility", "size_min", "size_max", "tags"})
    assert database <= images.BASE_FILTERS
