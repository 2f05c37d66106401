"""A remembered argspec for oslo.middleware's filters.

``ConfigurableMiddleware.__call__`` (the base of the ``cors`` and
``http_proxy_to_wsgi`` filters of every pipeline) runs
``inspect.getfullargspec(self.process_response)`` on every request, to
learn whether ``process_response`` takes the request: about 7% of a
GET's application CPU, for an answer that depends only on the function.
The bootstrap swaps the module's ``getfullargspec`` for one that
remembers it per function (:func:`install_argspec_cache`), only when the
module still imports it by that name: otherwise oslo.middleware runs
unpatched and :func:`check_internals` (run by the unit tests) says what
changed.
"""
import inspect

from oslo_middleware import base


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
