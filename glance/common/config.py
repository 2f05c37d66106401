"""Options shared across the service, the state directory and paste loading.

Option names, groups and defaults follow Glance's ``glance-api.conf`` so an
existing deployment's configuration works unchanged. Options used by a single
module are registered in that module; this one holds what several use.
"""
import os

from oslo_config import cfg
from oslo_log import log as logging
from paste import deploy

from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def _default_state_path():
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "glance")


class OptionalBracketsList(cfg.types.List):
    """A list written 'a,b' or, as Glance's samples write it, '[a,b]'."""

    def __init__(self):
        super().__init__(item_type=cfg.types.String(quotes=True))

    def __call__(self, value):
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("[") and value.endswith("]"):
                value = value[1:-1]
        return super().__call__(value)


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
                help=_("Show all image locations in 'locations'.")),
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
    cfg.Opt("enabled_import_methods", type=OptionalBracketsList(),
            default=["glance-direct", "web-download", "copy-image"],
                help=_("Image import methods offered to users.")),
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
                help=_("Enforce and report quotas from keystone's unified "
                       "limits; without them /v2/info/usage is empty, as "
                       "in Glance.")),
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
    """Locate the paste file: configured, beside a config file, packaged."""
    configured = CONF.paste_deploy.config_file
    if configured:
        path = configured
        if not os.path.isabs(path) and CONF.config_file:
            path = CONF.find_file(configured) or path
        return os.path.abspath(path)
    candidates = [os.path.join(os.path.dirname(f), name)
                  for f in CONF.config_file or []]
    candidates.append(os.path.join(_repo_etc_dir(), name))
    for path in candidates:
        if os.path.exists(path):
            return os.path.abspath(path)
    return None


def load_paste_app(app_name, flavor=None, conf_file=None):
    """Build the WSGI app named ``app_name[-flavor]`` from the paste file."""
    flavor = flavor if flavor is not None else _paste_flavor()
    if flavor:
        app_name = "%s-%s" % (app_name, flavor)
    conf_file = conf_file or find_paste_config()
    if not conf_file or not os.path.exists(conf_file):
        raise RuntimeError(_("Unable to locate paste config file %s")
                           % (conf_file or "glance-api-paste.ini"))
    try:
        LOG.debug("Loading %s from %s", app_name, conf_file)
        return deploy.loadapp("config:%s" % conf_file, name=app_name)
    except (LookupError, ImportError) as e:
        raise RuntimeError(
            _("Unable to load %(app)s from %(file)s: %(err)s")
            % {"app": app_name, "file": conf_file, "err": e}) from e
