"""glance-api: the Images API daemon.

Eventlet monkey-patches the process here, before anything else is imported
(:mod:`glance.common.eventlet_setup` imports nothing at module level); the
rest of the process set-up is :func:`glance.common.bootstrap.bootstrap`.
The process model is described in :mod:`glance.common.server`.
"""
from glance.common import eventlet_setup

eventlet_setup.monkey_patch()

import contextlib  # noqa: E402
import sys  # noqa: E402

from oslo_config import cfg  # noqa: E402
from oslo_log import log as logging  # noqa: E402

from glance.common import arbiter  # noqa: E402
from glance.common import bootstrap  # noqa: E402
from glance.common import claims  # noqa: E402
from glance.common import config  # noqa: E402
from glance.common import server  # noqa: E402
from glance.common import worker  # noqa: E402

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
DEFAULT_PORT = 9292
PROG = "glance-api"


def main(argv=None):
    """Run the daemon until it is stopped; its exit status."""
    try:
        bootstrap.bootstrap(argv, prog=PROG, thread_model="eventlet")
    except cfg.Error as e:
        return _fail("configuration error: %s" % e, 2)
    srv = arbiter.PosixServer(initialize_glance_store=bootstrap.setup_stores,
                              initialize_prefetcher=start_prefetcher
                              if prefetcher_wanted() else False,
                              claims=claim_registry(),
                              release_claims=release_claims)
    status, reason = _serve(srv)
    if reason is not None:
        # logged here, out of the except block, where oslo.log would
        # append the exception to the line
        LOG.error("%(prog)s could not start: %(reason)s",
                  {"prog": PROG, "reason": reason})
        return _fail(reason, status)
    if status == server.WORKER_BOOT_ERROR:
        return _fail("a worker failed to boot: %s"
                     % (srv.boot_error or "its error is in the log"),
                     status)
    return status


def _serve(srv):
    """Start ``srv`` and serve until it stops: (exit status, None), or
    (1, why it could not start) with the traceback at debug level."""
    try:
        prepare_data()
        srv.start(worker.AppLoader(PROG, checks=[check_database,
                                                 clean_staging]),
                  default_port=DEFAULT_PORT)
        return srv.wait(), None
    except Exception as e:  # noqa: BLE001 - say why, then exit non-zero
        LOG.debug("The start-up error", exc_info=True)
        return 1, worker.describe_error(e)


def prepare_data():
    """State directory and embedded database, before any worker forks."""
    state = config.state_path()
    ensure_schema = _migration_function("ensure_schema")
    if ensure_schema is not None:
        with _naming_the_database():
            ensure_schema()
    LOG.info("Data: state_path %s, database %s", state, _database_label())


def check_database():
    """Worker boot check: the database answers (if the layer exists).

    RuntimeError naming the database (without its password) if not.
    """
    session = _db_session()
    if session is None:
        return
    with _naming_the_database():
        with session.connection(write=False) as conn:
            conn.exec_driver_sql("SELECT 1")
        if not session.is_sqlite():   # SQLite was migrated at start
            _migration_function("warn_if_behind")()


def clean_staging():
    """Worker boot: remove the staged files of images deleted while this
    node was away (``glance.services.forwarding``)."""
    from glance.services import forwarding
    forwarding.clean_staging()


@contextlib.contextmanager
def _naming_the_database():
    """A failure inside becomes one RuntimeError line that names the
    database (without its password)."""
    try:
        yield
    except Exception as e:
        raise RuntimeError("cannot use the database %s: %s"
                           % (_database_label(), worker.describe_error(e))
                           ) from e


def claim_registry():
    """Where the workers record what they hold (uploads, imports), so
    that the supervisor can release what a dead worker held."""
    return claims.ClaimRegistry(config.state_path("claims"))


def release_claims(registry, pid):
    """In a process of the supervisor: release dead worker ``pid``'s
    claims (the services are imported there, not in the supervisor)."""
    from glance.services import recovery
    recovery.release_claims(registry, pid)


def prefetcher_wanted():
    """Whether the paste flavor has the image cache."""
    return "cach" in (CONF.paste_deploy.flavor or "")


def start_prefetcher():
    """Worker boot: the periodic image prefetcher (the services are
    imported in the worker, not in the supervisor)."""
    from glance.services import cache
    cache.start_periodic_prefetcher()


def _fail(message, status):
    print("%s: %s" % (PROG, message), file=sys.stderr)
    return status


def _migration_function(name):
    try:
        from glance.db import migration
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("glance.db"):
            raise
        return None
    return getattr(migration, name, None)


def _db_session():
    try:
        from glance.db import session
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("glance.db"):
            raise
        return None
    return session


def _database_label():
    session = _db_session()
    if session is None:
        return "(no database layer)"
    try:
        import sqlalchemy
        url = sqlalchemy.engine.make_url(session.connection_url())
        return url.render_as_string(hide_password=True)
    except Exception as e:  # noqa: BLE001 - only a log line
        return "(unknown: %s)" % e


if __name__ == "__main__":
    sys.exit(main())
