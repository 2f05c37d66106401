"""glance-download: an image of another region's Glance, imported here.

The import request names the remote image (``glance_image_id``), its
region (``glance_region``) and the catalog interface to reach it by
(``glance_service_interface``, ``public`` unless given).
:func:`check_request` is the API's check of those (400), as Glance's.

The task (``glance.async_.flows.api_image_import``) then asks this
module for:

- :func:`remote_image`: the region's image endpoint, found in the
  caller's service catalog (keystonemiddleware's ``X-Service-Catalog``,
  which the context middleware keeps in the request context), and the
  remote image's record, read with the caller's token; it must be
  ``active``, with a size and with disk and container formats this
  service accepts;
- :func:`changes`: what the local image takes from it: the remote's
  disk and container formats, and the properties whose names start with
  one of ``[glance_download_properties] extra_properties`` (never the
  reserved ``os_glance`` ones, nor the remote's own attributes such as
  its id, status or hashes);
- :func:`open_data`: the remote image's data, to be staged as
  web-download stages its data (size cap, quota) and then imported to
  the stores as usual.

Both requests go through web-download's fetcher: ``[import_filtering_opts]``
applies to the remote endpoint (as Glance checks the download URL), on
every redirect hop, and the token is sent to the endpoint's own host
only.
"""
import json
import uuid

from oslo_config import cfg
from oslo_log import log as logging

from glance.async_.flows import web_download
from glance.common import config
from glance.common import exception
from glance.domain import images as rules
from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# a remote image record is a few KiB; anything this big is not one
MAX_RECORD = 1024 * 1024

glance_download_opts = [
    config.BracketListOpt(
        "extra_properties",
        item_type=cfg.types.String(quotes=True),
        default=["hw_", "trait:", "os_distro", "os_secure_boot",
                 "os_type"],
        help=_("Prefixes of the remote image's properties that a "
               "glance-download import copies to the local image, e.g. "
               "[hw_, trait:, os_distro]. A property is copied when its "
               "name starts with one of them; others are not. Properties "
               "in the reserved os_glance namespace are never copied.")),
]

CONF.register_opts(glance_download_opts, group="glance_download_properties")


def list_opts():
    return [("glance_download_properties", glance_download_opts)]


class EndpointNotFound(exception.NotFound):
    message = _("%(interface)s glance endpoint not found for region "
                "%(region)s")


class RemoteImageInvalid(exception.GlanceException):
    message = _("Remote image %(image_id)s cannot be imported: %(reason)s")


# --- the API's check ---

def check_request(method):
    """Check glance-download's fields of an import's ``method`` (400),
    in Glance's order; fills in the default interface."""
    if "glance_region" not in method:
        raise exception.Invalid(_("'glance_region' needs to be set for "
                                  "glance-download import method"))
    if "glance_image_id" not in method:
        raise exception.Invalid(_("'glance_image_id' needs to be set for "
                                  "glance-download import method"))
    image_id = method["glance_image_id"]
    try:
        uuid.UUID(image_id)
    except (TypeError, ValueError, AttributeError):
        raise exception.Invalid(_("Remote image id does not look like a "
                                  "UUID: %s") % image_id) from None
    method.setdefault("glance_service_interface", "public")
    # Glance fails such a request in its task; a 400 says it sooner
    for key in ("glance_region", "glance_service_interface"):
        if not isinstance(method[key], str):
            raise exception.Invalid(_("'%s' must be a string.") % key)


# --- the task's steps ---

def endpoint(catalog, region, interface):
    """The URL of ``region``'s image service at ``interface`` in a
    service catalog as keystonemiddleware passes it (``[{"type":
    "image", "endpoints": [{"region": ..., "publicURL": ...}]}]``)."""
    key = "%sURL" % interface
    for service in catalog or ():
        if not isinstance(service, dict) or service.get("type") != "image":
            continue
        for entry in service.get("endpoints") or ():
            if not isinstance(entry, dict):
                continue
            name = entry.get("region")
            url = entry.get(key)
            if isinstance(name, str) and name.lower() == region.lower() \
                    and isinstance(url, str) and url:
                return url.rstrip("/")
    raise EndpointNotFound(region=region, interface=interface)


def image_url(context, method):
    """The remote image's URL (``<endpoint>/v2/images/<id>``)."""
    base = endpoint(getattr(context, "service_catalog", None),
                    method["glance_region"],
                    method.get("glance_service_interface") or "public")
    return "%s/v2/images/%s" % (base, method["glance_image_id"])


def _auth(context):
    token = getattr(context, "auth_token", None)
    return {"X-Auth-Token": token} if token else {}


def remote_image(context, method):
    """The remote image's record, checked (see the module doc)."""
    url = image_url(context, method)
    LOG.info("Fetching the record of glance-download image %s", url)
    body, _length = web_download.open_uri(
        url, headers=dict(_auth(context), Accept="application/json"))
    try:
        raw = body.read(MAX_RECORD + 1)
    finally:
        body.close()
    record = _parse(method["glance_image_id"], raw)
    check_record(record)
    return record


def _parse(image_id, raw):
    try:
        record = json.loads(raw) if len(raw) <= MAX_RECORD else None
    except ValueError:
        record = None
    if not isinstance(record, dict):
        raise RemoteImageInvalid(image_id=image_id, reason=_(
            "its record is not an image's JSON"))
    return record


def check_record(record):
    """The remote image can be imported: active, sized, in formats this
    service accepts (the formats the local image takes)."""
    image_id = record.get("id")
    status = record.get("status")
    if status != "active":
        raise RemoteImageInvalid(image_id=image_id, reason=_(
            "Source image status should be active instead of %s") % status)
    size = record.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RemoteImageInvalid(image_id=image_id, reason=_(
            "Size attribute of remote image %s could not be determined.")
            % image_id)
    for key, allowed in (("disk_format", CONF.image_format.disk_formats),
                         ("container_format",
                          CONF.image_format.container_formats)):
        if record.get(key) not in allowed:
            raise RemoteImageInvalid(image_id=image_id, reason=_(
                "its %(key)s %(value)s is not one of %(allowed)s") % {
                    "key": key, "value": record.get(key),
                    "allowed": ", ".join(allowed)})


def copied_properties(record, prefixes=None):
    """The remote properties the local image takes: names starting with
    one of ``prefixes`` (default: ``extra_properties``), string values,
    not the remote's base attributes, not the reserved namespace."""
    if prefixes is None:
        prefixes = CONF.glance_download_properties.extra_properties
    prefixes = [p for p in prefixes if p]
    props = {}
    for key, value in record.items():
        if key in rules.BASE_ATTRIBUTES or key in rules.READ_ONLY:
            continue
        if not any(key.startswith(p) for p in prefixes):
            continue
        if rules.is_reserved(key):
            LOG.warning("glance-download: not copying the reserved "
                        "property %s", key)
            continue
        if isinstance(value, str):
            props[key] = value
    return props


def changes(record, image):
    """``(values, props, undo)`` for the local ``image``: the remote's
    formats, its copied properties, and what puts the image back as it
    was (``(values, props, added)``: old formats, old values of the
    properties replaced, names of the properties added)."""
    values = {"disk_format": record["disk_format"],
              "container_format": record["container_format"]}
    props = copied_properties(record)
    old = image["properties"]
    added = [key for key in props if key not in old]
    if added:
        rules.check_quota("properties", len(old) + len(added),
                          CONF.image_property_quota)
    undo = ({key: image.get(key) for key in values},
            {key: old[key] for key in props if key in old}, tuple(added))
    return values, props, undo


def open_data(context, method):
    """``(body, length)``: the remote image's data."""
    url = image_url(context, method) + "/file"
    LOG.info("Downloading glance-download image data from %s", url)
    return web_download.open_uri(url, headers=_auth(context))
