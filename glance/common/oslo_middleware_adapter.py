"""oslo.middleware's filters at less cost per request.

Their ``ConfigurableMiddleware.__call__`` is a webob ``wsgify``: for every
request it builds a Request, captures the app's answer into a Response and
answers from it, even where the filter leaves the request and the answer
as they are. :class:`CORS` and :class:`HTTPProxyToWSGI` are oslo's classes
that hand such a request straight to the app, with only what answering
from a webob Response adds (an absolute ``Location``, no body for HEAD);
the rest takes oslo's own path. Paste files name oslo's factories (ours
as Glance's); :mod:`glance.common.filter_adoption` turns the filters
they built into these once the app is loaded (:data:`ADOPTED`).

Where oslo's path runs (now a CORS request only),
``ConfigurableMiddleware.__call__`` also runs
``inspect.getfullargspec(self.process_response)`` on every request, to
learn whether ``process_response`` takes the request: 7% of a GET's
application CPU when every request took that path, for an answer that
depends only on the function.
The bootstrap swaps the module's ``getfullargspec`` for one that
remembers it per function (:func:`install_argspec_cache`), only when the
module still imports it by that name: otherwise oslo.middleware runs
unpatched and :func:`check_internals` (run by the unit tests) says what
changed.

oslo's healthcheck app compiles its Jinja2 template on every request; the
bootstrap gives it one that compiles each template once
(:func:`install_template_cache`).
"""
import functools
import inspect

import jinja2
import webob
import webob.exc
import webob.response
from oslo_middleware import base
from oslo_middleware import cors
from oslo_middleware import healthcheck
from oslo_middleware import http_proxy_to_wsgi


def check_internals():
    """RuntimeError unless oslo_middleware.base looks up
    ``getfullargspec`` in its module, as the cache assumes."""
    current = getattr(base, "getfullargspec", None)
    if current is None:
        raise RuntimeError("oslo_middleware.base no longer imports "
                           "getfullargspec")
    if getattr(current, "__wrapped__", current) is not \
            inspect.getfullargspec:
        raise RuntimeError("oslo_middleware.base.getfullargspec is %r, "
                           "not inspect's" % (current,))


_SPECS = {}


def remembered_getfullargspec(func):
    """``inspect.getfullargspec``, kept per plain function (a bound
    method's argspec is its function's, ``self`` included)."""
    key = getattr(func, "__func__", func)
    spec = _SPECS.get(key)
    if spec is None:
        spec = inspect.getfullargspec(func)
        if inspect.isfunction(key):
            _SPECS[key] = spec
    return spec


remembered_getfullargspec.__wrapped__ = inspect.getfullargspec


def install_argspec_cache():
    """Install :func:`remembered_getfullargspec` in oslo_middleware.base
    (once; True if it is installed)."""
    try:
        check_internals()
    except RuntimeError:
        return False
    base.getfullargspec = remembered_getfullargspec
    return True


@functools.lru_cache(maxsize=8)
def _compiled(source):
    return jinja2.Template(source=source, undefined=jinja2.StrictUndefined)


def expand_template(source, params):
    """oslo.middleware healthcheck's ``_expand_template`` with each
    template compiled once: oslo compiles its template with Jinja2 on
    every ``/healthcheck``, 0.6 of the answer's CPU (1.65 ms over HTTP
    where a GET of an image takes 0.9 ms)."""
    return _compiled(source).render(**params)


def install_template_cache():
    """Install :func:`expand_template` in oslo_middleware.healthcheck
    (True), unless that module no longer has ``_expand_template``
    (False: it runs as it is)."""
    if not callable(getattr(healthcheck, "_expand_template", None)):
        return False
    healthcheck._expand_template = expand_template
    return True


class _PassThrough:
    """A ``ConfigurableMiddleware`` whose :meth:`passes_through` requests
    skip webob's ``wsgify``: ``process_request``, then the app's own
    answer (an HTTP error it raises is the answer, as ``wsgify`` makes
    it)."""

    def passes_through(self, environ):
        raise NotImplementedError

    def __call__(self, environ, start_response):
        if not self.passes_through(environ):
            return super().__call__(environ, start_response)
        answer = self.process_request(base.NoContentTypeRequest(environ))
        if answer:
            return answer(environ, start_response)
        try:
            body = self.application(
                environ, absolute_location(environ, start_response))
        except webob.exc.HTTPException as error:
            return error(environ, start_response)
        if environ["REQUEST_METHOD"] == "HEAD":
            return webob.response.EmptyResponse(body)
        return body


# webob's own rule (looked up at import: an upgrade without it fails to
# start, not on the first redirect)
_make_location_absolute = webob.Response._make_location_absolute


def absolute_location(environ, start_response):
    """``start_response`` making a relative ``Location`` absolute, as a
    webob Response answers it."""
    def start(status, headers, exc_info=None):
        headers = [(name, value) if name.lower() != "location" else
                   (name, _make_location_absolute(environ, value))
                   for name, value in headers]
        return start_response(status, headers, exc_info)
    return start


class CORS(_PassThrough, cors.CORS):
    """oslo.middleware's CORS filter: a request without ``Origin`` that
    is not OPTIONS gets no CORS header and goes straight through."""

    def passes_through(self, environ):
        return ("HTTP_ORIGIN" not in environ
                and environ["REQUEST_METHOD"] != "OPTIONS")


class HTTPProxyToWSGI(_PassThrough, http_proxy_to_wsgi.HTTPProxyToWSGI):
    """oslo.middleware's proxy-header filter: it changes the request
    only, so every request goes straight through after it."""

    def passes_through(self, environ):
        return True


# oslo's class -> ours: the same object, with our __call__ (no state added)
ADOPTED = {cors.CORS: CORS,
           http_proxy_to_wsgi.HTTPProxyToWSGI: HTTPProxyToWSGI}
