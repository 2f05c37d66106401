"""What the cron tools glance-cache-pruner/-cleaner/-prefetcher share.

Each reads ``glance-api.conf`` then ``glance-cache.conf`` (found the
oslo.config way, as Glance's tools find them; ``--config-file`` names the
files instead), runs its app's ``run()`` once, says nothing on success
unless ``--verbose``, logs, and exits 0 on success, 1 when the job failed,
2 on a configuration error.

As Glance's, a tool without a usable cache directory exits 1 with one line
saying so, rather than working on an empty cache of its own: the
directory is ``image_cache_dir``, else ``<state_path>/image-cache`` when
``state_path`` is set in the configuration; it must be (or be creatable
as) a writable directory.
"""
import os
import sys
import warnings

from oslo_config import cfg
from oslo_log import log as logging

from glance.common import bootstrap
from glance.common import config

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
    problem = cache_dir_problem()
    if problem is not None:
        if CONF.log_file or CONF.log_dir:  # else the log is stderr too
            LOG.error("%s: %s", prog, problem)
        print("%s: %s" % (prog, problem), file=sys.stderr)
        return 1
    return None


def cache_dir_problem():
    """Why the tools cannot use the configured cache directory, or None."""
    from glance import image_cache
    if not CONF.image_cache_dir and not _configured("state_path"):
        read = ", ".join(CONF.config_file or []) or "no config file found"
        return ("image_cache_dir is not set (read: %s); set it to the "
                "glance-api node's image cache directory" % read)
    path = image_cache.cache_dir()
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        return "image_cache_dir %s is not usable: %s" % (path, e.strerror)
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        return "image_cache_dir %s is not writable by this user" % path
    return None


def _configured(name):
    where = CONF.get_location(name)
    return where is not None and where.location not in (
        cfg.Locations.opt_default, cfg.Locations.set_default)


def config_files():
    """As Glance's cron tools: ``glance-api.conf`` then
    ``glance-cache.conf`` (whose values win), each found the oslo.config
    way; ``--config-file`` replaces both."""
    return config.find_config_files(("glance-api", "glance-cache"))


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
