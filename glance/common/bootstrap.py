"""The one process set-up every entry point runs first.

Gunicorn's hooks, for Glance. Pre-fork, in :func:`bootstrap` (every
console script and the WSGI application call it; a test checks each):

* parse the command line and the config files (stopping on a value the
  program cannot interpret) and set up logging;
* choose the process's thread-pool model (``eventlet`` in the daemon,
  ``native`` in the command-line tools and under uwsgi/gunicorn);
* install the library adapters' patches (the oslo.policy check arity
  cache, :mod:`glance.common.oslo_policy_adapter`);
* for the daemon: its command-line options and the eventlet hub
  (:mod:`glance.common.eventlet_setup`, which glance-api also calls to
  monkey-patch before anything is imported).

:func:`setup_stores` is the one store registry set-up (multi- or
single-store, :mod:`glance.common.store_setup`): the tools and the WSGI
application call it, glance-api hands it to its server, which runs it at
start and on each reload, before any fork.

Post-fork, in each child of glance-api: a hub of its own
(:func:`glance.common.eventlet_setup.post_fork`, run by the arbiter) and
the lazy per-process singletons forgotten by one fork hook
(:mod:`glance.common.process`). :data:`STATE` says which steps ran in
this process.
"""
from oslo_config import cfg
from oslo_log import log as logging

import glance.async_
from glance.common import config
from glance.common import eventlet_setup
from glance.common import logging_setup
from glance.common import oslo_middleware_adapter
from glance.common import oslo_policy_adapter
from glance.common import server_opts

CONF = cfg.CONF
THREAD_MODELS = ("eventlet", "native")

# what ran in this process: prog, thread_model and the steps in order
STATE = {"prog": None, "thread_model": None, "steps": []}


def bootstrap(argv=None, prog=None, thread_model="native",
              default_config_files=None):
    """Parse config, set up logging, the thread-pool model and the hub.

    ``argv`` excludes the program name (None: ``sys.argv[1:]``).
    """
    if thread_model not in THREAD_MODELS:
        raise ValueError("thread_model must be one of %s, not %r"
                         % (", ".join(THREAD_MODELS), thread_model))
    serving = thread_model == "eventlet"
    STATE.update(prog=prog, thread_model=thread_model, steps=[])
    CONF.clear()  # CLI options can only be registered before parsing
    logging.register_options(CONF)
    # alembic narrates every migration at INFO: keep tools' output clean
    logging.set_defaults(default_log_levels=logging.get_default_log_levels()
                         + ["alembic=WARN"])
    if serving:
        server_opts.register_cli_opts()
    config.parse_args(args=argv, prog=prog,
                      default_config_files=default_config_files)
    logging_setup.setup(CONF)
    _done("config")
    check_option_values(prog)
    set_threadpool_model(thread_model)
    _done("threadpool")
    oslo_policy_adapter.install_check_arity_cache()
    oslo_policy_adapter.install_literal_eval_cache()
    oslo_middleware_adapter.install_argspec_cache()
    oslo_middleware_adapter.install_template_cache()
    _done("library-patches")
    if serving:
        eventlet_setup.set_eventlet_hub()
        _done("eventlet-hub")


def setup_stores():
    """Create the configured stores (glance_store's registry)."""
    from glance.common import store_setup  # glance_store: when needed
    store_setup.initialize_stores()
    _done("stores")


def _done(step):
    STATE["steps"].append(step)


def check_option_values(prog):
    """cfg.Error now if a value of ``prog``'s options does not parse."""
    from glance import opts  # every option module of the program
    opts.check_program_config(prog)


def set_threadpool_model(thread_model):
    """Tell glance.async_ which model this process runs (if it can)."""
    setter = getattr(glance.async_, "set_threadpool_model", None)
    if setter is not None:
        setter(thread_model)
