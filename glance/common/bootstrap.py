"""The one start-up step every console script runs first.

``bootstrap(argv, prog, thread_model)`` parses the command line and the
config files (stopping on a value the program cannot interpret), sets up
logging, chooses the process's thread-pool model
(``eventlet`` in the daemon, ``native`` in command-line tools and under
uwsgi/gunicorn) and, for the daemon, the eventlet hub. Process-global set-up
lives here, once, so that no entry point can forget a step.
"""
from oslo_config import cfg
from oslo_log import log as logging

import glance.async_
from glance.common import config

CONF = cfg.CONF
THREAD_MODELS = ("eventlet", "native")


def bootstrap(argv=None, prog=None, thread_model="native",
              default_config_files=None):
    """Parse config, set up logging, the thread-pool model and the hub.

    ``argv`` excludes the program name (None: ``sys.argv[1:]``).
    """
    if thread_model not in THREAD_MODELS:
        raise ValueError("thread_model must be one of %s, not %r"
                         % (", ".join(THREAD_MODELS), thread_model))
    server = _server_module() if thread_model == "eventlet" else None
    CONF.clear()  # CLI options can only be registered before parsing
    logging.register_options(CONF)
    # alembic narrates every migration at INFO: keep tools' output clean
    logging.set_defaults(default_log_levels=logging.get_default_log_levels()
                         + ["alembic=WARN"])
    if server is not None:
        server.register_cli_opts()
    config.parse_args(args=argv, prog=prog,
                      default_config_files=default_config_files)
    logging.setup(CONF, "glance")
    check_option_values(prog)
    set_threadpool_model(thread_model)
    if server is not None:
        server.set_eventlet_hub()


def check_option_values(prog):
    """cfg.Error now if a value of ``prog``'s options does not parse."""
    from glance import opts  # every option module of the program
    opts.check_program_config(prog)


def set_threadpool_model(thread_model):
    """Tell glance.async_ which model this process runs (if it can)."""
    setter = getattr(glance.async_, "set_threadpool_model", None)
    if setter is not None:
        setter(thread_model)


def _server_module():
    # eventlet stays out of the processes that do not serve
    from glance.common import server
    return server
