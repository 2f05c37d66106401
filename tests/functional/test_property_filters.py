"""Property protections against the real daemon: a list filter on a
property the caller may not read matches nothing, so which images come
back cannot tell its value."""
import pytest

from tests.functional.apiclient import ADMIN, Api, MEMBER, new_project

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
