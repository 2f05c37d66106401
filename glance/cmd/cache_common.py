"""What the cron tools glance-cache-pruner/-cleaner/-prefetcher share.

Each reads ``glance-cache.conf`` (found the oslo.config way for the program
``glance-cache``, or given with ``--config-file``), runs its app's
``run()`` once, says nothing on success unless ``--verbose``, logs, and
exits 0 on success, 1 when the job failed, 2 on a configuration error.
"""
import sys
import warnings

from oslo_config import cfg
from oslo_log import log as logging

from glance.common import bootstrap

# futurist imports eventlet (unused here): no deprecation noise for cron
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

cli_opts = [
    cfg.BoolOpt("verbose", short="v", default=False,
                help="Print what was done (nothing is printed on success "
                     "otherwise)."),
]


def setup(prog, argv=None):
    """Bootstrap the tool; an exit status if that failed, else None."""
    CONF.clear()
    CONF.register_cli_opts(cli_opts)
    try:
        bootstrap.bootstrap(argv, prog=prog, thread_model="native",
                            default_config_files=config_files())
    except cfg.Error as e:
        print("%s: configuration error: %s" % (prog, e), file=sys.stderr)
        return 2
    return None


def config_files():
    return cfg.find_config_files(project="glance", prog="glance-cache")


def run(prog, job):
    """``job()`` -> a message for --verbose, or an exception (exit 1)."""
    try:
        message = job()
    except Exception as e:  # noqa: BLE001 - cron wants a status and a line
        LOG.exception("%s failed", prog)
        print("%s: %s" % (prog, e), file=sys.stderr)
        return 1
    LOG.info("%s: %s", prog, message)
    if CONF.verbose:
        print(message)
    return 0
