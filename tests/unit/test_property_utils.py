"""Property protections in the roles and policies formats."""
import os

import pytest

from glance import policy
from glance.common import exception
from glance import property_utils
from glance.context import RequestContext

ROLES_FILE = """
[^x_admin_.*]
create = admin
read = admin
update = admin
delete = admin

[^x_contact$]
create = admin, member
read = @
update = Member
delete = !

[^x_empty$]
create =
read = @
update = @
delete = @

[^x_.*]
create = @
read = @
update = @
delete = @
"""

POLICIES_FILE = """
[^x_billing_.*]
create = billing_editors
read = context_is_admin
update = billing_editors
delete = !

[.*]
create = @
read = @
update = @
delete = @
"""

ETC = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "etc")


def ctx(*roles, **kw):
    return RequestContext(project_id="p1", user_id="u1", roles=list(roles),
                          **kw)


@pytest.fixture
def write(tmp_path):
    def _write(text, name="protections.conf"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return _write


@pytest.fixture
def roles_rules(write, conf):
    conf(property_protection_file=write(ROLES_FILE),
         property_protection_rule_format="roles")
    return property_utils.PropertyRules()


@pytest.fixture
def fresh_policy():
    policy.reset()
    yield
    policy.reset()


def test_disabled_without_file(conf):
    assert not property_utils.is_property_protection_enabled()
    rules = property_utils.PropertyRules()
    assert rules.check_property_rules("anything", "delete", ctx())


def test_enabled_with_file(write, conf):
    conf(property_protection_file=write(ROLES_FILE))
    assert property_utils.is_property_protection_enabled()


@pytest.fixture
def fresh_rules():
    property_utils.reset()
    yield
    property_utils.reset()


def test_get_rules_singleton(write, conf, fresh_rules):
    assert property_utils.get_rules() is None
    conf(property_protection_file=write(ROLES_FILE))
    rules = property_utils.get_rules()
    assert isinstance(rules, property_utils.PropertyRules)
    assert property_utils.get_rules() is rules
    conf(property_protection_file=write(POLICIES_FILE, name="p.conf"),
         property_protection_rule_format="policies")
    assert property_utils.get_rules() is not rules
    assert property_utils.get_rules().rule_format == "policies"


def test_get_rules_bad_file_raises(write, conf, fresh_rules):
    conf(property_protection_file=write("[x]\ncreate = @\n"))
    with pytest.raises(exception.InvalidPropertyProtectionConfiguration):
        property_utils.get_rules()


# -- roles format --

@pytest.mark.parametrize("prop,action,roles,expected", [
    ("x_admin_secret", "create", ["admin"], True),
    ("x_admin_secret", "read", ["member", "reader"], False),
    ("x_admin_secret", "update", ["ADMIN"], False),  # context roles as-is
    ("x_contact", "create", ["member"], True),
    ("x_contact", "create", ["reader"], False),
    ("x_contact", "read", [], True),                  # @: anyone
    ("x_contact", "update", ["member"], True),        # rule roles lowered
    ("x_contact", "delete", ["admin"], False),        # !: nobody
    ("x_empty", "create", ["admin"], False),          # empty: nobody
    ("x_empty", "read", [], True),
    ("x_other", "delete", [], True),                  # later section
    ("unmatched", "read", ["admin"], False),          # no section matches
    ("x_contact", "frobnicate", ["admin"], False),    # unknown action
])
def test_roles_format(roles_rules, prop, action, roles, expected):
    assert roles_rules.check_property_rules(prop, action,
                                            ctx(*roles)) is expected


def test_first_matching_section_wins(roles_rules):
    # x_admin_foo also matches ^x_.* (anyone), but the admin section is first
    assert not roles_rules.check_property_rules("x_admin_foo", "read",
                                                ctx("member"))


def test_service_roles_count(roles_rules):
    context = ctx("reader", service_roles=["admin"])
    assert roles_rules.check_property_rules("x_admin_a", "read", context)
    assert context.roles == ["reader"]  # the context is not modified


def test_search_not_match(write, conf):
    conf(property_protection_file=write(
        "[secret]\ncreate = admin\nread = admin\nupdate = admin\n"
        "delete = admin\n[.*]\ncreate = @\nread = @\nupdate = @\n"
        "delete = @\n"))
    rules = property_utils.PropertyRules()
    assert not rules.check_property_rules("my_secret_key", "read",
                                          ctx("member"))


def test_relative_file_found_beside_config(write, conf, monkeypatch):
    path = write(ROLES_FILE, name="relative.conf")
    monkeypatch.setattr(property_utils.CONF, "find_file",
                        lambda name: path if name == "relative.conf"
                        else None)
    conf(property_protection_file="relative.conf")
    rules = property_utils.PropertyRules()
    assert len(rules.rules) == 4


# -- policies format --

@pytest.fixture
def policy_rules(write, conf, tmp_path, fresh_policy):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text('"billing_editors": "role:admin or role:billing"\n')
    conf(policy_file=str(policy_file), group="oslo_policy")
    conf(property_protection_file=write(POLICIES_FILE),
         property_protection_rule_format="policies")
    return property_utils.PropertyRules()


@pytest.mark.parametrize("prop,action,roles,expected", [
    ("x_billing_code", "create", ["billing"], True),
    ("x_billing_code", "create", ["admin"], True),
    ("x_billing_code", "create", ["member"], False),
    ("x_billing_code", "read", ["billing"], False),   # context_is_admin
    ("x_billing_code", "read", ["admin"], True),
    ("x_billing_code", "delete", ["admin"], False),   # !
    ("anything_else", "update", [], True),            # @
])
def test_policies_format(policy_rules, prop, action, roles, expected):
    assert policy_rules.check_property_rules(prop, action,
                                             ctx(*roles)) is expected


def test_policies_format_with_given_enforcer(write, conf, fresh_policy):
    conf(property_protection_file=write(POLICIES_FILE),
         property_protection_rule_format="policies")
    enforcer = policy.Enforcer()
    rules = property_utils.PropertyRules(policy_enforcer=enforcer)
    assert rules.policy_enforcer is enforcer
    # billing_editors is not defined: it falls back to the "default" rule
    assert rules.check_property_rules("x_billing_a", "create", ctx())


# -- invalid files --

def _load(write, conf, text, rule_format="roles"):
    conf(property_protection_file=write(text),
         property_protection_rule_format=rule_format)
    return property_utils.PropertyRules()


@pytest.mark.parametrize("text,needle", [
    ("[x_(unclosed]\ncreate = @\nread = @\nupdate = @\ndelete = @\n",
     "malformed property expression"),
    ("[x]\ncreate = @\nread = @\nupdate = @\n", "no 'delete' operation"),
    ("[x]\ncreate = @, !\nread = @\nupdate = @\ndelete = @\n",
     "cannot be used together"),
    ("no section header\n", "cannot read"),
    ("[x]\ncreate = a\n[x]\ncreate = b\n", "cannot read"),
])
def test_invalid_roles_files(write, conf, text, needle):
    with pytest.raises(
            exception.InvalidPropertyProtectionConfiguration) as e:
        _load(write, conf, text)
    assert needle in str(e.value)
    assert isinstance(e.value, exception.InvalidConfiguration)


def test_several_policies_for_one_operation(write, conf):
    text = "[x]\ncreate = a,b\nread = @\nupdate = @\ndelete = @\n"
    with pytest.raises(exception.InvalidPropertyProtectionConfiguration,
                       match="names several policies"):
        _load(write, conf, text, rule_format="policies")


def test_missing_file(conf, tmp_path):
    conf(property_protection_file=str(tmp_path / "absent.conf"))
    with pytest.raises(exception.InvalidPropertyProtectionConfiguration,
                       match="cannot find"):
        property_utils.PropertyRules()


def test_unknown_rule_format(write):
    with pytest.raises(exception.InvalidPropertyProtectionConfiguration,
                       match="property_protection_rule_format"):
        property_utils.PropertyRules(rule_format="acl",
                                     protection_file=write(ROLES_FILE))


def test_unknown_operation_is_ignored(write, conf):
    # Glance accepts (and ignores) keys other than the four operations
    rules = _load(write, conf, "[x]\ncreate = @\nread = @\nupdate = @\n"
                               "delete = @\nfrobnicate = admin\n")
    assert rules.check_property_rules("x", "read", ctx())


# -- the shipped samples load --

def test_roles_sample_loads(conf):
    conf(property_protection_file=os.path.join(
        ETC, "property-protections-roles.conf.sample"),
        property_protection_rule_format="roles")
    rules = property_utils.PropertyRules()
    assert not rules.check_property_rules("x_billing_id", "read",
                                          ctx("member"))
    assert rules.check_property_rules("x_owner_contact", "read", ctx())
    assert not rules.check_property_rules("x_build_id", "update",
                                          ctx("admin"))
    assert rules.check_property_rules("os_distro", "update", ctx())


def test_policies_sample_loads(conf, fresh_policy):
    conf(property_protection_file=os.path.join(
        ETC, "property-protections-policies.conf.sample"),
        property_protection_rule_format="policies")
    rules = property_utils.PropertyRules()
    assert rules.check_property_rules("x_billing_a", "delete", ctx("admin"))
    assert not rules.check_property_rules("x_billing_a", "delete",
                                          ctx("member"))
    assert not rules.check_property_rules("x_build_id", "update",
                                          ctx("admin"))
