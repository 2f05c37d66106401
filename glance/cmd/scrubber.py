"""glance-scrubber: delete the data of images deleted with delayed_delete.

As Glance's: run once (from cron) it scrubs every image
``pending_delete`` for at least ``scrub_time`` seconds and exits;
``--daemon`` does so every ``wakeup_time`` seconds until SIGTERM or
SIGINT; ``--restore IMAGE_ID`` brings one ``pending_delete`` image back
to ``active`` instead. It reads ``glance-scrubber.conf`` (found the
oslo.config way, or ``--config-file``), which needs glance-api's
``[database]`` and store sections. Exit status 0, 1 when a location
could not be scrubbed (it is retried on the next run) or a restore was
refused, 2 on a configuration error.
"""
import signal
import sys
import threading
import warnings

from oslo_config import cfg
from oslo_log import log as logging

from glance.common import bootstrap

# futurist and oslo.messaging import eventlet (unused here)
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

PROG = "glance-scrubber"
LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def _setup(argv):
    from glance.services import scrubber
    CONF.clear()
    CONF.register_cli_opts(scrubber.scrubber_cli_opts)
    CONF.register_opts(scrubber.scrubber_cmd_opts)
    bootstrap.bootstrap(argv, prog=PROG, thread_model="native",
                        default_config_files=cfg.find_config_files(
                            project="glance", prog=PROG))


def main(argv=None):
    try:
        _setup(argv)
    except cfg.Error as e:
        print("%s: configuration error: %s" % (PROG, e), file=sys.stderr)
        return 2
    if CONF.restore and CONF.daemon:
        print("%s: ERROR: The restore and daemon options should not be set "
              "together. Please use either of them in one request."
              % PROG, file=sys.stderr)
        return 1
    bootstrap.setup_stores()
    if CONF.restore:
        return restore(CONF.restore)
    if CONF.daemon:
        return daemon()
    return run_once()


def restore(image_id):
    from glance.common import exception
    from glance.services import scrubber
    try:
        scrubber.restore(image_id)
    except (exception.NotFound, exception.Conflict) as e:
        print("%s: ERROR: %s" % (PROG, e), file=sys.stderr)
        return 1
    return 0


def run_once():
    from glance.services import scrubber
    try:
        _scrubbed, failed = scrubber.Scrubber().run()
    except Exception as e:  # noqa: BLE001 - cron wants a status and a line
        LOG.exception("%s failed", PROG)
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return 1
    if failed:
        print("%s: %d location(s) could not be scrubbed and wait for the "
              "next run; see the log" % (PROG, failed), file=sys.stderr)
        return 1
    return 0


def daemon():
    from glance.services import scrubber
    stop = threading.Event()

    def on_signal(signum, _frame):
        LOG.info("%s: signal %d, stopping", PROG, signum)
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    LOG.info("%s: scrubbing every %ss", PROG, CONF.wakeup_time)
    scrubber.Scrubber().run_forever(CONF.wakeup_time, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
