"""The local limits on new image data: ``image_size_cap`` and the owner's
``user_storage_quota``.

The upload service calls it as its quota step (``glance.services.quota.
check_storage``); the import flow, which sits below the services, calls
it directly. What it answers is handed to ``glance.store`` (``write_image``
and ``stage_image``'s ``limit``), which enforces it on the bytes as they
arrive.
"""
from oslo_config import cfg

from glance.common import config  # noqa: F401 - the options used here
from glance.common import exception
from glance.common import units
from glance.db import api as db
from glance.i18n import _

CONF = cfg.CONF


def size_cap(size=None):
    """``(limit, make_error)`` of ``image_size_cap`` alone; the error at
    once when ``size`` is known and over."""
    cap = CONF.image_size_cap
    if size is not None and size > cap:
        raise _too_large(cap)
    return cap, lambda: _too_large(cap)


def upload_limit(image, size=None):
    """``(limit, make_error)`` for new data of ``image``.

    The limit is the smaller of ``image_size_cap`` and what is left of the
    owner's ``user_storage_quota`` (this image's own size not counted).
    When ``size`` is known and already over, the error is raised at once.
    """
    cap = CONF.image_size_cap
    limit, make_error = cap, lambda: _too_large(cap)
    remaining = remaining_quota(image)
    if remaining is not None:
        if remaining <= 0 or (size is not None and size > remaining):
            raise _over_quota(remaining, size)
        if remaining < cap:
            limit, make_error = remaining, lambda: _over_quota(remaining)
    if size is not None and size > cap:
        raise _too_large(cap)
    return limit, make_error


def remaining_quota(image):
    """Bytes left of the owner's ``user_storage_quota`` for ``image``'s
    data (its own size not counted); None without a quota."""
    quota = units.parse_size(CONF.user_storage_quota)
    if quota <= 0:
        return None
    used = db.user_get_storage_usage(image["owner"], image["id"])
    return max(quota - used, 0)


def check_quota(image, size):
    """StorageQuotaFull (413) when ``size`` bytes of data for ``image``
    would go over the owner's ``user_storage_quota``."""
    remaining = remaining_quota(image)
    if remaining is not None and size and size > remaining:
        raise _over_quota(remaining, size)


def _too_large(cap):
    return exception.ImageSizeLimitExceeded(
        _("The incoming image is too large: the limit (image_size_cap) is "
          "%d bytes.") % cap)


def _over_quota(remaining, size=None):
    if size is None:
        return exception.StorageQuotaFull(
            _("Image exceeds the storage quota: only %d bytes of the "
              "quota remain.") % remaining)
    return exception.StorageQuotaFull(
        _("Image exceeds the storage quota: %(size)d bytes of data, only "
          "%(remaining)d bytes of the quota remain.")
        % {"size": size, "remaining": remaining})
