"""glance-manage: administer the metadata database, with Glance's commands.

    glance-manage [--config-file F] db sync [VERSION | --version VERSION]
    glance-manage [--config-file F] db upgrade [VERSION]   (same as sync)
    glance-manage [--config-file F] db version
    glance-manage [--config-file F] db expand | migrate | contract
    glance-manage [--config-file F] db check
    glance-manage [--config-file F] db purge [--age_in_days D] [--max_rows N]

and Glance's older spellings ``db_sync``, ``db_upgrade``, ``db_version``,
``db_expand``, ``db_migrate``, ``db_contract``, ``db_check``.

A database still at one of OpenStack Glance's revisions is adopted by
``sync`` (or ``expand``): see ``glance.db.migrations.from_glance``. Our
migrations have no separate data-migration or contract phase: ``expand``
does the whole upgrade, after which ``migrate`` and ``contract`` have
nothing left to do. ``check`` exits as Glance's does: 0 up to date, 3 when
``db expand`` is needed (4 and 5, for migrate and contract, never arise).
Errors exit 1 with one line on stderr.

Without ``--config-file`` it reads ``glance-api.conf`` and then
``glance-manage.conf`` from oslo.config's search path, as Glance's does.
"""
import argparse
import os
import sys
import time

from alembic import util as alembic_util
from oslo_config import cfg
from sqlalchemy import engine as sa_engine
from sqlalchemy import exc as sa_exc

from glance.common import bootstrap
from glance.common import config
from glance.common import exception
from glance.db import metadef_files
from glance.db import migration
from glance.db import purge
from glance.db import session as db_session
from glance.i18n import _

CONF = cfg.CONF
manage_opts = [
    cfg.StrOpt("metadata_source_path", default=metadef_files.DEFAULT_PATH,
               help=_("Directory of the metadata definition files "
                      "glance-manage db load_metadefs reads by default.")),
]
CONF.register_opts(manage_opts)
CHECK_EXPAND_NEEDED = 3
UP_TO_DATE = _("Database is up to date. No migrations needed.")
EXPAND_FIRST = _("Run database expansion first using "
                 "\"glance-manage db expand\".")
MAX_ROWS_LIMIT = 2 ** 31 - 1


def list_opts():
    return [(None, manage_opts)]


class CommandFailed(Exception):
    """A command's own refusal: its message goes to stderr, exit 1."""


def do_db_sync():
    """Upgrade the schema to VERSION (default: the newest)."""
    version = CONF.command.version or CONF.command.version_opt
    if version is None and not migration.needs_upgrade():
        print(UP_TO_DATE)
        return
    was = migration.db_version()
    if migration.db_sync(version):
        print(_("Adopted the OpenStack Glance database (revision %s).")
              % was)
    print(_("Database is synced successfully: revision %s.")
          % migration.db_version())


def do_db_version():
    """Print the schema's revision(s), one a line, as Glance does."""
    heads = migration.db_heads()
    if not heads:
        print(_("None: the database is not under migration control; run "
                "\"glance-manage db sync\"."))
        return
    print("\n".join(heads))
    if migration.is_glance_database():
        print(_("(an OpenStack Glance revision: \"glance-manage db sync\" "
                "adopts the database)"), file=sys.stderr)


def do_db_expand():
    """The whole schema upgrade (Glance's first step)."""
    if not migration.needs_upgrade():
        print(UP_TO_DATE)
        return
    migration.db_sync()
    print(_("Upgraded database to: %s.") % migration.db_version())


def do_db_migrate():
    """Data migrations: none of ours is pending once expanded."""
    _require_expanded(_("Data migration did not run. Data migration "
                        "cannot be run before database expansion."))
    print(UP_TO_DATE)


def do_db_contract():
    """Contraction: nothing of ours is left once expanded."""
    _require_expanded(_("Database contraction did not run. Database "
                        "contraction cannot be run before database "
                        "expansion."))
    print(UP_TO_DATE)


def _require_expanded(message):
    if migration.needs_upgrade():
        raise CommandFailed("%s %s" % (message, EXPAND_FIRST))


def do_db_check():
    """Exit 0 if the schema is up to date, 3 if ``db expand`` is due."""
    if not migration.needs_upgrade():
        print(_("Database is up to date. No upgrades needed."))
        return 0
    print(_("Your database is not up to date. Your first step is to run "
            "`glance-manage db expand`."))
    return CHECK_EXPAND_NEEDED


def do_db_purge():
    """Purge soft-deleted rows older than --age_in_days (not images)."""
    age, max_rows = CONF.command.age_in_days, CONF.command.max_rows
    if age < 0:
        raise CommandFailed(_("Must supply a non-negative value for age."))
    if age >= int(time.time()) // 86400:
        raise CommandFailed(_("Maximal age is count of days since epoch."))
    if max_rows < -1:
        raise CommandFailed(_("Minimal rows limit is -1."))
    if max_rows > MAX_ROWS_LIMIT:
        raise CommandFailed(_("'max_rows' value out of range, must not "
                              "exceed %d.") % MAX_ROWS_LIMIT)
    for table, rows in purge.purge_deleted_rows(age, max_rows).items():
        print(_("Purged %(rows)d row(s) from %(table)s")
              % {"rows": rows, "table": table})


def do_load_metadefs():
    """Load the namespace files of --path into the metadefs catalog."""
    args = CONF.command
    path = metadefs_path(args.path or _positional(0))
    try:
        report = metadef_files.load(
            path, merge=args.merge or _flag(1), prefer_new=args.prefer_new
            or _flag(2), overwrite=args.overwrite or _flag(3))
    except exception.Invalid as e:
        raise CommandFailed(str(e)) from None
    except OSError as e:
        raise CommandFailed(_("cannot read %(path)s: %(err)s")
                            % {"path": path, "err": e}) from None
    for name in report["loaded"]:
        print(_("Loaded namespace %s") % name)
    for name in report["skipped"]:
        print(_("Skipped namespace %s: it already exists") % name)
    for filename, why in report["errors"]:
        print(_("ERROR: %(file)s: %(why)s") % {"file": filename, "why": why},
              file=sys.stderr)
    return 1 if report["errors"] else 0


def do_unload_metadefs():
    """Empty the metadefs catalog."""
    metadef_files.unload()
    print(_("Unloaded the metadata definitions catalog."))


def do_export_metadefs():
    """Write one file per namespace into --path."""
    path = metadefs_path(CONF.command.path or _positional(0))
    try:
        os.makedirs(path, exist_ok=True)
        written = metadef_files.export(path)
    except OSError as e:
        raise CommandFailed(_("cannot write %(path)s: %(err)s")
                            % {"path": path, "err": e}) from None
    for filename in written:
        print(_("Exported %s") % filename)


def metadefs_path(given=None):
    """``given``, else ``metadata_source_path`` when it exists, else the
    catalog installed with the package (Glance reads /etc/glance/metadefs).
    """
    if given:
        return given
    configured = CONF.metadata_source_path
    if os.path.isdir(configured):
        return configured
    for candidate in (os.path.join(sys.prefix, "etc", "glance", "metadefs"),
                      os.path.join(os.path.dirname(os.path.dirname(
                          os.path.dirname(os.path.abspath(__file__)))),
                          "etc", "metadefs")):
        if os.path.isdir(candidate):
            return candidate
    return configured


def _positional(index):
    # Glance's legacy form: db_load_metadefs PATH MERGE PREFER_NEW OVERWRITE
    values = CONF.command.positional or []
    return values[index] if len(values) > index else None


def _flag(index):
    return str(_positional(index) or "").lower() in ("1", "true", "yes")


# (action, function, help, arguments); arguments: "version", "purge", "any"
DB_ACTIONS = (
    ("sync", do_db_sync, _("Upgrade (or adopt) the database schema."),
     "version"),
    ("upgrade", do_db_sync, _("Same as sync."), "version"),
    ("version", do_db_version, _("Print the schema revision."), None),
    ("expand", do_db_expand, _("Run the schema upgrade (all of it)."),
     None),
    ("migrate", do_db_migrate, _("Run data migrations (none pending)."),
     None),
    ("contract", do_db_contract, _("Finish the upgrade (nothing left)."),
     None),
    ("check", do_db_check, _("Exit 3 if db expand is needed, else 0."),
     None),
    ("purge", do_db_purge, _("Purge old soft-deleted rows."), "purge"),
    ("load_metadefs", do_load_metadefs,
     _("Load metadata definitions from JSON files."), "metadefs"),
    ("unload_metadefs", do_unload_metadefs,
     _("Delete every metadata definition."), "metadefs"),
    ("export_metadefs", do_export_metadefs,
     _("Export metadata definitions as JSON files."), "metadefs"),
)
LEGACY = ("sync", "upgrade", "version", "expand", "migrate", "contract",
          "check", "load_metadefs", "unload_metadefs", "export_metadefs")


def _add_action(subparsers, name, label, function, help_text, arguments):
    parser = subparsers.add_parser(name, help=help_text)
    parser.set_defaults(action_fn=function, label=label, version=None,
                        version_opt=None, age_in_days=30, max_rows=100)
    if arguments == "version":
        parser.add_argument("version", nargs="?",
                            help=_("Target revision (default: newest)."))
        parser.add_argument("--version", dest="version_opt",
                            metavar="VERSION",
                            help=_("Target revision (Glance's spelling)."))
    elif arguments == "purge":
        parser.add_argument("--age_in_days", type=int, default=30,
                            help=_("Purge rows deleted more than this many "
                                   "days ago (default 30)."))
        parser.add_argument("--max_rows", type=int, default=100,
                            help=_("At most this many rows per table "
                                   "(default 100; -1: all)."))
    elif arguments == "metadefs":
        parser.add_argument("positional", nargs="*", help=argparse.SUPPRESS)
        parser.add_argument("--path", help=_(
            "Directory of namespace files (default: metadata_source_path, "
            "else the catalog installed with the package)."))
        for flag, text in (("--merge", _("Merge into existing namespaces.")),
                           ("--prefer_new", _("With --merge: the files' "
                                              "definitions win.")),
                           ("--overwrite", _("With --merge: replace "
                                             "existing namespaces."))):
            parser.add_argument(flag, action="store_true", help=text)


def add_command_parsers(subparsers):
    """``db ACTION`` and the legacy ``db_ACTION`` commands."""
    db = subparsers.add_parser("db", help=_("Database commands."))
    actions = db.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    for name, function, help_text, arguments in DB_ACTIONS:
        _add_action(actions, name, "db " + name, function, help_text,
                    arguments)
        if name in LEGACY:
            _add_action(subparsers, "db_" + name, "db_" + name, function,
                        help_text, arguments)


command_opt = cfg.SubCommandOpt("command", title=_("Commands"),
                                help=_("Available commands"),
                                handler=add_command_parsers)


def default_config_files():
    """The files read without ``--config-file``: as Glance's glance-manage,
    ``glance-api.conf`` (where a node keeps ``[database] connection``)
    then ``glance-manage.conf``, each found the oslo.config way
    (``~/.glance``, ``~``, ``/etc/glance``, ``/etc``)."""
    return config.find_config_files(("glance-api", "glance-manage"))


def main(argv=None):
    """Entry point of ``glance-manage``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    CONF.clear()
    CONF.register_cli_opt(command_opt)
    try:
        bootstrap.bootstrap(argv, prog="glance-manage",
                            thread_model="native",
                            default_config_files=default_config_files())
        db_session.configure()
        return _run(CONF.command.action_fn)
    finally:
        CONF.clear()
        CONF.unregister_opt(command_opt)


def _run(action_fn):
    try:
        return action_fn() or 0
    except sa_exc.SQLAlchemyError as e:
        detail = str(getattr(e, "orig", None) or e).strip().splitlines()
        _error(_("database %(url)s: %(err)s")
               % {"url": _safe_url(), "err": detail[0] if detail else e})
    except migration.AdoptionError as e:
        _error(_("cannot adopt the Glance database: %s") % e)
    except (alembic_util.CommandError, db_session.DriverMissing,
            CommandFailed) as e:
        _error(str(e))
    return 1


def _error(message):
    print(_("ERROR: %s") % message, file=sys.stderr)


def _safe_url():
    try:
        url = sa_engine.make_url(db_session.connection_url())
        return url.render_as_string(hide_password=True)
    except Exception:  # a malformed URL: say nothing more about it
        return "(unparsable URL)"


if __name__ == "__main__":
    sys.exit(main())
