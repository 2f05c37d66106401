"""The glance-api server: a pre-forking supervisor over eventlet.wsgi workers.

The process model is gunicorn's, written for Glance, in three modules:
this one (:class:`BaseServer`: configure, bind, boot, reload; alone it is
the ``workers = 0`` server), :mod:`glance.common.arbiter` (the master
:class:`~glance.common.arbiter.PosixServer`, gunicorn's ``arbiter.py``)
and :mod:`glance.common.worker` (what each child runs, gunicorn's
``workers/base.py``). The options are in :mod:`glance.common.server_opts`;
eventlet's process globals in :mod:`glance.common.eventlet_setup`.

* The parent binds one listening socket, forks ``workers`` children and then
  only supervises. Its signal handlers just record the signal and write a
  byte to a self-pipe; the main loop (:meth:`PosixServer.run_forever`) wakes
  up, dispatches to ``handle_hup`` or ``handle_term`` and reaps once
  (``handle_chld``).
* Each child loads the paste application and serves the shared socket
  (:class:`glance.common.worker.Worker`, gunicorn's ``workers/base``).
  SIGTERM, SIGINT or SIGHUP make a child stop accepting and drain without
  dropping a request: it answers the next request of each open
  connection with ``Connection: close``, closes only connections silent
  for a grace period, and exits 0 when they are done (or after
  ``graceful_shutdown_timeout`` seconds).
* SIGHUP to the parent re-reads the config files, forks a new generation of
  children with the new configuration and, once they serve, tells the old
  generation to drain. The listening socket stays open throughout, so no
  connection is refused during a reload.
* Watchdog: each child beats a heartbeat in its slot of a shared page
  (:mod:`glance.common.scoreboard`) from a green thread, so a blocked hub
  stops it; the parent kills a child silent for ``worker_timeout``
  seconds (SIGKILL) and starts another.
* A dead child is reaped with ``waitpid(WNOHANG)`` and replaced. What it
  held (uploads, stages, import locks, recorded with
  :mod:`glance.common.claims`) is released at once by a short-lived
  child of the parent (a janitor running ``release_claims``), so a
  client's retry works within seconds. A child
  that cannot boot (its application, or a check it runs, fails) writes
  why on a pipe (:class:`BootErrors`) and exits with
  :data:`WORKER_BOOT_ERROR`; the parent logs that reason, stops every
  child and exits with that status (``boot_error`` says why) instead of
  respawning forever. This holds for the new generation of a reload too:
  fix the configuration and start again.
* SIGTERM or SIGINT to the parent drains every child and exits 0; a second
  one kills the children at once.
* ``workers = 0`` serves in the parent itself (:class:`BaseServer`): SIGHUP
  then reloads the configuration and the application in place.

The connection-level pieces (the HTTP protocol and its drain, the
request body) are in :mod:`glance.common.connections`.
"""

import os
import signal

from oslo_config import cfg
from oslo_log import log as logging

from glance.common import eventlet_setup
from glance.common import logging_setup
from glance.common.sockets import format_addr
from glance.common.sockets import get_socket
from glance.common.sockets import is_ssl_enabled
from glance.common.sockets import make_ssl_context
from glance.common.sockets import tune_socket
from glance.common.worker import AppLoader
from glance.common.worker import attach_debugger
from glance.common.worker import conf_value
from glance.common.worker import set_signal_handler
from glance.common.worker import Worker
from glance.i18n import _

__all__ = ["BaseServer", "WORKER_BOOT_ERROR"]

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

WORKER_BOOT_ERROR = 3


# --- the serving process ---------------------------------------------------

class BaseServer:
    """Serves the WSGI application in this process.

    ``start(application, default_port)`` configures and binds,
    ``wait()`` serves until SIGTERM/SIGINT and returns the exit status.
    This is the ``workers = 0`` server; the serving itself is a
    :class:`~glance.common.worker.Worker`, as in each
    :class:`~glance.common.arbiter.PosixServer` child.

    ``initialize_glance_store`` and ``initialize_prefetcher`` are the
    entry point's steps (callables, or False): the stores are set up at
    start and on each reload, the prefetcher starts in each worker.
    """

    def __init__(self, threads=1000, initialize_glance_store=False,
                 initialize_prefetcher=False):
        self.threads = threads
        self.initialize_glance_store = initialize_glance_store
        self.initialize_prefetcher = initialize_prefetcher
        self.application = None   # a WSGI app or an AppLoader
        self.app = None           # the WSGI app this process serves
        self.default_port = None
        self.sock = None
        self.ssl_context = None
        self.client_socket_timeout = None
        self.workers = 0
        self.worker = None        # the Worker serving in this process
        self.rebind_allowed = True
        self._signals = None

    # start-up and configuration

    def start(self, application, default_port):
        """Configure, bind, and start the workers (if any)."""
        self.application = application
        self.default_port = default_port
        self.configure()
        self.workers = self.num_workers()
        self.log_startup()
        if self.workers == 0:
            self.boot()
        else:
            self.start_workers()

    def num_workers(self):
        return 0

    def start_workers(self):
        raise NotImplementedError(_("%s serves in one process")
                                  % type(self).__name__)

    def configure(self, old_conf=None, has_changed=None):
        """Apply the configuration: limits, TLS, the socket, the stores."""
        ssl_context = make_ssl_context() if is_ssl_enabled() else None
        self.configure_socket(old_conf, has_changed)
        if self.initialize_glance_store:
            # the entry point's store step (glance.common.bootstrap owns
            # it): here so that a reload sets the stores up again
            self.initialize_glance_store()
        self.ssl_context = ssl_context
        self.client_socket_timeout = CONF.client_socket_timeout or None
        eventlet_setup.apply_wsgi_globals(CONF.max_header_line)

    def configure_socket(self, old_conf=None, has_changed=None):
        """Bind once; on a reload, rebind only if the address changed."""
        if self.sock is not None:
            moved = has_changed is not None and (
                has_changed("bind_host") or has_changed("bind_port"))
            if not moved:
                tune_socket(self.sock)
                return
            if not self.rebind_allowed:
                LOG.warning("bind_host/bind_port changes need a restart "
                            "when workers = 0; still listening on %s",
                            format_addr(self.sock.getsockname()))
                return
        sock = get_socket(self.default_port)
        old, self.sock = self.sock, sock
        if old is not None:
            LOG.info("Now listening on %s; %s is closed once its requests "
                     "are done", format_addr(sock.getsockname()),
                     format_addr(old.getsockname()))
            old.close()

    @staticmethod
    def conf_snapshot():
        """The values ``has_changed`` compares after a reload."""
        names = ("bind_host", "bind_port", "backlog", "tcp_keepidle",
                 "cert_file", "key_file", "ca_file", "workers")
        return {name: getattr(CONF, name) for name in names}

    def log_startup(self):
        scheme = "https" if self.ssl_context else "http"
        LOG.info("glance-api (pid %(pid)d) listening on %(scheme)s://"
                 "%(addr)s with %(n)s worker process(es)",
                 {"pid": os.getpid(), "scheme": scheme,
                  "addr": format_addr(self.sock.getsockname()),
                  "n": self.workers or "no"})

    def load_application(self):
        app = self.application
        return app.load() if isinstance(app, AppLoader) else app

    def boot(self):
        """What a serving process does before it accepts connections."""
        if conf_value("pydev_worker_debug_host"):
            attach_debugger()
        self.app = self.load_application()
        if self.initialize_prefetcher:
            self.cache_images()

    def cache_images(self):
        """Start the in-daemon periodic image prefetcher: a callable
        ``initialize_prefetcher`` is what starts it (the entry point
        passes it; the server knows no service)."""
        if callable(self.initialize_prefetcher):
            self.initialize_prefetcher()

    # reloading

    def hup(self, *args):
        """Ask for a reload; usable as a signal handler."""
        if self._signals is not None:
            self._signals.record(signal.SIGHUP)
        elif self.worker is not None:
            self.worker.record_signal(signal.SIGHUP)
        else:
            self.reload()

    def reload(self):
        """Re-read the config files and apply them; False if unusable."""
        old_conf = self.conf_snapshot()
        if not CONF.reload_config_files():
            LOG.error("Could not re-read the configuration files; keeping "
                      "the current configuration")
            return False
        _setup_logging()  # new levels; reopens the log file

        def has_changed(name):
            return old_conf[name] != getattr(CONF, name)

        try:
            self.configure(old_conf, has_changed)
        except Exception:
            LOG.exception("The reloaded configuration cannot be applied")
            return False
        return True

    def reload_in_place(self):
        """SIGHUP with workers = 0: new configuration, then new app."""
        if not self.reload():
            return
        try:
            app = self.load_application()
        except Exception:
            LOG.exception("Reload: the application failed to load; still "
                          "serving the previous one")
            return
        self.app = self.worker.app = app
        self.worker.protocol.ssl_context = self.ssl_context
        LOG.info("Reloaded the configuration and the application")

    # serving

    def wait(self):
        """Serve in this process until SIGTERM/SIGINT; the exit status."""
        self.rebind_allowed = False
        self.worker = self.make_worker()
        self.worker.run(on_hup=self.reload_in_place)
        LOG.info("glance-api (pid %d) stopped", os.getpid())
        return 0

    def make_worker(self, slot=None):
        """The :class:`~glance.common.worker.Worker` serving this
        process's connections."""
        return Worker(self.sock, self.app, ssl_context=self.ssl_context,
                      threads=self.threads,
                      socket_timeout=self.client_socket_timeout,
                      keepalive=CONF.http_keepalive, slot=slot)

    set_signal_handler = staticmethod(set_signal_handler)



def _setup_logging():
    try:
        logging_setup.setup(CONF)
    except cfg.NoSuchOptError:
        pass  # oslo.log options not registered: not set up by bootstrap

