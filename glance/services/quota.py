"""Per-project quotas from Keystone's unified limits (``use_keystone_limits``).

Glance's four limits, registered in Keystone for the image service (the
``[oslo_limit]`` endpoint) and overridable per project:

``image_size_total``
    MiB of image data in the stores (an image counts once per location).
``image_stage_total``
    MiB of data in the staging area (staged, importing, being copied).
``image_count_total``
    images (killed and deleted ones aside).
``image_count_uploading``
    images taking data at once (upload, stage, import, copy).

oslo.limit's ``Enforcer`` reads the limits from Keystone; the usage comes
from our database (``glance.db.quota_usage``). A new Enforcer is made for
each check, as Glance does, so a limit changed in Keystone applies to the
next request. The checks are the named steps the services call where
Glance checks (a usage at or under its limit passes; a delta is what the
request adds, when known)::

    create_image         image_count_total, delta 1
    upload (first)       image_size_total
    upload (once saving) image_count_uploading (the image counts itself)
    stage (first)        image_stage_total
    stage (once uploading) image_count_uploading
    import (first)       image_size_total
    import (once locked) glance-direct: image_size_total, delta = size;
                         web-download, copy-image: image_stage_total,
                         delta = size, and image_count_uploading

Over a limit is a 413 with Glance's text and oslo.limit's account of it
(``LimitExceeded``). With ``use_keystone_limits`` off (the default) every
check passes without a word to Keystone and ``/v2/info/usage`` is empty.
The local limits (``image_size_cap`` and ``user_storage_quota``, no word
to Keystone) are the upload's quota step too: :func:`check_storage`, once
the image is claimed, answers the limit the store write enforces on the
bytes as they arrive (``glance.db.storage_quota``, which the import flow,
below the services, calls itself)::

    upload, stage (once claimed)  image_size_cap, user_storage_quota
"""
from oslo_config import cfg
from oslo_limit import exception as limit_exc
from oslo_limit import limit
from oslo_limit import opts as limit_opts
from oslo_log import log as logging

from glance.common import exception
from glance.db import quota_usage
from glance.db import storage_quota
from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# [oslo_limit]: endpoint_id or endpoint_service_name/_type (and
# endpoint_region_name, endpoint_interface), and keystoneauth's session
# and auth options (auth_type, auth_url, username, system_scope...)
limit_opts.register_opts(CONF)

IMAGE_SIZE_TOTAL = "image_size_total"
IMAGE_STAGE_TOTAL = "image_stage_total"
IMAGE_COUNT_TOTAL = "image_count_total"
IMAGE_COUNT_UPLOADING = "image_count_uploading"

MIB = 1024 * 1024

# resource -> usage of a project, in the limit's unit
USAGE = {
    IMAGE_SIZE_TOTAL: lambda owner: quota_usage.stored_bytes(owner) // MIB,
    IMAGE_STAGE_TOTAL: lambda owner: quota_usage.staged_bytes(owner) // MIB,
    IMAGE_COUNT_TOTAL: quota_usage.image_count,
    IMAGE_COUNT_UPLOADING: quota_usage.uploading_count,
}

OVER_LIMIT = _("The request returned a 413 Request Entity Too Large. This "
               "generally means that rate limiting or a quota threshold was "
               "breached.\n\nThe response body:\n%(body)s")


def _usage_callback(project_id, resource_names):
    return {name: USAGE[name](project_id) for name in resource_names}


def _enforcer():
    """oslo.limit's Enforcer (its Keystone connection is made once per
    process; the limits are read afresh by each Enforcer)."""
    try:
        return limit.Enforcer(_usage_callback)
    except limit_exc.SessionInitError as e:
        # server-side configuration: a 500 the operator must notice
        LOG.error("Failed to initialize oslo_limit, likely due to incorrect "
                  "or insufficient configuration: %s", e)
        raise


def enforce(project_id, deltas):
    """LimitExceeded (413) if ``project_id``'s usage plus ``deltas``
    ({resource: amount}) goes over a limit; nothing when
    ``use_keystone_limits`` is off."""
    if not CONF.use_keystone_limits:
        return
    try:
        _enforcer().enforce(project_id, deltas)
    except limit_exc.ProjectOverLimit as e:
        raise exception.LimitExceeded(OVER_LIMIT % {"body": e}) from None


# --- the named steps the services call ---

def check_image_count(context):
    """Before creating an image: one more must fit."""
    enforce(context.project_id, {IMAGE_COUNT_TOTAL: 1})


def check_size_total(context, delta_bytes=0):
    """Before writing data to the stores (``delta_bytes``: what will be
    written, when known)."""
    enforce(context.project_id, {IMAGE_SIZE_TOTAL: delta_bytes // MIB})


def check_stage_total(context, delta_bytes=0):
    """Before writing data to the staging area."""
    enforce(context.project_id, {IMAGE_STAGE_TOTAL: delta_bytes // MIB})


def check_uploading(context):
    """Once the image is marked as taking data (it counts itself)."""
    enforce(context.project_id, {IMAGE_COUNT_UPLOADING: 0})


def check_storage(image, size=None):
    """Before writing new data of ``image`` (claimed): ``(limit,
    make_error)`` for the store write, the smaller of ``image_size_cap``
    and what is left of the owner's ``user_storage_quota``; the 413 at
    once when ``size`` (announced) is already over."""
    return storage_quota.upload_limit(image, size)


def check_import_started(context, method, size):
    """Once an import holds its image's lock, as Glance's import task
    checks: the data it will write to the stores (glance-direct) or to
    the staging area (web-download, copy-image; ``size`` may be None)."""
    size = size or 0
    if method == "glance-direct":
        check_size_total(context, size)
    elif method in ("web-download", "copy-image", "glance-download"):
        check_stage_total(context, size)
        check_uploading(context)


def usage(context):
    """``{resource: {"limit": L, "usage": U}}`` of the caller's project
    for the four limits; {} when ``use_keystone_limits`` is off."""
    if not CONF.use_keystone_limits:
        return {}
    found = _enforcer().calculate_usage(context.project_id, list(USAGE))
    return {name: {"limit": found[name].limit, "usage": found[name].usage}
            for name in USAGE if name in found}
