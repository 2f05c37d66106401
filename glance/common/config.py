"""Options shared across the service, the state directory and paste loading.

Option names, groups and defaults follow Glance's ``glance-api.conf`` so an
existing deployment's configuration works unchanged. Options used by a single
module are registered in that module; this one holds what several use, the
list type that reads Glance's bracketed lists (:class:`BracketListOpt`),
the start-up checks (:func:`check_values`, :func:`check_unsupported`) and
osprofiler's set-up for Glance's paste ``osprofiler`` filter.
"""
import os
import re
import socket

from oslo_config import cfg
from oslo_log import log as logging
from osprofiler import opts as profiler_opts
from paste import deploy

from glance.common import filter_adoption
from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def _default_state_path():
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "glance")


class BracketList(cfg.types.List):
    """A list written as Glance requires, '[a, 'b', c]'; 'a,b' works too.

    Glance declares these options with ``bounds=True``: the brackets are
    syntax, and items may be quoted. Each item is checked by
    ``item_type``, so a value the service cannot interpret is an error,
    not a literal string that silently matches nothing.
    """

    def __init__(self, item_type=None):
        super().__init__(item_type=item_type or cfg.types.String(
            quotes=True), bounds=True)

    def __call__(self, value):
        if isinstance(value, str):
            value = value.strip()
            if not value.startswith("["):
                value = "[%s]" % value
        return super().__call__(value)


# the name this type had before items were typed
OptionalBracketsList = BracketList


class BracketListOpt(cfg.Opt):
    """A list option parsed as Glance parses its bracketed lists."""

    def __init__(self, name, item_type=None, **kwargs):
        super().__init__(name, type=BracketList(item_type), **kwargs)


class InvalidOptionValue(cfg.Error):
    """A configured value the service cannot interpret (stops start-up)."""


# Import methods this service implements; the default offers the first
# three, as Glance's does
IMPORT_METHODS = ("glance-direct", "web-download", "copy-image",
                  "glance-download")


paste_deploy_opts = [
    cfg.StrOpt("flavor",
               help=_("Partial name of a pipeline in the paste file: "
                      "'keystone' selects 'glance-api-keystone'.")),
    cfg.StrOpt("config_file",
               help=_("Name of the paste configuration file.")),
]

common_opts = [
    cfg.StrOpt("state_path", default=_default_state_path(),
               sample_default="~/.local/share/glance",
               help=_("Directory holding the embedded defaults' data: the "
                      "SQLite database, the file store, the staging area "
                      "and the image cache, unless configured elsewhere.")),
    cfg.BoolOpt("allow_anonymous_access", default=False,
                help=_("Let unauthenticated requests through as an "
                       "anonymous, read-only context.")),
    cfg.IntOpt("limit_param_default", default=25, min=1,
               help=_("Default number of items a list request returns.")),
    cfg.IntOpt("api_limit_max", default=1000, min=1,
               help=_("Maximum number of items a list request returns.")),
    cfg.BoolOpt("show_image_direct_url", default=False,
                help=_("Show the store location in 'direct_url'.")),
    cfg.BoolOpt("show_multiple_locations", default=False,
                deprecated_for_removal=True,
                help=_("Show all image locations in 'locations', and let "
                       "them be changed by JSON-patch on /locations (add, "
                       "replace, remove), as Glance does.")),
    cfg.IntOpt("image_size_cap", default=1099511627776, min=1,
               max=9223372036854775808,
               help=_("Maximum size of image data a user may upload, in "
                      "bytes.")),
    cfg.StrOpt("user_storage_quota", default="0",
               help=_("Total storage a project may use across its images "
                      "(e.g. 10GB, 500MB); 0 means unlimited.")),
    cfg.IntOpt("image_member_quota", default=128,
               help=_("Maximum members per image; negative: unlimited.")),
    cfg.IntOpt("image_property_quota", default=128,
               help=_("Maximum properties per image; negative: "
                      "unlimited.")),
    cfg.IntOpt("image_tag_quota", default=128,
               help=_("Maximum tags per image; negative: unlimited.")),
    cfg.IntOpt("image_location_quota", default=10,
               help=_("Maximum locations per image; negative: "
                      "unlimited.")),
    cfg.StrOpt("hashing_algorithm", default="sha512",
               help=_("hashlib algorithm for the image multihash.")),
    BracketListOpt("enabled_import_methods",
                   item_type=cfg.types.String(choices=IMPORT_METHODS,
                                              quotes=True),
                   default=list(IMPORT_METHODS[:3]),
                   help=_("Image import methods offered to users, e.g. "
                          "[glance-direct, web-download]; glance-download "
                          "(from another region's Glance) is offered "
                          "only when listed.")),
    cfg.StrOpt("node_staging_uri",
               help=_("file:// URI of the staging area for imports; "
                      "defaults to <state_path>/staging.")),
    cfg.DictOpt("enabled_backends",
                help=_("Store identifiers and their types, e.g. "
                       "'fast:file, slow:file'; turns on multi-store.")),
    cfg.StrOpt("worker_self_reference_url",
               help=_("URL this worker is reachable at by its peers.")),
    cfg.StrOpt("public_endpoint",
               help=_("Public URL to use in version documents instead of "
                      "the request's host URL.")),
    cfg.StrOpt("property_protection_file",
               help=_("File of property protection rules.")),
    cfg.StrOpt("property_protection_rule_format", default="roles",
               choices=("roles", "policies"),
               help=_("Whether property protection rules name roles or "
                      "policy rules.")),
    cfg.BoolOpt("use_keystone_limits", default=False,
                help=_("Enforce per-project quotas from Keystone's "
                       "unified limits for the image service "
                       "(image_size_total, image_stage_total, "
                       "image_count_total, image_count_uploading), read "
                       "through the [oslo_limit] options, and report them "
                       "in /v2/info/usage (empty when off).")),
    cfg.BoolOpt("delayed_delete", default=False,
                help=_("Mark deleted image data pending_delete instead of "
                       "deleting it at once.")),
    cfg.StrOpt("digest_algorithm", default="sha256",
               help=_("Digest algorithm for signatures.")),
]

image_format_opts = [
    cfg.ListOpt("container_formats",
                default=["ami", "ari", "aki", "bare", "ovf", "ova",
                         "docker", "compressed"],
                help=_("Supported values for 'container_format'.")),
    cfg.ListOpt("disk_formats",
                default=["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw",
                         "qcow2", "vdi", "iso", "ploop"],
                help=_("Supported values for 'disk_format'.")),
    cfg.ListOpt("vmdk_allowed_types",
                default=["streamOptimized", "monolithicSparse"],
                help=_("VMDK create-types allowed in uploads.")),
    cfg.BoolOpt("require_image_format_match", default=True,
                help=_("Refuse data whose detected format differs from "
                       "'disk_format'.")),
]

CONF.register_opts(paste_deploy_opts, group="paste_deploy")
CONF.register_opts(common_opts)
CONF.register_opts(image_format_opts, group="image_format")
# [profiler]: osprofiler registers its own options (off by default)
profiler_opts.set_defaults(CONF)


def list_profiler_opts():
    """The [profiler] options glance-api honours (Glance lists them all;
    trace_sqlalchemy is in UNSUPPORTED_GLANCE_OPTS)."""
    group, opts = profiler_opts.list_opts()[0]
    return [(group, [o for o in opts if o.dest != "trace_sqlalchemy"])]


# Options of Glance's glance-api that this service does not honour:
# (group, option, stops start-up, why). doc/config-differences.rst has
# the same table. They are registered as plain strings, only so that a
# configuration setting one is noticed (see check_unsupported).
UNSUPPORTED_GLANCE_OPTS = [
    ("DEFAULT", "metadata_encryption_key", True,
     "location metadata is never encrypted here, so locations Glance "
     "encrypted with the key could not be read"),
    ("taskflow_executor", "engine_mode", False,
     "imports run on the thread-pool model, not a taskflow engine"),
    ("taskflow_executor", "max_workers", False,
     "imports run on the thread-pool model; size it with [wsgi] "
     "task_pool_threads"),
    ("taskflow_executor", "conversion_format", False,
     "the legacy conversion task is not implemented; use the "
     "image_conversion import plugin's [image_conversion] output_format"),
    ("image_import_opts", "max_parallel_stores", False,
     "an import to several stores writes them one after the other"),
    ("profiler", "trace_sqlalchemy", False,
     "database calls are not traced; requests are"),
]

for _group, _name, _fatal, _why in UNSUPPORTED_GLANCE_OPTS:
    if _group != "profiler":  # osprofiler registers its own
        CONF.register_opt(cfg.StrOpt(_name), group=None
                          if _group == "DEFAULT" else _group)


def check_unsupported():
    """Warn about each unsupported Glance option that is set; raise
    InvalidOptionValue for one whose absence would change data."""
    for group, name, fatal, why in UNSUPPORTED_GLANCE_OPTS:
        where = CONF.get_location(name, None if group == "DEFAULT"
                                  else group)
        if where is None or where.location in (
                cfg.Locations.opt_default, cfg.Locations.set_default):
            continue
        source = " (%s)" % where.detail if where.detail else ""
        message = ("[%s] %s is set%s but not supported: %s"
                   % (group, name, source, why))
        if fatal:
            raise InvalidOptionValue(message)
        LOG.warning("%s; ignored (see doc/config-differences.rst)",
                    message)


def setup_profiler(service="api"):
    """Start osprofiler in this process if ``[profiler] enabled``.

    Returns whether it is on. Off (the default), nothing is loaded and
    the paste pipeline leaves its ``osprofiler`` filter out.
    """
    if not CONF.profiler.enabled:
        return False
    from osprofiler import initializer
    try:
        initializer.init_from_conf(conf=CONF, context={}, project="glance",
                                   service=service,
                                   host=socket.gethostname())
    except Exception as e:  # noqa: BLE001 - any driver error, one line
        raise RuntimeError(
            _("[profiler] enabled, but osprofiler cannot report to "
              "%(conn)s: %(err)s")
            % {"conn": CONF.profiler.connection_string, "err": e}) from e
    return True


def check_values(groups):
    """Read every option of ``groups`` (``[(group, [opt, ...])]``).

    A value that does not parse raises :class:`InvalidOptionValue` naming
    the option, so start-up stops instead of the value failing (or being
    ignored) at first use.
    """
    for group, opts in groups:
        name = getattr(group, "name", group) or "DEFAULT"
        node = CONF if name == "DEFAULT" else getattr(CONF, name)
        for opt in opts:
            try:
                getattr(node, opt.dest)
            except cfg.NoSuchOptError:
                continue
            except (cfg.ConfigFileValueError, ValueError) as e:
                raise InvalidOptionValue(_value_error(name, opt, e)) from e


def _value_error(group, opt, error):
    # oslo.config says "Value for option X from LocationInfo(...,
    # detail='<file>') is not valid: <reason>"; keep the file and reason
    text = str(error)
    where = re.search(r"detail='([^']*)'", text)
    source = " (%s)" % where.group(1) if where else ""
    reason = text.split(" is not valid: ", 1)[-1]
    return "[%s] %s%s: %s" % (group, opt.dest, source, reason)


def state_path(*parts):
    """A path under the state directory, which is created if absent."""
    root = os.path.abspath(os.path.expanduser(CONF.state_path))
    os.makedirs(root, mode=0o750, exist_ok=True)
    return os.path.join(root, *parts)


def staging_dir():
    """The local directory behind ``node_staging_uri``."""
    uri = CONF.node_staging_uri
    if uri:
        return uri[len("file://"):] if uri.startswith("file://") else uri
    return state_path("staging")


def find_config_files(progs, project="glance"):
    """The config files of each of ``progs`` (in that order, so the last
    one's values win), found the oslo.config way (``~/.glance``, ``~``,
    ``/etc/glance``, ``/etc``): what Glance's tools read without
    ``--config-file``."""
    files = []
    for prog in progs:
        files.extend(f for f in cfg.find_config_files(project=project,
                                                      prog=prog)
                     if f not in files)
    return files


def parse_args(args=None, usage=None, default_config_files=None,
               project="glance", prog=None):
    """Parse the command line and config files into ``CONF``."""
    CONF(args=args, project=project, prog=prog,
         version=_version(), usage=usage,
         default_config_files=default_config_files)


def _version():
    from glance import version
    return version.version_string


def _paste_flavor():
    return CONF.paste_deploy.flavor or None


def _repo_etc_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, os.pardir, "etc")


def find_paste_config(name="glance-api-paste.ini"):
    """Locate the paste file as Glance does, else the packaged one.

    A configured ``[paste_deploy] config_file`` that is relative, and
    otherwise the paste file named after the last config file
    (``glance-api.conf`` -> ``glance-api-paste.ini``), are looked up with
    oslo.config's ``find_file``: ``--config-dir``, the config files'
    directories, then ``~/.glance``, ``~``, ``/etc/glance``, ``/etc``.
    """
    configured = CONF.paste_deploy.config_file
    if configured:
        path = configured
        if not os.path.isabs(path):
            path = CONF.find_file(configured) or path
        return os.path.abspath(path)
    names = [name]
    last = os.path.basename((CONF.config_file or [""])[-1])
    if last.endswith(".conf"):
        names.insert(0, last[:-len(".conf")] + "-paste.ini")
    for candidate in names:
        found = CONF.find_file(candidate)
        if found:
            return os.path.abspath(found)
    packaged = os.path.join(_repo_etc_dir(), name)
    return packaged if os.path.exists(packaged) else None


def load_paste_app(app_name, flavor=None, conf_file=None):
    """Build the WSGI app named ``app_name[-flavor]`` from the paste file."""
    flavor = flavor if flavor is not None else _paste_flavor()
    if flavor:
        app_name = "%s-%s" % (app_name, flavor)
    conf_file = conf_file or find_paste_config()
    if not conf_file or not os.path.exists(conf_file):
        raise RuntimeError(_("Unable to locate paste config file %s")
                           % (conf_file or "glance-api-paste.ini"))
    setup_profiler()
    try:
        LOG.debug("Loading %s from %s", app_name, conf_file)
        app = deploy.loadapp("config:%s" % conf_file, name=app_name)
    except (LookupError, ImportError) as e:
        raise RuntimeError(
            _("Unable to load %(app)s from %(file)s: %(err)s")
            % {"app": app_name, "file": conf_file, "err": e}) from e
    filter_adoption.adopt_filters(app)
    return app
