"""Building blocks of the default policy: personas and base rules.

The defaults are project-scoped and role based (``admin``, ``member``,
``reader``), the "secure RBAC" defaults Glance enforces when
``[oslo_policy] enforce_new_defaults`` is true. Targets carry the image's
owner as ``project_id`` (and ``owner``), its ``visibility``, and as
``member_id`` the caller's project when the image is shared with it.
"""
from oslo_policy import policy

ADMIN = "rule:context_is_admin"
DEFAULT = "rule:default"
SERVICE = "rule:service_api"

PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"

# The caller's project is a member the image is shared with.
IMAGE_MEMBER_CHECK = "project_id:%(member_id)s"
COMMUNITY_VISIBILITY_CHECK = "'community':%(visibility)s"
PUBLIC_VISIBILITY_CHECK = "'public':%(visibility)s"
SHARED_VISIBILITY_CHECK = "'shared':%(visibility)s"

_VISIBLE_TO_OTHERS = (f"{IMAGE_MEMBER_CHECK} or {COMMUNITY_VISIBILITY_CHECK} "
                      f"or {PUBLIC_VISIBILITY_CHECK} "
                      f"or {SHARED_VISIBILITY_CHECK}")

ADMIN_OR_PROJECT_MEMBER = f"{ADMIN} or ({PROJECT_MEMBER})"
ADMIN_OR_PROJECT_READER = f"{ADMIN} or ({PROJECT_READER})"

# Creating: a member of the project the new image will belong to.
ADMIN_OR_PROJECT_MEMBER_CREATE_IMAGE = (
    f"{ADMIN} or ({PROJECT_MEMBER} and project_id:%(owner)s)")

# Reading an image: a reader of the owner project, or of a project that can
# see it (member, community, public, shared).
ADMIN_OR_PROJECT_READER_GET_IMAGE = (
    f"{ADMIN} or (role:reader and (project_id:%(project_id)s or "
    f"{_VISIBLE_TO_OTHERS}))")

# Downloading needs the member role on a project that can see the image.
ADMIN_OR_PROJECT_MEMBER_DOWNLOAD_IMAGE = (
    f"{ADMIN} or (role:member and (project_id:%(project_id)s or "
    f"{_VISIBLE_TO_OTHERS}))")

# Membership records: the image's member project acts on its own record.
ADMIN_OR_SHARED_MEMBER = f"{ADMIN} or (role:member and {IMAGE_MEMBER_CHECK})"
ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER = (
    f"{ADMIN} or role:reader and (project_id:%(project_id)s or "
    f"{IMAGE_MEMBER_CHECK})")

SERVICE_OR_PROJECT_MEMBER = f"{SERVICE} or ({PROJECT_MEMBER})"

rules = [
    policy.RuleDefault(
        name="default",
        check_str="",
        description="The rule used for any policy a policy file names "
                    "without a check string, and for unknown policies.",
        deprecated_rule=policy.DeprecatedRule(
            name="default",
            check_str=ADMIN,
            deprecated_reason="The default rule now lets everyone through "
                              "so that policies left unset in an old "
                              "policy file keep working; set it to "
                              "\"role:admin\" explicitly if that is wanted.",
            deprecated_since="Ussuri")),
    policy.RuleDefault(
        name="context_is_admin",
        check_str="role:admin",
        description="Who counts as an administrator (the is_admin flag of "
                    "a request context)."),
    policy.RuleDefault(
        name="service_api",
        check_str="role:service or role:admin",
        description="Who may call the service-to-service APIs."),
]


def list_rules():
    return rules
