"""The Images API as a WSGI application for uwsgi, gunicorn or mod_wsgi.

::

    gunicorn 'glance.wsgi.api:application'
    uwsgi --http :9292 --module glance.wsgi.api:application

Config files come from ``GLANCE_CONFIG_FILE`` (comma-separated paths), or
else oslo.config's search for ``glance-api.conf`` (``~/.glance``, ``~``,
``/etc/glance``, ``/etc``); the host server's command line is not parsed.
The process runs the ``native`` thread-pool model: no eventlet patching.
The application is built on first access to ``application``. The database
schema is not created here: run ``glance-manage db sync`` first.
"""
import os
import warnings

from glance.common import bootstrap
from glance.common import config

# the server module (stores, re-exported by glance.common.wsgi) imports
# eventlet, which warns about itself; this process does not run it
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

CONFIG_FILE_ENV = "GLANCE_CONFIG_FILE"


def config_files(environ=None):
    """The config files named by GLANCE_CONFIG_FILE, or None."""
    value = (os.environ if environ is None else environ).get(
        CONFIG_FILE_ENV, "")
    files = [f.strip() for f in value.split(",") if f.strip()]
    return files or None


def init_application():
    """Bootstrap the process and build the paste application."""
    bootstrap.bootstrap([], prog="glance-api", thread_model="native",
                        default_config_files=config_files())
    from glance.common import server
    server.initialize_stores()
    return config.load_paste_app("glance-api")


def __getattr__(name):
    if name == "application":
        app = init_application()
        globals()["application"] = app
        return app
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
