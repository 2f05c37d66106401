"""How an image record looks in the API: Glance's image document."""
import operator

from oslo_config import cfg

from glance.services import discovery

CONF = cfg.CONF

# Bookkeeping properties of the import flow, never shown (as Glance).
HIDDEN_PROPERTIES = ("os_glance_stage_host", "os_glance_hash_op_host")

_COPIED = ("id", "name", "status", "visibility", "protected", "os_hidden",
           "checksum", "os_hash_algo", "os_hash_value", "owner", "size",
           "virtual_size", "min_ram", "min_disk", "disk_format",
           "container_format")
# their values in one C call rather than sixteen turns of a loop
_copied_values = operator.itemgetter(*_COPIED)


# the text of naive timestamps formatted lately: the same images are
# shown and listed again and again, and a dict lookup costs a tenth of
# isoformat (a page of 25 formats 50: 5% of its CPU). Bounded: emptied
# when full (about 1 MiB).
_TIME_TEXT = {}
_TIME_TEXT_MAX = 4096


def format_time(value):
    """ISO 8601 with a Z, to the second, as Glance renders timestamps."""
    if value is None:
        return None
    # aware values are not kept: one instant in two zones is one key
    # but two texts
    if value.tzinfo is None and value.year >= 1000:
        text = _TIME_TEXT.get(value)
        if text is None:
            if len(_TIME_TEXT) >= _TIME_TEXT_MAX:
                _TIME_TEXT.clear()
            text = value.isoformat(timespec="seconds") + "Z"  # faster
            _TIME_TEXT[value] = text
        return text
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class ViewOptions:
    """The options that shape image documents, read once per response
    (oslo.config reads cost about a microsecond each, several per image
    of a page of a thousand)."""

    __slots__ = ("direct_url", "multiple_locations", "multi_store")

    def __init__(self):
        self.direct_url = CONF.show_image_direct_url
        self.multiple_locations = CONF.show_multiple_locations
        self.multi_store = bool(discovery.enabled_backends())


def render_image(image, context=None, options=None):
    """The JSON document of one image dict from the service layer.

    The locations (``stores``, ``direct_url``, ``locations``) of a
    deactivated image are shown to admins only, as Glance shows them.
    ``options`` (a :class:`ViewOptions`) are read when not given.
    """
    doc = dict(image["properties"])
    for key in HIDDEN_PROPERTIES:
        doc.pop(key, None)
    doc.update(zip(_COPIED, _copied_values(image), strict=True))
    doc["created_at"] = format_time(image["created_at"])
    doc["updated_at"] = format_time(image["updated_at"])
    doc["tags"] = list(image["tags"])
    doc["self"] = "/v2/images/%s" % image["id"]
    doc["file"] = "/v2/images/%s/file" % image["id"]
    doc["schema"] = "/v2/schemas/image"
    if image["status"] != "deactivated" or context is None or \
            context.is_admin:
        _add_locations(doc, image, options or ViewOptions())
    return doc


def _add_locations(doc, image, options):
    locations = [loc for loc in image.get("locations") or ()
                 if loc.get("status", "active") == "active"]
    if options.multi_store:
        locations = discovery.sort_locations(locations)
    stores = [loc["metadata"]["store"] for loc in locations
              if (loc.get("metadata") or {}).get("store")]
    if stores:
        doc["stores"] = ",".join(stores)
    if locations and options.direct_url:
        doc["direct_url"] = locations[0]["url"]
    if options.multiple_locations:
        doc["locations"] = [{"url": loc["url"],
                             "metadata": loc.get("metadata") or {}}
                            for loc in locations]
