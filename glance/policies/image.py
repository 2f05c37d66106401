"""Default policies for images, their data, locations and members."""
from oslo_policy import policy

from glance.policies import base

_DEPRECATED_REASON = ("Image policies now distinguish the admin, member and "
                      "reader roles of a project.")
_WALLABY = "Wallaby"


def _rule(name, check_str, description, method, path, deprecated=True):
    deprecated_rule = None
    if deprecated:
        deprecated_rule = policy.DeprecatedRule(
            name=name, check_str=base.DEFAULT,
            deprecated_reason=_DEPRECATED_REASON,
            deprecated_since=_WALLABY)
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=check_str,
        scope_types=["project"],
        description=description,
        operations=[{"path": path, "method": method}],
        deprecated_rule=deprecated_rule)


_IMAGES = "/v2/images"
_IMAGE = "/v2/images/{image_id}"
_FILE = "/v2/images/{image_id}/file"
_LOCATIONS = "/v2/images/{image_id}/locations"
_MEMBERS = "/v2/images/{image_id}/members"
_MEMBER = "/v2/images/{image_id}/members/{member_id}"

image_policies = [
    _rule("add_image", base.ADMIN_OR_PROJECT_MEMBER_CREATE_IMAGE,
          "Create an image record.", "POST", _IMAGES),
    _rule("delete_image", base.ADMIN_OR_PROJECT_MEMBER,
          "Delete an image.", "DELETE", _IMAGE),
    _rule("get_image", base.ADMIN_OR_PROJECT_READER_GET_IMAGE,
          "Show an image.", "GET", _IMAGE),
    _rule("get_images", base.ADMIN_OR_PROJECT_READER,
          "List the images the caller can see.", "GET", _IMAGES),
    _rule("modify_image", base.ADMIN_OR_PROJECT_MEMBER,
          "Change an image's attributes or properties.", "PATCH", _IMAGE),
    _rule("publicize_image", base.ADMIN,
          "Give an image the 'public' visibility.", "PATCH", _IMAGE,
          deprecated=False),
    _rule("communitize_image", base.ADMIN_OR_PROJECT_MEMBER,
          "Give an image the 'community' visibility.", "PATCH", _IMAGE),
    _rule("download_image", base.ADMIN_OR_PROJECT_MEMBER_DOWNLOAD_IMAGE,
          "Download an image's data.", "GET", _FILE),
    _rule("upload_image", base.ADMIN_OR_PROJECT_MEMBER,
          "Upload an image's data.", "PUT", _FILE),
    _rule("delete_image_location", base.ADMIN,
          "Remove a location from an image.", "PATCH", _IMAGE),
    _rule("get_image_location", base.ADMIN_OR_PROJECT_READER,
          "Show an image's locations.", "GET", _IMAGE),
    _rule("set_image_location", base.ADMIN_OR_PROJECT_MEMBER,
          "Set or add an image location.", "PATCH", _IMAGE),
    _rule("add_image_location", base.SERVICE_OR_PROJECT_MEMBER,
          "Add a location to a queued image (service users and the "
          "owner project).", "POST", _LOCATIONS, deprecated=False),
    _rule("fetch_image_location", base.SERVICE,
          "List an image's locations (service users only).", "GET",
          _LOCATIONS, deprecated=False),
    _rule("add_member", base.ADMIN_OR_PROJECT_MEMBER,
          "Share an image with a project.", "POST", _MEMBERS),
    _rule("delete_member", base.ADMIN_OR_PROJECT_MEMBER,
          "Stop sharing an image with a project.", "DELETE", _MEMBER),
    _rule("get_member", base.ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER,
          "Show one membership of an image.", "GET", _MEMBER),
    _rule("get_members", base.ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER,
          "List the memberships of an image.", "GET", _MEMBERS),
    _rule("modify_member", base.ADMIN_OR_SHARED_MEMBER,
          "Accept or reject an image shared with the caller's project.",
          "PUT", _MEMBER),
    policy.RuleDefault(
        name="manage_image_cache",
        check_str=base.ADMIN,
        scope_types=["project"],
        description="Manage the image cache (the legacy rule the cache "
                    "policies fall back to)."),
    _rule("deactivate", base.ADMIN_OR_PROJECT_MEMBER,
          "Deactivate an image.", "POST",
          "/v2/images/{image_id}/actions/deactivate"),
    _rule("reactivate", base.ADMIN_OR_PROJECT_MEMBER,
          "Reactivate an image.", "POST",
          "/v2/images/{image_id}/actions/reactivate"),
    _rule("copy_image", base.ADMIN,
          "Copy an active image's data to more stores.", "POST",
          "/v2/images/{image_id}/import", deprecated=False),
    _rule("list_cached_nodes", base.ADMIN,
          "Get all nodes where specified image is cached.", "GET",
          "/v2/cache/nodes/{image_id}", deprecated=False),
]


def list_rules():
    return image_policies
