"""Tiny paste apps for the server's own tests, independent of the API.

``GET /slow?seconds=N`` sleeps N seconds (a green sleep in the daemon:
``time`` is monkey-patched) and then answers JSON with the worker's PID and
the current ``image_size_cap``, so a test can tell which worker, with which
configuration, served it. With ``started=PATH`` it first creates the
file PATH, so that a test can wait for its request to be in flight.
``GET /slow?echo=headers`` answers the request's ``HTTP_*`` environ keys
instead, one ``KEY=value`` line each.
:data:`PASTE_INI` is a paste file whose default
app (``glance-api``) serves ``/slow`` next to the versions document; the
``broken`` flavor (``glance-api-broken``) is an app whose factory raises.
"""
import os
import time

import webob
import webob.dec
from oslo_config import cfg

CONF = cfg.CONF


class SlowApp:
    """Sleeps as long as asked, then says who answered and with what."""

    @webob.dec.wsgify
    def __call__(self, req):
        if req.GET.get("echo") == "headers":
            return webob.Response(text="".join(
                "%s=%s\n" % (key, req.environ[key])
                for key in sorted(req.environ) if key.startswith("HTTP_")))
        seconds = float(req.GET.get("seconds", "0"))
        if "started" in req.GET:
            open(req.GET["started"], "x").close()
        time.sleep(seconds)
        body = {"pid": os.getpid(), "seconds": seconds,
                "image_size_cap": CONF.image_size_cap}
        return webob.Response(json=body)


def app_factory(global_conf, **local_conf):
    return SlowApp()


def broken_app_factory(global_conf, **local_conf):
    raise RuntimeError("slowapp: this application refuses to load")


PASTE_INI = """
[composite:glance-api]
paste.composite_factory = glance.api:root_app_factory
/slow = slow
/ = versions

[pipeline:slow]
pipeline = requestid slowapp

[pipeline:versions]
pipeline = versionnegotiation apiversions

[filter:requestid]
paste.filter_factory = glance.common.wsgi:Middleware.factory

[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:\
VersionNegotiationFilter.factory

[app:apiversions]
paste.app_factory = glance.api.versions:create_resource

[app:slowapp]
paste.app_factory = tests.functional.slowapp:app_factory

[app:glance-api-broken]
paste.app_factory = tests.functional.slowapp:broken_app_factory
"""
