"""The Images API as a WSGI application for uwsgi, gunicorn or mod_wsgi.

::

    OS_GLANCE_CONFIG_DIR=/etc/glance uwsgi --http-socket :9292 --master \\
        --processes 2 --enable-threads --http-auto-chunked \\
        --http-chunked-input --http-raw-body \\
        --module glance.wsgi.api:application
    OS_GLANCE_CONFIG_DIR=/etc/glance gunicorn --workers 2 \\
        'glance.wsgi.api:application'

``application`` is built when this module is first imported, as Glance's
is, so hosts that look the callable up in the module's namespace find it.
How the config is found, and what stops the load, is described in
:mod:`glance.wsgi.loader`.
"""
from glance.wsgi import loader

application = loader.load_or_exit()
