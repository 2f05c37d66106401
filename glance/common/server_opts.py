"""The options of glance-api's sockets and process model; the worker count.

Apart from :mod:`glance.common.server` so that reading them (glance.opts,
the WSGI application's option check) does not import eventlet.
"""
import os
import sys

from oslo_config import cfg

from glance.i18n import _

CONF = cfg.CONF

DEFAULT_WORKER_CAP = 8

bind_opts = [
    cfg.HostAddressOpt("bind_host", default="0.0.0.0",
                       help=_("Address to listen on (IPv4 or IPv6).")),
    cfg.PortOpt("bind_port", sample_default=9292,
                help=_("Port to listen on; default 9292 for glance-api. "
                       "0 picks a free port.")),
]

socket_opts = [
    cfg.IntOpt("backlog", default=4096, min=1,
               help=_("Number of connections the kernel queues before "
                      "a worker accepts them.")),
    cfg.IntOpt("tcp_keepidle", default=600, min=1,
               help=_("Seconds a connection idles before TCP keepalive "
                      "probes start (where the platform supports it).")),
    cfg.StrOpt("ca_file",
               help=_("CA certificates file: clients must then present a "
                      "certificate signed by one of them.")),
    cfg.StrOpt("cert_file",
               help=_("Certificate file of the server: HTTPS when set, "
                      "together with key_file.")),
    cfg.StrOpt("key_file",
               help=_("Private key file of the server certificate.")),
]

eventlet_opts = [
    cfg.IntOpt("workers", min=0, sample_default=2,
               help=_("Worker processes; 0 serves in the parent process. "
                      "Default: the number of CPUs, at most %d.")
               % DEFAULT_WORKER_CAP),
    cfg.IntOpt("max_header_line", default=16384, min=1,
               help=_("Longest HTTP header line accepted, in bytes; a "
                      "longer one is answered 400.")),
    cfg.BoolOpt("http_keepalive", default=True,
                help=_("Keep client connections open between requests.")),
    cfg.IntOpt("client_socket_timeout", default=900, min=0,
               help=_("Seconds a client connection may be idle; 0 waits "
                      "forever.")),
    cfg.IntOpt("graceful_shutdown_timeout", default=60, min=0,
               help=_("Seconds a stopping worker lets its in-flight "
                      "requests run before it exits anyway; 0 waits "
                      "for them forever.")),
    cfg.IntOpt("worker_timeout", default=60, min=0,
               help=_("Seconds a worker process may go without a "
                      "heartbeat before the supervisor kills it (SIGKILL) "
                      "and starts another; what it held (uploads, import "
                      "locks) is then released. A serving worker beats "
                      "from a green thread twice a second, so only a "
                      "blocked process (a call that never returns, a "
                      "deadlock) misses it; a booting worker is not "
                      "watched. 0 disables the watchdog. Not a Glance "
                      "option (gunicorn's timeout).")),
]

wsgi_opts = [
    cfg.IntOpt("task_pool_threads", default=16, min=1,
               help=_("Threads (green threads in glance-api) each worker "
                      "runs asynchronous tasks with.")),
    cfg.StrOpt("python_interpreter", default=sys.executable,
               sample_default="sys.executable",
               help=_("Python interpreter of the external processes the "
                      "service starts.")),
]

cli_opts = [
    cfg.StrOpt("pydev-worker-debug-host", metavar="HOST",
               help=_("Host of a pydevd debugger each worker attaches "
                      "to.")),
    cfg.PortOpt("pydev-worker-debug-port", default=5678,
                help=_("Port of that debugger.")),
]

CONF.register_opts(bind_opts)
CONF.register_opts(socket_opts)
CONF.register_opts(eventlet_opts)
CONF.register_opts(wsgi_opts, group="wsgi")


def list_opts():
    """The options of this module, for glance.opts."""
    return [(None, bind_opts + socket_opts + eventlet_opts + cli_opts),
            ("wsgi", wsgi_opts)]


def register_cli_opts():
    """The daemon's command-line options; call before parsing."""
    CONF.register_cli_opts(cli_opts)


def get_num_workers():
    """``workers``, or the number of usable CPUs capped at 8."""
    if CONF.workers is not None:
        return CONF.workers
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return min(cpus, DEFAULT_WORKER_CAP)
