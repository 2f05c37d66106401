"""eventlet's process-wide state, set in one place.

Monkey patching (first thing glance-api does), the hub (chosen by
:func:`glance.common.bootstrap.bootstrap` before any fork, made anew in
each child by :func:`post_fork`) and eventlet.wsgi's module globals
(:func:`apply_wsgi_globals`, at start and on each reload). Processes that
do not serve (the tools, the WSGI application) never import eventlet:
this module imports it only inside its functions.
"""
import warnings

_HUB = None   # the hub chosen before fork, reused by the children


def quiet_deprecation_warning():
    """eventlet warns about itself on import; glance-api knows."""
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")


def monkey_patch():
    """Patch the standard library for green threads (before it is used)."""
    quiet_deprecation_warning()
    import eventlet.patcher
    eventlet.patcher.monkey_patch()


def set_eventlet_hub():
    """Use eventlet's poll hub (selects where there is no poll).

    Unlike epoll, poll keeps no kernel object that a forked worker would
    share with its parent and its siblings.
    """
    global _HUB
    import eventlet.hubs
    for name in ("poll", "selects"):
        try:
            eventlet.hubs.use_hub(name)
        except Exception:  # noqa: BLE001 - try the next one
            continue
        _HUB = name
        return
    from glance.i18n import _
    raise RuntimeError(_("Neither the 'poll' nor the 'selects' eventlet "
                         "hub is available on this platform."))


def post_fork():
    """In a forked child: a hub of its own, of the kind chosen."""
    import eventlet.hubs
    eventlet.hubs.use_hub(_HUB)


def apply_wsgi_globals(max_header_line):
    """eventlet.wsgi's module globals: the longest header line, our
    request body (``readinto``, chunked input) and the ``Date`` header
    made once a second."""
    import eventlet.wsgi
    from glance.common.connections import RequestBody, http_date
    eventlet.wsgi.MAX_HEADER_LINE = max_header_line
    eventlet.wsgi.Input = RequestBody
    eventlet.wsgi.format_date_time = http_date
