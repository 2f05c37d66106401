"""Default policies for the image cache management API (admin only)."""
from oslo_policy import policy

from glance.policies import base

_DEPRECATED_REASON = ("Each cache operation now has its own policy instead "
                      "of the shared manage_image_cache rule.")


def _cache_rule(name, description, operations):
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=base.ADMIN,
        scope_types=["project"],
        description=description,
        operations=operations,
        deprecated_rule=policy.DeprecatedRule(
            name=name, check_str="rule:manage_image_cache",
            deprecated_reason=_DEPRECATED_REASON,
            deprecated_since="Xena"))


cache_policies = [
    _cache_rule("cache_image", "Queue an image for caching.",
                [{"path": "/v2/cache/{image_id}", "method": "PUT"}]),
    _cache_rule("cache_list", "List cached and queued images.",
                [{"path": "/v2/cache", "method": "GET"}]),
    _cache_rule("cache_delete",
                "Remove images from the cache or the queue.",
                [{"path": "/v2/cache", "method": "DELETE"},
                 {"path": "/v2/cache/{image_id}", "method": "DELETE"}]),
    # newer than the shared rule, so nothing to deprecate (as in Glance)
    policy.DocumentedRuleDefault(
        name="cache_clean", check_str=base.ADMIN, scope_types=["project"],
        description="Remove invalid and stalled cache files.",
        operations=[{"path": "/v2/cache/clean", "method": "POST"}]),
    policy.DocumentedRuleDefault(
        name="cache_prune", check_str=base.ADMIN, scope_types=["project"],
        description="Prune the cache down to its maximum size.",
        operations=[{"path": "/v2/cache/prune", "method": "POST"}]),
]


def list_rules():
    return cache_policies
