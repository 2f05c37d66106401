"""The version document: which Images API versions this service speaks."""
import json

import webob.dec
from oslo_config import cfg

from glance.common import wsgi

CONF = cfg.CONF

# Newest first; the first one is CURRENT. 2.18 adds cache prune/clean.
MINOR_VERSIONS = tuple(range(18, -1, -1))
MAJOR = 2


def known_version(major, minor):
    """Whether v<major>.<minor> is one this service answers to."""
    return major == MAJOR and (minor is None or minor in MINOR_VERSIONS)


def version_list(base_url):
    """The ``versions`` list as Glance renders it."""
    href = "%s/v%d/" % (base_url.rstrip("/"), MAJOR)
    return [{"id": "v%d.%d" % (MAJOR, minor),
             "status": "CURRENT" if minor == MINOR_VERSIONS[0]
             else "SUPPORTED",
             "links": [{"rel": "self", "href": href}]}
            for minor in MINOR_VERSIONS]


class Controller:
    """A WSGI app answering with the version list.

    Called as an app it answers 300 Multiple Choices (the client asked for
    something that is not a version); ``index(req, explicit=True)`` answers
    200, for ``GET /versions``.
    """

    def index(self, req, explicit=False):
        base = CONF.public_endpoint or req.application_url
        body = json.dumps({"versions": version_list(base)})
        response = webob.Response(request=req,
                                  status=200 if explicit else 300,
                                  content_type="application/json",
                                  charset="UTF-8")
        response.body = body.encode("utf-8")
        return response

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        return self.index(req)


def create_resource(conf=None):
    """paste.app_factory for the version document."""
    return Controller()
