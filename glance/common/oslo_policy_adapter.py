"""What glance relies on inside oslo.policy, in one place.

oslo.policy's private ``_checks._check`` runs ``inspect.getfullargspec``
on the check at every evaluation (several per request, about a tenth of
a request's CPU); the answer depends only on the function. The bootstrap
installs a wrapper that remembers it (:func:`install_check_arity_cache`),
only over the ``_check`` it was written against: a changed oslo.policy
runs unpatched, and :func:`check_internals` (run by the unit tests) says
what changed.
"""
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
