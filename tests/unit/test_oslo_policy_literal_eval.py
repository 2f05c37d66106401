"""oslo.policy's GenericCheck with the remembering ``ast.literal_eval`` of
glance.common.oslo_policy_adapter: the same answers, each kind parsed
once."""
import ast
from unittest import mock

from oslo_config import cfg
from oslo_policy import _checks
from oslo_policy import policy
import pytest

from glance.common import oslo_policy_adapter as adapter

RULES = {
    "own": "project_id:%(project_id)s",
    "member_role": "'member':%(role.name)s",
    "enabled": "True:%(user.enabled)s",
    "number": "42:%(count)s",
    "either": "project_id:%(project_id)s or 'member':%(role.name)s",
}
CASES = [   # (target, creds)
    ({"project_id": "p1", "role.name": "member", "user.enabled": True,
      "count": 42}, {"project_id": "p1"}),
    ({"project_id": "p1", "role.name": "reader", "user.enabled": False,
      "count": "41"}, {"project_id": "p2"}),
    ({"project_id": "p3", "role.name": "member", "user.enabled": "True",
      "count": "42"}, {"project_id": "p2"}),
]

def _answers():
    conf = cfg.ConfigOpts()
    conf([], project="glance-test")
    enforcer = policy.Enforcer(conf, use_conf=False)
    enforcer.set_rules(policy.Rules.from_dict(RULES), overwrite=True)
    return [enforcer.enforce(rule, target, creds)
            for rule in RULES for target, creds in CASES]


def test_policy_answers_are_the_same_and_each_kind_is_parsed_once():
    real = ast.literal_eval
    with mock.patch.object(_checks, "ast", ast):
        before = _answers()
    assert True in before and False in before
    remembering = adapter._RememberingAst()
    parsed = []

    def counted(text):
        parsed.append(text)
        return real(text)

    with mock.patch.object(_checks, "ast", remembering), \
            mock.patch.object(ast, "literal_eval", counted):
        assert _answers() == before
        assert _answers() == before
    # project_id, 'member', True and 42: once each, not per evaluation
    assert sorted(parsed) == sorted(set(parsed))
    assert set(parsed) == {"project_id", "'member'", "True", "42"}


@pytest.mark.parametrize("text", ["True", "'member'", "42", "[1, 2]"])
def test_a_literal_is_its_value(text):
    remembering = adapter._RememberingAst()
    for _ in range(2):
        assert remembering.literal_eval(text) == ast.literal_eval(text)


@pytest.mark.parametrize("text", ["project_id", "role.name", "a.b.c"])
def test_a_name_raises_value_error_every_time(text):
    remembering = adapter._RememberingAst()
    for _ in range(2):
        with pytest.raises(ValueError):
            remembering.literal_eval(text)


def test_what_literal_eval_refuses_otherwise_still_raises():
    remembering = adapter._RememberingAst()
    with pytest.raises(SyntaxError):
        remembering.literal_eval("a b")
    assert remembering.dump is ast.dump    # the rest of ast as it is


def test_installed_once_and_only_over_the_ast_module():
    with mock.patch.object(_checks, "ast", ast):
        assert adapter.install_literal_eval_cache() is True
        installed = _checks.ast
        assert isinstance(installed, adapter._RememberingAst)
        assert adapter.install_literal_eval_cache() is True
        assert _checks.ast is installed
    other = object()
    with mock.patch.object(_checks, "ast", other):
        assert adapter.install_literal_eval_cache() is False
        assert _checks.ast is other


def test_a_generic_check_without_literal_eval_is_left_alone():
    def call(self, target, creds, enforcer, current_rule=None):
        return True

    with mock.patch.object(_checks, "ast", ast), \
            mock.patch.object(_checks.GenericCheck, "__call__", call):
        with pytest.raises(RuntimeError, match="literal_eval"):
            adapter.check_internals()
        assert adapter.install_literal_eval_cache() is False
        assert _checks.ast is ast
