"""Operator configuration of authorization against the real daemon: a
policy file overriding defaults, property protections in both formats,
and the image actions (deactivate/reactivate) under the default rules."""
import textwrap

import pytest

from tests.functional.apiclient import ADMIN, Api, MEMBER, READER, \
    new_project

OCTET = {"Content-Type": "application/octet-stream"}


def _active_image(api, data=b"some image data"):
    img = api.create(disk_format="raw", container_format="bare")
    resp = api.put("/v2/images/%s/file" % img["id"], data=data,
                   headers=OCTET)
    assert resp.status_code == 204, resp.text
    return img["id"]


def test_policy_file_overrides_defaults(glance_server, tmp_path):
    policy = tmp_path / "policy.yaml"
    # listing images needs admin; making community images is forbidden
    policy.write_text(textwrap.dedent("""\
        "get_images": "role:admin"
        "communitize_image": "!"
    """))
    srv = glance_server(workers=1, flavor="trusted-auth",
                        conf={"oslo_policy": {"policy_file": str(policy)}})
    member = Api(srv.url, new_project("m"))
    admin = Api(srv.url, member.project, ADMIN)
    assert member.get("/v2/images").status_code == 403
    assert admin.get("/v2/images").status_code == 200
    resp = member.post("/v2/images", json={"visibility": "community"})
    assert resp.status_code == 403
    assert member.post("/v2/images", json={}).status_code == 201


ROLES_RULES = """\
[^x_billing_]
create = admin
read = admin
update = admin
delete = admin

[^x_public_]
create = member
read = @
update = member
delete = !

[.*]
create = @
read = @
update = @
delete = @
"""

POLICIES_RULES = """\
[^x_billing_]
create = context_is_admin
read = context_is_admin
update = context_is_admin
delete = context_is_admin

[.*]
create = default
read = default
update = default
delete = default
"""


@pytest.mark.parametrize("rule_format,rules", [("roles", ROLES_RULES),
                                                ("policies", POLICIES_RULES)])
def test_property_protections(glance_server, tmp_path, rule_format, rules):
    rules_file = tmp_path / "protections.conf"
    rules_file.write_text(rules)
    srv = glance_server(workers=1, flavor="trusted-auth", conf={
        "DEFAULT": {"property_protection_file": str(rules_file),
                    "property_protection_rule_format": rule_format}})
    member = Api(srv.url, new_project("m"))
    admin = Api(srv.url, member.project, ADMIN)
    assert member.post("/v2/images", json={"x_billing_code": "1"}) \
        .status_code == 403
    img = admin.create(x_billing_code="42", plain="yes")
    # a member neither sees nor can change the admin-only property
    shown = member.image(img["id"])
    assert "x_billing_code" not in shown and shown["plain"] == "yes"
    assert admin.image(img["id"])["x_billing_code"] == "42"
    resp = member.patch(img["id"], [{"op": "replace",
                                     "path": "/x_billing_code",
                                     "value": "0"}])
    assert resp.status_code in (403, 409)
    # changing something else keeps the hidden property
    resp = member.patch(img["id"], [{"op": "replace", "path": "/plain",
                                     "value": "no"}])
    assert resp.status_code == 200, resp.text
    assert admin.image(img["id"])["x_billing_code"] == "42"
    if rule_format == "roles":
        made = member.create(x_public_note="hi")
        resp = member.patch(made["id"], [{"op": "remove",
                                          "path": "/x_public_note"}])
        assert resp.status_code == 403
        reader = Api(srv.url, member.project, READER)
        assert reader.image(made["id"])["x_public_note"] == "hi"


def test_invalid_protection_file_stops_the_daemon(glance_server, tmp_path):
    rules_file = tmp_path / "bad.conf"
    rules_file.write_text("[^x_]\ncreate = admin\n")  # operations missing
    srv = glance_server(wait=False, workers=1, flavor="trusted-auth", conf={
        "DEFAULT": {"property_protection_file": str(rules_file)}})
    assert srv.wait_for_exit(timeout=30) != 0


def test_deactivate_and_reactivate(trusted_server):
    owner = Api(trusted_server.url, new_project("o"))
    image_id = _active_image(owner)
    reader = Api(trusted_server.url, owner.project, READER)
    other = Api(trusted_server.url, new_project("x"), MEMBER)
    admin = Api(trusted_server.url, new_project("a"), ADMIN)
    path = "/v2/images/%s/actions/" % image_id
    assert reader.post(path + "deactivate").status_code == 403
    assert other.post(path + "deactivate").status_code == 404
    assert owner.post(path + "deactivate").status_code == 204
    assert owner.post(path + "deactivate").status_code == 204  # idempotent
    assert owner.image(image_id)["status"] == "deactivated"
    assert owner.get("/v2/images/%s/file" % image_id).status_code == 403
    resp = admin.get("/v2/images/%s/file" % image_id)
    assert resp.status_code == 200 and resp.content == b"some image data"
    assert owner.post(path + "reactivate").status_code == 204
    assert owner.image(image_id)["status"] == "active"
    assert owner.get("/v2/images/%s/file" % image_id).status_code == 200
