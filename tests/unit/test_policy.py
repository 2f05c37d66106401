"""Default policies, the enforcer and targets, with real request contexts."""
import pytest
from oslo_policy import policy as oslo_policy

from glance import policy
from glance.common import exception
from glance.context import RequestContext
from glance import policies

P1, P2, P3 = "p1", "p2", "p3"
IMAGE_ID = "6a0a3cbb-3a4e-4bd6-8d1b-0b1b2f59c2a1"


def ctx(project, *roles, **kw):
    return RequestContext(project_id=project, user_id="u-" + project,
                          roles=list(roles), **kw)


ADMIN = ctx(P1, "admin", "member", "reader")
MEMBER = ctx(P1, "member", "reader")
OTHER = ctx(P2, "member", "reader")
READER = ctx(P1, "reader")
OTHER_READER = ctx(P2, "reader")
PERSONAS = {"admin": ADMIN, "member": MEMBER, "other": OTHER,
            "reader": READER, "other_reader": OTHER_READER}


def image(visibility="private", owner=P1, **extra):
    img = {"id": IMAGE_ID, "name": "img", "owner": owner,
           "visibility": visibility, "status": "active",
           "protected": False}
    img.update(extra)
    return img


@pytest.fixture(autouse=True)
def enforcer():
    policy.reset()
    yield policy.get_enforcer()
    policy.reset()


def allowed(persona, action, img=None):
    context = PERSONAS[persona]
    target = policy.image_target(img or image(), context)
    return policy.check(context, action, target)


# -- the matrix on a private image of p1 --

MATRIX = {
    # action:            admin  member other  reader other_reader
    "get_image":         (True, True, False, True, False),
    "modify_image":      (True, True, False, False, False),
    "delete_image":      (True, True, False, False, False),
    "download_image":    (True, True, False, False, False),
    "upload_image":      (True, True, False, False, False),
    "publicize_image":   (True, False, False, False, False),
    "communitize_image": (True, True, False, False, False),
    "deactivate":        (True, True, False, False, False),
    "reactivate":        (True, True, False, False, False),
    "copy_image":        (True, False, False, False, False),
    "get_image_location": (True, True, False, True, False),
    "set_image_location": (True, True, False, False, False),
    "delete_image_location": (True, False, False, False, False),
    "add_member":        (True, True, False, False, False),
    "delete_member":     (True, True, False, False, False),
    "get_members":       (True, True, False, True, False),
    "get_member":        (True, True, False, True, False),
    "modify_member":     (True, False, False, False, False),
    "tasks_api_access":  (True, False, False, False, False),
    "cache_image":       (True, False, False, False, False),
    "cache_list":        (True, False, False, False, False),
    "cache_delete":      (True, False, False, False, False),
    "cache_clean":       (True, False, False, False, False),
    "cache_prune":       (True, False, False, False, False),
    "manage_image_cache": (True, False, False, False, False),
    "stores_info_detail": (True, False, False, False, False),
    "fetch_image_location": (True, False, False, False, False),
    "context_is_admin":  (True, False, False, False, False),
}


@pytest.mark.parametrize("action", sorted(MATRIX))
def test_private_image_matrix(action):
    got = tuple(allowed(p, action) for p in
                ("admin", "member", "other", "reader", "other_reader"))
    assert got == MATRIX[action]


@pytest.mark.parametrize("visibility", ["public", "community", "shared"])
def test_visible_image_readable_by_other_projects(visibility):
    img = image(visibility)
    assert allowed("other", "get_image", img)
    assert allowed("other_reader", "get_image", img)
    assert allowed("other", "download_image", img)
    # a reader may look but not download
    assert not allowed("other_reader", "download_image", img)
    # and nobody but the owner project changes it
    for action in ("modify_image", "delete_image", "upload_image",
                   "deactivate", "add_member"):
        assert not allowed("other", action, img), action


def test_shared_image_member_acts_on_its_membership():
    img = image("shared")
    # the consumer (member project) accepts/rejects; the owner cannot
    assert allowed("other", "modify_member", img)
    assert not allowed("member", "modify_member", img)
    assert not allowed("other_reader", "modify_member", img)
    # both sides may read memberships
    assert allowed("other_reader", "get_member", img)
    assert allowed("other_reader", "get_members", img)
    assert allowed("reader", "get_members", img)
    # a third project is not a member of a private image
    third = ctx(P3, "member", "reader")
    target = policy.member_target(image("private"), third)
    assert not policy.check(third, "get_members", target)


def test_listing_uses_the_callers_project():
    for persona in ("admin", "member", "reader", "other_reader"):
        c = PERSONAS[persona]
        assert policy.check(c, "get_images", policy.new_image_target(c))
        assert policy.check(c, "get_images")  # default target: own project
    nobody = ctx(P1)  # no role at all
    assert not policy.check(nobody, "get_images")


def test_add_image_rules():
    assert policy.check(MEMBER, "add_image", policy.new_image_target(MEMBER))
    assert not policy.check(READER, "add_image",
                            policy.new_image_target(READER))
    # for another project: admin only
    assert not policy.check(MEMBER, "add_image",
                            policy.new_image_target(MEMBER, {"owner": P2}))
    assert policy.check(ADMIN, "add_image",
                        policy.new_image_target(ADMIN, {"owner": P2}))


def test_enforce_create_image():
    assert policy.enforce_create_image(MEMBER, {"name": "x"})
    assert policy.enforce_create_image(MEMBER, {"visibility": "community"})
    assert policy.enforce_create_image(ADMIN, {"visibility": "public",
                                               "owner": P3})
    with pytest.raises(exception.Forbidden) as e:
        policy.enforce_create_image(MEMBER, {"visibility": "public"})
    assert "publicize_image" in str(e.value)
    with pytest.raises(exception.Forbidden) as e:
        policy.enforce_create_image(MEMBER, {"owner": P2})
    assert "owned by 'p2'" in str(e.value)
    with pytest.raises(exception.Forbidden) as e:
        policy.enforce_create_image(READER, {})
    assert e.value.code == 403


def test_enforce_raises_forbidden():
    with pytest.raises(exception.Forbidden) as e:
        policy.enforce(READER, "modify_image",
                       policy.image_target(image(), READER))
    assert e.value.code == 403
    assert str(e.value) == ("You are not authorized to complete "
                            "modify_image action.")
    assert policy.enforce(MEMBER, "modify_image",
                          policy.image_target(image(), MEMBER))


def test_enforce_image_action_hides_invisible_images():
    # another project's private image: 404, not 403
    with pytest.raises(exception.ImageNotFound) as e:
        policy.enforce_image_action(OTHER, "delete_image", image())
    assert e.value.code == 404
    with pytest.raises(exception.ImageNotFound):
        policy.enforce_image_action(OTHER, "get_image", image())
    # visible but not theirs: 403
    with pytest.raises(exception.Forbidden) as e:
        policy.enforce_image_action(OTHER, "delete_image", image("public"))
    assert e.value.code == 403
    assert policy.enforce_image_action(MEMBER, "delete_image", image())


def test_check_is_admin():
    assert policy.check_is_admin(ADMIN)
    assert not policy.check_is_admin(MEMBER)
    # oslo.policy compares role names case-insensitively
    assert policy.check_is_admin(ctx(P1, "Admin"))
    assert not policy.check_is_admin(ctx(P1, "administrator"))


def test_creds_are_oslo_policys_own(enforcer):
    # the copy of the policy values equals oslo.policy's key-by-key copy,
    # the is_admin flag this project adds included
    context = RequestContext(
        user_id="u", project_id="p", roles=["member", "reader"],
        user_domain_id="d", project_domain_id="pd", is_admin=True,
        service_roles=["service"], system_scope=None)
    creds = enforcer._map_context_attributes_into_creds(context)
    expected = oslo_policy.Enforcer._map_context_attributes_into_creds(
        enforcer, context)
    assert creds == expected
    assert creds["is_admin"] is True and creds["roles"] == ["member",
                                                             "reader"]
    assert type(creds) is dict
    creds["roles"] = ["changed"]   # a copy: the context keeps its own
    assert context.roles == ["member", "reader"]


def test_a_rule_on_is_admin_sees_the_flag(tmp_path, conf):
    path = tmp_path / "policy.yaml"
    path.write_text('"get_images": "is_admin:True"\n')
    conf(policy_file=str(path), group="oslo_policy")
    policy.reset()
    admin = ctx(P1, "member")
    admin.is_admin = True
    assert policy.check(admin, "get_images")
    assert not policy.check(ctx(P1, "member"), "get_images")


def test_unknown_action_is_a_programming_error(enforcer):
    with pytest.raises(oslo_policy.PolicyNotRegistered):
        policy.check(ADMIN, "no_such_rule")


def test_system_scoped_token_is_refused():
    system_admin = RequestContext(user_id="u", roles=["admin"],
                                  system_scope="all")
    assert not policy.check(system_admin, "get_images")
    with pytest.raises(exception.Forbidden):
        policy.enforce(system_admin, "add_image")


def test_check_rule_named_rules(enforcer):
    assert enforcer.check_rule(ADMIN, "context_is_admin")
    assert not enforcer.check_rule(MEMBER, "context_is_admin")
    # an undefined rule falls back to the "default" rule, as oslo.policy
    # (and so Glance) does: by default that lets everyone through
    assert enforcer.check_rule(MEMBER, "undefined_rule")


def test_check_rule_undefined_follows_default_rule(tmp_path, conf):
    path = tmp_path / "policy.yaml"
    path.write_text('"default": "role:admin"\n')
    conf(policy_file=str(path), group="oslo_policy")
    policy.reset()
    enforcer = policy.get_enforcer()
    assert not enforcer.check_rule(MEMBER, "undefined_rule")
    assert enforcer.check_rule(ADMIN, "undefined_rule")


# -- targets --

def test_image_target_shape():
    img = image("shared", properties={"hw_disk_bus": "scsi"},
                locations=[{"url": "file:///x", "metadata": {}}])
    t = policy.image_target(img, OTHER)
    assert t["project_id"] == P1 and t["owner"] == P1
    assert t["visibility"] == "shared"
    assert t["member_id"] == P2 and t["member"] == P2
    assert t["id"] == IMAGE_ID and t["image_id"] == IMAGE_ID
    assert t["hw_disk_bus"] == "scsi"
    assert "locations" not in t and "properties" not in t


def test_image_target_member_only_for_shared_non_owner():
    assert policy.image_target(image("shared"), MEMBER)["member_id"] is None
    assert policy.image_target(image("private"), OTHER)["member_id"] is None
    assert policy.image_target(image("shared"))["member_id"] is None
    explicit = image("private", member_id=P3)
    assert policy.image_target(explicit, OTHER)["member_id"] == P3


def test_base_attributes_win_over_custom_properties():
    t = policy.image_target(image(extra_properties={"owner": "evil"}))
    assert t["owner"] == P1 and t["project_id"] == P1


def test_custom_property_in_an_overridden_rule(tmp_path, conf):
    path = tmp_path / "policy.yaml"
    path.write_text('"download_image": "role:member and '
                    '\'yes\':%(x_downloadable)s"\n')
    conf(policy_file=str(path), group="oslo_policy")
    policy.reset()
    assert policy.check(MEMBER, "download_image", policy.image_target(
        image(properties={"x_downloadable": "yes"}), MEMBER))
    assert not policy.check(MEMBER, "download_image",
                            policy.image_target(image(), MEMBER))


# -- configuration: policy file and legacy defaults --

def test_policy_file_overrides_defaults(tmp_path, conf):
    path = tmp_path / "policy.yaml"
    path.write_text('"publicize_image": "role:member"\n'
                    '"tasks_api_access": "role:reader"\n')
    conf(policy_file=str(path), group="oslo_policy")
    policy.reset()
    target = policy.image_target(image(), MEMBER)
    assert policy.check(MEMBER, "publicize_image", target)
    assert policy.check(READER, "tasks_api_access", {})
    # untouched rules keep their defaults
    assert not policy.check(READER, "modify_image", target)


def test_policy_file_change_is_picked_up(tmp_path, conf):
    path = tmp_path / "policy.yaml"
    path.write_text('"cache_list": "!"\n')
    conf(policy_file=str(path), group="oslo_policy")
    policy.reset()
    assert not policy.check(ADMIN, "cache_list", {})
    path.write_text('"cache_list": "role:reader"\n')
    import os
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    assert policy.check(READER, "cache_list", {})


def test_missing_policy_file_means_defaults(tmp_path, conf):
    conf(policy_file=str(tmp_path / "absent.yaml"), group="oslo_policy")
    policy.reset()
    assert policy.check(MEMBER, "modify_image",
                        policy.image_target(image(), MEMBER))
    assert not policy.check(READER, "modify_image",
                            policy.image_target(image(), READER))


def test_legacy_defaults_when_new_defaults_disabled(conf):
    conf(enforce_new_defaults=False, group="oslo_policy")
    policy.reset()
    target = policy.image_target(image(), READER)
    # the deprecated "rule:default" ('' - anyone) is OR-ed back in
    assert policy.check(READER, "modify_image", target)
    assert policy.check(OTHER_READER, "add_image",
                        policy.new_image_target(OTHER_READER))
    # rules that were never relaxed stay as they are
    assert not policy.check(MEMBER, "publicize_image", target)


def test_new_defaults_are_the_default():
    from oslo_config import cfg
    policy.get_enforcer()
    assert cfg.CONF.oslo_policy.enforce_new_defaults is True
    assert cfg.CONF.oslo_policy.policy_file == "policy.yaml"


# -- the registered defaults --

EXPECTED_RULES = {
    "default", "context_is_admin", "service_api",
    "add_image", "get_image", "get_images", "modify_image",
    "publicize_image", "communitize_image", "delete_image",
    "download_image", "upload_image", "deactivate", "reactivate",
    "copy_image", "get_image_location", "set_image_location",
    "delete_image_location", "add_image_location", "fetch_image_location",
    "add_member", "get_member", "get_members", "modify_member",
    "delete_member", "manage_image_cache", "get_task", "get_tasks",
    "add_task", "modify_task", "tasks_api_access", "cache_image",
    "cache_list", "cache_delete", "cache_clean", "cache_prune",
    "stores_info_detail", "list_cached_nodes",
    # the metadefs catalog (glance.policies.metadefs)
    "metadef_default", "metadef_admin", "get_metadef_namespace",
    "get_metadef_namespaces", "modify_metadef_namespace",
    "add_metadef_namespace", "delete_metadef_namespace",
    "get_metadef_object", "get_metadef_objects", "modify_metadef_object",
    "add_metadef_object", "delete_metadef_object",
    "list_metadef_resource_types", "get_metadef_resource_type",
    "add_metadef_resource_type_association",
    "remove_metadef_resource_type_association", "get_metadef_property",
    "get_metadef_properties", "modify_metadef_property",
    "add_metadef_property", "remove_metadef_property", "get_metadef_tag",
    "get_metadef_tags", "modify_metadef_tag", "add_metadef_tag",
    "add_metadef_tags", "delete_metadef_tag", "delete_metadef_tags",
}


def test_list_rules():
    rules = policies.list_rules()
    names = [r.name for r in rules]
    assert len(names) == len(set(names))
    assert set(names) == EXPECTED_RULES
    by_name = {r.name: r for r in rules}
    assert by_name["default"].check_str == ""
    assert by_name["context_is_admin"].check_str == "role:admin"
    assert by_name["publicize_image"].check_str == "rule:context_is_admin"
    assert by_name["get_task"].check_str == "rule:default"
    for rule in rules:
        if isinstance(rule, oslo_policy.DocumentedRuleDefault):
            assert rule.scope_types == ["project"], rule.name
            assert rule.description and rule.operations, rule.name


def test_entry_point_declared():
    from importlib import metadata
    eps = metadata.entry_points(group="oslo.policy.policies")
    glance_eps = [ep for ep in eps if ep.name == "glance"]
    assert glance_eps and glance_eps[0].value == "glance.policies:list_rules"


def test_task_rules_open_internally():
    # the per-call task rules let everyone through; the API gate is
    # tasks_api_access
    for action in ("get_task", "get_tasks", "add_task"):
        assert policy.check(READER, action, {})
