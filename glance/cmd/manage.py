"""glance-manage: administer the metadata database.

    glance-manage [--config-file F] db sync [VERSION]
    glance-manage [--config-file F] db upgrade [VERSION]   (same as sync)
    glance-manage [--config-file F] db version
"""
import sys

from alembic import util as alembic_util
from oslo_config import cfg
from sqlalchemy import engine as sa_engine
from sqlalchemy import exc as sa_exc

from glance.common import bootstrap
from glance.db import migration
from glance.db import session as db_session
from glance.i18n import _

CONF = cfg.CONF


def do_db_sync():
    """Upgrade the schema to VERSION (default: the newest)."""
    migration.db_sync(CONF.command.version)
    print(_("Database is at revision %s") % migration.db_version())


def do_db_version():
    """Print the schema's current revision."""
    print(migration.db_version() or _("None (not migrated)"))


def _add_db_actions(parser):
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    for name in ("sync", "upgrade"):
        action = actions.add_parser(
            name, help=_("Upgrade the database schema."))
        action.add_argument("version", nargs="?",
                            help=_("Target revision (default: newest)."))
        action.set_defaults(action_fn=do_db_sync)
    action = actions.add_parser(
        "version", help=_("Print the database schema revision."))
    action.set_defaults(action_fn=do_db_version, version=None)


def add_command_parsers(subparsers):
    db = subparsers.add_parser("db", help=_("Database commands."))
    _add_db_actions(db)


command_opt = cfg.SubCommandOpt("command", title=_("Commands"),
                                help=_("Available commands"),
                                handler=add_command_parsers)


def main(argv=None):
    """Entry point of ``glance-manage``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    CONF.clear()
    CONF.register_cli_opt(command_opt)
    try:
        bootstrap.bootstrap(argv, prog="glance-manage",
                            thread_model="native")
        db_session.configure()
        return _run(CONF.command.action_fn)
    finally:
        CONF.clear()
        CONF.unregister_opt(command_opt)


def _run(action_fn):
    try:
        action_fn()
    except sa_exc.SQLAlchemyError as e:
        detail = str(getattr(e, "orig", None) or e).strip().splitlines()
        print(_("ERROR: database %(url)s: %(err)s")
              % {"url": _safe_url(), "err": detail[0] if detail else e},
              file=sys.stderr)
        return 1
    except alembic_util.CommandError as e:
        print(_("ERROR: %s") % e, file=sys.stderr)
        return 1
    return 0


def _safe_url():
    try:
        url = sa_engine.make_url(db_session.connection_url())
        return url.render_as_string(hide_password=True)
    except Exception:  # a malformed URL: say nothing more about it
        return "(unparsable URL)"


if __name__ == "__main__":
    sys.exit(main())
