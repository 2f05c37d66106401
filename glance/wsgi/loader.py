"""Build the Images API for a WSGI host (uwsgi, gunicorn, mod_wsgi).

:mod:`glance.wsgi.api` calls :func:`load_or_exit` when it is imported;
this module can be imported (and tested) without building anything.

Config files are found as Glance's WSGI app finds them: in the directory
``OS_GLANCE_CONFIG_DIR`` (default ``/etc/glance``), ``glance-api.conf``
(required) and ``glance-image-import.conf`` (if present), with the paste
file ``glance-api-paste.ini`` beside them (else the packaged one).
``GLANCE_CONFIG_FILE`` (comma-separated paths) names the files instead.
The host server's command line is not parsed.

The process runs the ``native`` thread-pool model: no eventlet patching.
An embedded SQLite database is created or upgraded as glance-api does;
a database server must be migrated first with ``glance-manage db sync``.
A missing config, a paste file that does not load or a database that
does not answer stops the load with one line saying why.
"""
import os
import sys
import warnings

from glance.common import bootstrap
from glance.common import config

# libraries import eventlet where it is installed (futurist through
# glance_store, oslo.service through oslo.messaging), and it warns about
# itself on import; this process does not run it
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

CONFIG_DIR_ENV = "OS_GLANCE_CONFIG_DIR"
CONFIG_FILE_ENV = "GLANCE_CONFIG_FILE"
DEFAULT_CONFIG_DIR = "/etc/glance"
# read in this order, so glance-api.conf has the last word
CONFIG_FILES = ("glance-image-import.conf", "glance-api.conf")
REQUIRED_CONFIG = "glance-api.conf"
APP_LOAD_ERROR = 4


class LoadError(RuntimeError):
    """The application cannot be built; the message says why."""


def config_files(environ=None):
    """The config files to read, from the environment (see the module)."""
    environ = os.environ if environ is None else environ
    named = [f.strip() for f in environ.get(CONFIG_FILE_ENV, "").split(",")
             if f.strip()]
    if named:
        missing = [f for f in named if not os.path.isfile(f)]
        if missing:
            raise LoadError("%s names missing file(s): %s"
                            % (CONFIG_FILE_ENV, ", ".join(missing)))
        return named
    directory = environ.get(CONFIG_DIR_ENV, "").strip() or \
        DEFAULT_CONFIG_DIR
    if not os.path.isfile(os.path.join(directory, REQUIRED_CONFIG)):
        raise LoadError("no %s in %s: set %s to the directory of "
                        "glance-api.conf (or %s to the files)"
                        % (REQUIRED_CONFIG, directory, CONFIG_DIR_ENV,
                           CONFIG_FILE_ENV))
    return [path for path in (os.path.join(directory, name)
                              for name in CONFIG_FILES)
            if os.path.isfile(path)]


def init_application(environ=None):
    """Bootstrap the process and build the paste application."""
    files = config_files(environ)
    bootstrap.bootstrap([], prog="glance-api", thread_model="native",
                        default_config_files=files)
    _prepare_database()
    bootstrap.setup_stores()
    return config.load_paste_app("glance-api")


def _prepare_database():
    from glance.db import migration
    from glance.db import session
    migration.ensure_schema()
    with session.connection(write=False) as conn:
        conn.exec_driver_sql("SELECT 1")


def load():
    """The application, or LoadError with the reason in one line."""
    try:
        return init_application()
    except LoadError:
        raise
    except Exception as e:  # noqa: BLE001 - one line for the operator
        reason = " ".join(str(e).split())
        raise LoadError("%s: %s" % (type(e).__name__, reason)) from None


def load_or_exit():
    """The application; else one line on stderr and SystemExit.

    The exit status is gunicorn's "application failed to load" (4), on
    which its arbiter stops instead of respawning workers that cannot
    boot; uwsgi's master exits with it too.
    """
    try:
        return load()
    except LoadError as e:
        print("glance.wsgi.api: cannot load the application: %s" % e,
              file=sys.stderr, flush=True)
        raise SystemExit(APP_LOAD_ERROR) from None

