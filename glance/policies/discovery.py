"""Default policies for the discovery (info) API."""
from oslo_policy import policy

from glance.policies import base

discovery_policies = [
    policy.DocumentedRuleDefault(
        name="stores_info_detail",
        check_str=base.ADMIN,
        scope_types=["project"],
        description="Show the stores with their backend details.",
        operations=[{"path": "/v2/info/stores/detail", "method": "GET"}]),
]


def list_rules():
    return discovery_policies
