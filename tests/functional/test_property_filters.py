"""Property protections against the real daemon: a list filter on a
property the caller may not read matches nothing, so which images come
back cannot tell its value."""
import pytest

from tests.functional.apiclient import ADMIN, Api, MEMBER, OCTET
from tests.functional.apiclient import new_project

RULES = """\
[^x_billing_]
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


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from tests.functional.server import GlanceServer
    base = tmp_path_factory.mktemp("property-filters")
    rules = base / "protections.conf"
    rules.write_text(RULES)
    server = GlanceServer(base, flavor="trusted-auth", workers=1, conf={
        "DEFAULT": {"property_protection_file": str(rules),
                    "property_protection_rule_format": "roles"}})
    server.start()
    yield server
    server.stop()


def listed(api, **params):
    r = api.get("/v2/images", params=params)
    assert r.status_code == 200, r.text
    return [image["id"] for image in r.json()["images"]]


def test_filter_on_unreadable_property_matches_nothing(srv):
    member = Api(srv.url, new_project("m"), MEMBER)
    admin = Api(srv.url, member.project, ADMIN)
    img = admin.create(x_billing_code="42", x_note="hi", visibility="shared")
    other = admin.create(x_billing_code="7")
    # the admin finds the image by the protected property, right value only
    assert listed(admin, x_billing_code="42") == [img["id"]]
    assert listed(admin, x_billing_code="7") == [other["id"]]
    assert listed(admin, x_billing_code="0") == []
    # the member sees the images, not the property...
    assert set(listed(member)) == {img["id"], other["id"]}
    assert "x_billing_code" not in member.image(img["id"])
    # ...and the filter cannot tell a right guess from a wrong one
    for guess in ("42", "7", "0"):
        assert listed(member, x_billing_code=guess) == [], guess
    assert listed(member, x_billing_code="42", x_note="hi") == []
    # filters on readable properties and attributes still work
    assert listed(member, x_note="hi") == [img["id"]]
    assert listed(member, x_note="hi", visibility="shared") == [img["id"]]
    # a filtered page is checked like any other
    r = member.get("/v2/images", params={"x_billing_code": "42",
                                         "marker": "no-such-image"})
    assert r.status_code == 400


def test_attribute_filters_are_not_property_rules(tmp_path):
    """With rules for some properties only (no catch-all), filters on the
    image's own attributes are still filters, never protected guesses."""
    from tests.functional.server import GlanceServer
    rules = tmp_path / "protections.conf"
    rules.write_text(RULES.split("[.*]")[0])
    server = GlanceServer(tmp_path, flavor="trusted-auth", workers=1, conf={
        "DEFAULT": {"property_protection_file": str(rules),
                    "property_protection_rule_format": "roles"}})
    server.start()
    try:
        owner = Api(server.url, new_project("o"), MEMBER)
        img = owner.create(min_ram=512, min_disk=3, disk_format="raw",
                           container_format="bare")
        r = owner.put("/v2/images/%s/file" % img["id"], data=b"x" * 10,
                      headers={"Content-Type": OCTET})
        assert r.status_code == 204, r.text
        for params in ({"min_ram": "512"}, {"min_disk": "3"},
                       {"size": "10"}, {"size_min": "10"},
                       {"size_max": "10"}, {"virtual_size": "10"}):
            assert listed(owner, **params) == [img["id"]], params
        assert listed(owner, min_ram="256") == []
    finally:
        server.stop()
