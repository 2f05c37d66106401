"""``/healthcheck`` in front of the pipeline, answered by oslo.middleware.

oslo.middleware's healthcheck is an app now, not a filter; this filter
keeps Glance's pipelines as they were (``healthcheck`` listed first) and
hands ``/healthcheck`` to that app, before authentication and versions.
"""
from oslo_middleware import healthcheck

from glance.common import wsgi

PATH = "/healthcheck"


class HealthcheckFilter(wsgi.Middleware):
    """Routes ``/healthcheck`` to oslo.middleware's Healthcheck app."""

    def __init__(self, application, healthcheck_app):
        super().__init__(application)
        self.healthcheck_app = healthcheck_app

    @classmethod
    def factory(cls, global_conf, **local_conf):
        def make(app):
            checker = healthcheck.Healthcheck.app_factory(global_conf,
                                                          **local_conf)
            return cls(app, checker)
        return make

    def process_request(self, req):
        if req.path_info.rstrip("/") == PATH:
            return req.get_response(self.healthcheck_app)
        return None
