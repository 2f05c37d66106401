"""Picks the API version from the URL or the Accept header.

``/v2.N/...`` and ``Accept: application/vnd.openstack.images-v2.N`` are both
rewritten to ``/v2/...``; anything that names no known version gets the
version list with 300, ``/versions`` gets it with 200.

Two quirks of Glance's are not copied: the media type with the ``+json``
suffix (``...images-v2+json``) names version 2, where Glance matched
``v2+json`` as a whole and answered the version list; and a URL that
names a known version as well as the media type is served at the media
type's version, where Glance prefixed it to the URL's (``/v2/v2/images``,
404).
"""
import re

from oslo_log import log as logging

from glance.api import versions
from glance.common import wsgi

LOG = logging.getLogger(__name__)

MEDIA_TYPE = "application/vnd.openstack.images-"
_VERSION_RE = re.compile(r"^v(\d+)(?:\.(\d+))?$")
_MEDIA_VERSION_RE = re.compile(r"^v(\d+)(?:\.(\d+))?(?:\+json)?$")


def parse_version(token, media_type=False):
    """(major, minor) of 'v2' / 'v2.3' (after the media type, also with
    '+json'), or None when not a known version."""
    pattern = _MEDIA_VERSION_RE if media_type else _VERSION_RE
    match = pattern.match(token or "")
    if not match:
        return None
    major = int(match.group(1))
    minor = int(match.group(2)) if match.group(2) is not None else None
    if not versions.known_version(major, minor):
        return None
    return major, minor


# The cache management routes of the old CacheClient (doc root /v1).
_LEGACY_CACHE_RE = re.compile(r"^/v1/(cached|queued)_images(/[^/]*)?/?$")


def is_legacy_cache_path(path):
    return _LEGACY_CACHE_RE.match(path) is not None


class VersionNegotiationFilter(wsgi.Middleware):
    """Rewrites versioned URLs to the major version's app."""

    def __init__(self, app):
        self.versions_app = versions.Controller()
        super().__init__(app)

    def process_request(self, req):
        first = req.path_info_peek()
        path = req.path_info
        if is_legacy_cache_path(path):
            return None  # the cache management filter answers these
        if first in ("versions", ""):
            explicit = first == "versions"
            return self.versions_app.index(req, explicit=explicit)
        accept = media_type_accept(req)
        if accept.startswith(MEDIA_TYPE):
            version = parse_version(accept[len(MEDIA_TYPE):],
                                    media_type=True)
            if version is not None and parse_version(first) is not None:
                path = path[len(first) + 1:]   # served at the media type's
        else:
            version = parse_version(first)
            if version is not None:
                # drop the version segment; SCRIPT_NAME stays as it was
                path = path[len(first) + 1:]
        if version is None:
            LOG.debug("Unknown version in %s; answering the version list",
                      path)
            return self.versions_app.index(req)
        major, minor = version
        req.environ["api.version"] = "%d.%d" % (major, minor or 0)
        req.environ["api.major_version"] = major
        req.path_info = "/v%d%s" % (major, path)
        return None


def media_type_accept(req):
    """The Accept header as webob writes it back (Glance reads the version
    from that), or '' when it cannot start with the images media type:
    when the header is absent, or does not contain the media type (webob
    only takes out whitespace and reformats parameters), so the header is
    not parsed per request for nothing (two parses of ``application/json``
    were 7.7 of this filter's 17.7 us)."""
    raw = req.environ.get("HTTP_ACCEPT")
    if not raw or MEDIA_TYPE not in raw:
        return ""
    accept = req.accept
    return str(accept) if accept else ""
