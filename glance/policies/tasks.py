"""Default policies for tasks.

``tasks_api_access`` guards every call of the (deprecated) tasks API and is
admin-only. The finer ``get_task``/``get_tasks``/``add_task`` rules are also
consulted by internal work that uses tasks (image import), so they must not
be stricter than the import policy; by default they let everyone through.
"""
from oslo_policy import policy

from glance.policies import base

_INTERNAL_NOTE = ("\nAlso consulted internally by operations that create or "
                  "read tasks, such as image import; the tasks API itself "
                  "is guarded by tasks_api_access.")
_DEPRECATED_REASON = ("The tasks API is guarded as a whole by "
                      "tasks_api_access; the per-call task policies are "
                      "kept for internal use.")


def _task_rule(name, description, operations):
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=base.DEFAULT,
        scope_types=["project"],
        description=description + _INTERNAL_NOTE,
        operations=operations,
        deprecated_rule=policy.DeprecatedRule(
            name=name, check_str=base.DEFAULT,
            deprecated_reason=_DEPRECATED_REASON,
            deprecated_since="Xena"))


task_policies = [
    _task_rule("get_task", "Show a task.",
               [{"path": "/v2/tasks/{task_id}", "method": "GET"}]),
    _task_rule("get_tasks", "List tasks.",
               [{"path": "/v2/tasks", "method": "GET"}]),
    _task_rule("add_task", "Create a task.",
               [{"path": "/v2/tasks", "method": "POST"}]),
    policy.DocumentedRuleDefault(
        name="modify_task",
        check_str=base.DEFAULT,
        scope_types=["project"],
        description="Not used.",
        operations=[{"path": "/v2/tasks/{task_id}", "method": "DELETE"}],
        deprecated_for_removal=True,
        deprecated_reason="This policy has never been checked by the API.",
        deprecated_since="Wallaby"),
    policy.DocumentedRuleDefault(
        name="tasks_api_access",
        check_str=base.ADMIN,
        scope_types=["project"],
        description="Access to the tasks API as a whole; it does not tell "
                    "reading from writing.",
        operations=[
            {"path": "/v2/tasks/{task_id}", "method": "GET"},
            {"path": "/v2/tasks", "method": "GET"},
            {"path": "/v2/tasks", "method": "POST"},
            {"path": "/v2/tasks/{task_id}", "method": "DELETE"},
        ]),
]


def list_rules():
    return task_policies
