"""What the Images API does with image records.

Each public function reads top to bottom: find the image the caller may
see, authorize, check rules and quotas, write, return the image dict. The
API layer parses and renders; the database layer stores.
"""
from oslo_config import cfg
from oslo_log import log as logging

from glance import policy
from glance.common import exception
from glance import property_utils
from glance.db import api as db
from glance.db import image_filters
from glance.domain import images as rules
from glance.i18n import _
from glance import notifier
from glance.services import forwarding
from glance.services import image_locations
from glance.services.lookup import find_image
from glance.services import quota
from glance import store

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


# --- reading ----------------------------------------------------------------

def get_image(context, image_id):
    """One image, as its caller may see it."""
    image = find_image(context, image_id)
    policy.enforce_image_action(context, "get_image", image)
    return hide_protected_properties(context, image)


# Filters on what every image has; any other key is a custom property.
BASE_FILTERS = image_filters.BASE_FILTERS


def list_images(context, filters, marker=None, limit=None, sort_key=None,
                sort_dir=None, member_status="accepted"):
    """A page of images and the marker of the next page (or None)."""
    policy.enforce(context, "get_images", policy.new_image_target(context))
    if unreadable_property_filters(context, filters):
        # Which images a filter lets through would tell the value of a
        # property the caller may not read: such a filter matches
        # nothing (the request is still checked, marker included).
        filters = dict(filters, id=[])
    try:
        images = db.image_get_all(filters=filters, marker=marker,
                                  limit=limit, sort_key=sort_key,
                                  sort_dir=sort_dir,
                                  member_status=member_status,
                                  project_id=context.project_id,
                                  is_admin=context.is_admin)
    except exception.NotFound:
        raise exception.Invalid(_("No image found with ID %s") % marker)
    next_marker = images[-1]["id"] if images and len(images) == limit \
        else None
    protections = property_utils.get_rules()   # once per page
    return [_readable_only(context, i, protections) for i in images], \
        next_marker


def unreadable_property_filters(context, filters):
    """The property filters naming a property ``context`` may not read."""
    protections = property_utils.get_rules()
    if protections is None:
        return []
    return sorted(key for key in filters or () if key not in BASE_FILTERS
                  and not protections.check_property_rules(key, "read",
                                                           context))


def hide_protected_properties(context, image):
    """The image without the custom properties the caller may not read."""
    return _readable_only(context, image, property_utils.get_rules())


def _readable_only(context, image, protections):
    if protections is None:
        return image
    props = {k: v for k, v in image["properties"].items()
             if protections.check_property_rules(k, "read", context)}
    return dict(image, properties=props)


# --- writing ----------------------------------------------------------------

def create_image(context, base, properties, tags):
    """Create an image record from validated body parts."""
    policy.enforce_create_image(context, base)
    quota.check_image_count(context)
    rules.check_min_values(base)
    rules.check_quota("properties", len(properties),
                      CONF.image_property_quota)
    rules.check_quota("tags", len(tags or ()), CONF.image_tag_quota)
    check_property_changes(context, properties, {}, "create")
    values = dict(base, owner=base.get("owner") or context.project_id,
                  properties=properties, tags=tags or [])
    try:
        image = db.image_create(values)
    except exception.Duplicate:
        raise exception.Duplicate(
            _("Image ID %s already exists!")
            % values.get("id"))
    return notifier.image_event("image.create", image)


def check_property_changes(context, new_props, old_props, action=None):
    """Apply property protections to custom property changes (403)."""
    protections = property_utils.get_rules()
    if protections is None:
        return
    for name in set(new_props) | set(old_props):
        if name not in old_props:
            op = action or "create"
        elif name not in new_props:
            op = "delete"
        elif new_props[name] != old_props[name]:
            op = "update"
        else:
            continue
        if not protections.check_property_rules(name, op, context):
            raise exception.Forbidden(
                _("Property '%s' is protected") % name)


def modifiable_image(context, image_id, not_found_msg=None):
    """The image, if ``context`` may see it and holds ``modify_image``."""
    image = find_image(context, image_id, not_found_msg)
    policy.enforce_image_action(context, "modify_image", image)
    return image


def update_image(context, image_id, apply_changes, location_changes=()):
    """Apply ``apply_changes(working_copy)`` and save the result.

    The working copy is ``{"base": {...}, "properties": {...}, "tags":
    [...]}``; the callable mutates it (it raises for bad operations, in
    which case nothing is saved) and may name the attributes it wrote in
    ``work["written"]`` (a set), written even when unchanged.
    ``location_changes`` (``[(op, position, value)]``, JSON-patch on
    ``/locations``) are refused unless ``show_multiple_locations`` is on
    (see ``refuse_location_changes`` and ``_plan_locations``).
    """
    image = modifiable_image(context, image_id)
    locations = _plan_locations(context, image, location_changes)
    image = hide_protected_properties(context, image)
    work = {"base": {k: image[k] for k in rules.BASE_ATTRIBUTES
                     if k in image and k != "tags"},
            "properties": dict(image["properties"]),
            "tags": list(image["tags"])}
    apply_changes(work)
    values = _changed_base(context, image, work["base"],
                           work.get("written", ()))
    check_property_changes(context, work["properties"], image["properties"])
    _check_update_quotas(image, work)
    values["properties"] = _merge_hidden(context, image_id,
                                         work["properties"])
    values["tags"] = rules.dedup(work["tags"])
    if locations is None:
        image = db.image_update(image_id, values, purge_props=True)
    else:
        image = locations.write(context, values)
    notifier.image_event("image.update", image)
    return hide_protected_properties(context, image)


def _plan_locations(context, image, changes):
    """The checked location changes of a PATCH (a ``LocationPatch``, or
    None without any); refused while ``show_multiple_locations`` is off,
    as in Glance."""
    if not changes:
        return None
    if not CONF.show_multiple_locations:
        refuse_location_changes(context, image, changes)
    return image_locations.plan_patch(context, image, changes)


def refuse_location_changes(context, image, changes):
    """While ``show_multiple_locations`` is off, locations never change by
    PATCH (data is added by upload, import or the locations API): 403,
    worded as Glance words it."""
    for op, _position, value in changes:
        if op == "add":
            raise exception.Forbidden(_("It's not allowed to add locations "
                                        "if locations are invisible."))
        if op == "replace":
            if not value:
                raise exception.AccessDenied(
                    _("Cannot set locations to empty list."))
            raise exception.Forbidden(_("It's not allowed to update "
                                        "locations if locations are "
                                        "invisible."))
        policy.enforce_image_action(context, "delete_image_location", image)
        raise exception.Forbidden(_("It's not allowed to remove locations "
                                    "if locations are invisible."))


def _merge_hidden(context, image_id, visible_props):
    """Keep the properties the caller could not read (so not remove)."""
    if property_utils.get_rules() is None:
        return visible_props
    stored = db.image_get(image_id)["properties"]
    hidden = {k: v for k, v in stored.items()
              if not property_utils.get_rules().check_property_rules(
                  k, "read", context)}
    return dict(hidden, **visible_props)


def _changed_base(context, image, base, written=()):
    """The base attributes that changed, after checking who may change."""
    changed = {k: v for k, v in base.items() if image.get(k) != v}
    target = policy.image_target(image, context)
    if ("owner" in changed or "owner" in written) and not context.is_admin:
        # even to the value it has, as Glance refuses
        raise exception.AccessDenied(
            _("Owner can't be updated by non admin."))
    if "visibility" in changed:
        policy.enforce_visibility(context, changed["visibility"], target)
    for key in ("disk_format", "container_format"):
        if key in changed and image["status"] not in ("queued",
                                                      "importing",
                                                      "uploading"):
            raise exception.Forbidden(
                _("Attribute %s can be only replaced for a queued image.")
                % key)
    rules.check_min_values(changed)
    return changed


def _check_update_quotas(image, work):
    # Only growth is refused: an image over a lowered quota may shrink.
    new_props, new_tags = len(work["properties"]), len(set(work["tags"]))
    if new_props > len(image["properties"]):
        rules.check_quota("properties", new_props, CONF.image_property_quota)
    if new_tags > len(image["tags"]):
        rules.check_quota("tags", new_tags, CONF.image_tag_quota)


def delete_image(context, image_id):
    """Delete an image and its data; with ``delayed_delete`` an image
    with data goes ``pending_delete`` and keeps it for glance-scrubber.
    Then ``image.delete`` is sent."""
    image = find_image(context, image_id,
                       _("Failed to find image %s to delete"))
    policy.enforce_image_action(context, "delete_image", image)
    if forwarding.delete_elsewhere(context, image):  # staged on another node
        return
    if image["protected"]:
        raise exception.ProtectedImageDelete(image_id=image_id)
    if CONF.delayed_delete and image["locations"]:
        # pending_delete: the data stays for glance-scrubber (or --restore)
        deleted = db.image_destroy_delayed(image_id)
    else:
        deleted = db.image_destroy(image_id)
        delete_image_data(image)
    notifier.image_deleted(deleted)


def delete_image_data(image):
    """Delete every copy of ``image``'s data: each location, its staged
    data and what a dead upload may have left. Failures are logged with
    the location (the record's deletion stands)."""
    for loc in image.get("locations") or ():
        try:
            if not store.delete_image_data(loc):
                LOG.warning("Image %(id)s had no data at %(url)s",
                            {"id": image["id"], "url": loc["url"]})
        except Exception:  # noqa: BLE001 - log what is orphaned
            LOG.exception("Failed to delete the data of deleted image "
                          "%(id)s at %(url)s: it is orphaned",
                          {"id": image["id"], "url": loc["url"]})
    try:
        store.delete_staged_data(image["id"])
        if image.get("status") in ("saving", "queued", "uploading"):
            store.discard_leftover_data(image["id"])
    except Exception:  # noqa: BLE001 - log what is orphaned
        LOG.exception("Failed to delete the staged or partial data of "
                      "deleted image %s", image["id"])


def add_tag(context, image_id, tag):
    image = modifiable_image(context, image_id, _("Image %s not found."))
    if tag in image["tags"]:
        _notify_update(db.image_update(image_id, {}))  # still an update
        return
    try:
        rules.check_quota("tags", len(image["tags"]) + 1,
                          CONF.image_tag_quota)
    except exception.ImageTagLimitExceeded as e:
        raise exception.ImageTagLimitExceeded(
            _("Image tag limit exceeded for image %(id)s: %(e)s:")
            % {"id": image_id, "e": e}) from None
    db.image_tag_create(image_id, tag)  # bumps updated_at itself
    _notify_update(image_id)


def delete_tag(context, image_id, tag):
    image = modifiable_image(context, image_id, _("Image %s not found."))
    if tag not in image["tags"]:
        raise exception.ResourceNotFound(_("Tag %s not found") % tag)
    db.image_tag_delete(image_id, tag)  # bumps updated_at itself
    _notify_update(image_id)


def _notify_update(image):
    """``image.update`` for an image (or an id, read only when the
    event is on)."""
    if notifier.enabled("image.update"):
        if isinstance(image, str):
            image = db.image_get(image)
        notifier.image_event("image.update", image)


def deactivate(context, image_id):
    """active -> deactivated (idempotent), as Glance's action."""
    _toggle(context, image_id, "deactivate", "active", "deactivated")


def reactivate(context, image_id):
    """deactivated -> active (idempotent), as Glance's action."""
    _toggle(context, image_id, "reactivate", "deactivated", "active")


def _toggle(context, image_id, action, from_state, to_state):
    image = find_image(context, image_id)
    policy.enforce_image_action(context, action, image)
    if image["status"] == to_state:
        return
    if image["status"] != from_state:
        raise exception.Forbidden(
            _("Not allowed to %(action)s image in status '%(status)s'")
            % {"action": action, "status": image["status"]})
    _move(image_id, from_state, to_state)


def _move(image_id, from_state, to_state):
    try:
        image = db.image_update(image_id, {"status": to_state},
                                from_state=from_state)
    except exception.Conflict:
        raise exception.Conflict(
            _("Image %s changed status meanwhile; try again") % image_id)
    notifier.image_event("image.update", image)
