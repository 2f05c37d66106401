"""What glance relies on inside oslo.policy, in one place.

oslo.policy's private ``_checks._check`` runs ``inspect.getfullargspec``
on the check at every evaluation (several per request, about a tenth of
a request's CPU); the answer depends only on the function. The bootstrap
installs a wrapper that remembers it (:func:`install_check_arity_cache`),
only over the ``_check`` it was written against: a changed oslo.policy
runs unpatched, and :func:`check_internals` (run by the unit tests) says
what changed.

``GenericCheck`` (``project_id:%(project_id)s`` and the like) parses its
kind with ``ast.literal_eval`` at every evaluation, to learn whether it
is a literal; for a name such as ``project_id`` that parse fails by
raising. The answer depends only on the kind, a string of the policy
rules: :func:`install_literal_eval_cache` gives ``_checks`` an ``ast``
whose ``literal_eval`` remembers it (a GET of one image: 0.29-0.33 ms of
CPU in one process, 0.27-0.29 with it).
"""
import ast
import inspect

from oslo_policy import _checks

# the parameters of the _check the wrapper was written against
CHECK_PARAMETERS = ["rule", "target", "creds", "enforcer", "current_rule"]


def check_internals():
    """RuntimeError naming what changed if oslo.policy's ``_check`` is
    not the one the wrapper was written against."""
    check = getattr(_checks, "_check", None)
    if check is None:
        raise RuntimeError("oslo_policy._checks._check is gone")
    check = getattr(check, "__wrapped__", check)
    params = list(inspect.signature(check).parameters)
    if params != CHECK_PARAMETERS:
        raise RuntimeError("oslo_policy._checks._check takes %s, not %s"
                           % (params, CHECK_PARAMETERS))
    if not _generic_check_uses_literal_eval():
        raise RuntimeError("oslo_policy._checks.GenericCheck no longer "
                           "calls ast.literal_eval")


def install_check_arity_cache():
    """Wrap ``_checks._check`` with the arity cache (once; True if it is
    installed)."""
    original = _checks._check
    if hasattr(original, "__wrapped__"):
        return True
    try:
        check_internals()
    except RuntimeError:
        return False
    arity = {}

    def _check(rule, target, creds, enforcer, current_rule):
        call = rule.__call__
        func = getattr(call, "__func__", None)
        count = arity.get(func)
        if count is None:
            count = len(inspect.getfullargspec(call).args)
            if func is not None:
                arity[func] = count
        if count > 4:
            return rule(target, creds, enforcer, current_rule)
        return rule(target, creds, enforcer)

    _check.__wrapped__ = original
    _checks._check = _check
    return True


# kinds remembered at most: those of the policy rules, a few dozen
LITERAL_KINDS_KEPT = 1024


class _RememberingAst:
    """The ``ast`` module as ``_checks`` sees it, with a ``literal_eval``
    that remembers its answer (or its ValueError) per string."""

    def __init__(self):
        self._answers = {}

    def literal_eval(self, node_or_string):
        answers = self._answers
        answer = answers.get(node_or_string) \
            if isinstance(node_or_string, str) else None
        if answer is None:
            try:
                answer = (True, ast.literal_eval(node_or_string))
            except ValueError:
                answer = (False, None)
            if isinstance(node_or_string, str) and \
                    len(answers) < LITERAL_KINDS_KEPT:
                answers[node_or_string] = answer
        if not answer[0]:
            raise ValueError("malformed node or string: %r"
                             % (node_or_string,))
        return answer[1]

    def __getattr__(self, name):
        return getattr(ast, name)


def _generic_check_uses_literal_eval():
    names = _checks.GenericCheck.__call__.__code__.co_names
    return "ast" in names and "literal_eval" in names


def install_literal_eval_cache():
    """Give ``_checks`` the remembering ``ast`` (once; True if it is
    installed). Not when ``GenericCheck`` no longer calls
    ``ast.literal_eval`` or ``_checks.ast`` is not the ``ast`` module."""
    current = getattr(_checks, "ast", None)
    if isinstance(current, _RememberingAst):
        return True
    if current is not ast or not _generic_check_uses_literal_eval():
        return False
    _checks.ast = _RememberingAst()
    return True
