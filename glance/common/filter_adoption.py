"""The filters paste built, given our cheaper classes once the app loads.

oslo.middleware's ``cors`` and ``http_proxy_to_wsgi``
(:mod:`glance.common.oslo_middleware_adapter`) and keystonemiddleware's
``authtoken`` (:mod:`glance.common.keystone_adapter`) are re-classed in
place: the same objects, configured as paste made them, with our
``__call__``. A filter of a subclass of theirs is left as it is.
"""
import sys

from glance.common import oslo_middleware_adapter

_KEYSTONE = "keystonemiddleware.auth_token"


def adopt_filters(app, depth=32):
    """Adopt the filters of the pipeline ``app`` (outermost first; each
    layer's ``application`` is the next, ``_app`` in keystonemiddleware);
    the number adopted."""
    adopted = 0
    table = _table()
    for _layer in range(depth):
        ours = table.get(type(app))
        if ours is not None and _may_adopt(ours, app):
            app.__class__ = ours
            adopted += 1
        app = getattr(app, "application", None) or getattr(app, "_app",
                                                           None)
        if app is None:
            break
    return adopted


def _may_adopt(ours, app):
    """Ours may say no (keystone_adapter: a keystonemiddleware without
    the parts it relies on)."""
    check = getattr(ours, "adoptable", None)
    return check is None or check(app)


def _table():
    """Their class -> ours; keystonemiddleware's only once it is
    imported (only then can paste have built its filter)."""
    table = dict(oslo_middleware_adapter.ADOPTED)
    if _KEYSTONE in sys.modules:
        from glance.common import keystone_adapter
        table[keystone_adapter.auth_token.AuthProtocol] = \
            keystone_adapter.AuthProtocol
    return table
