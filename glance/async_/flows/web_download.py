"""web-download: which URIs may be fetched, and fetching one safely.

``validate_import_uri(uri)`` applies ``[import_filtering_opts]`` as Glance
does: a scheme, host and port must be in the ``allowed_*`` list when that
list is set, else not in the ``disallowed_*`` list (when both are set only
the allowed list counts). On top of that, a host that is (or resolves
to) a loopback, link-local, private or otherwise non-public address is
refused unless it is named in ``allowed_hosts``: the service must not be
a way into its own network.

``open_uri(uri)`` follows redirects itself, checking every hop with the
same rules, and answers the final response (status 200) with its
announced length. The body is read by the caller through the usual
limits (``image_size_cap``, quota) of ``glance.store``.
"""
import ipaddress
import socket
import urllib.parse

import requests
from oslo_config import cfg
from oslo_log import log as logging

from glance.common import exception
from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 30
READ_TIMEOUT = 300

import_filtering_opts = [
    cfg.ListOpt("allowed_schemes", default=["http", "https"],
                help=_("URI schemes web-download may use; when set, "
                       "disallowed_schemes is ignored.")),
    cfg.ListOpt("disallowed_schemes", default=[],
                help=_("URI schemes web-download may not use.")),
    cfg.ListOpt("allowed_hosts", default=[],
                help=_("Hosts web-download may fetch from; when set, "
                       "disallowed_hosts is ignored. A host with a "
                       "loopback, link-local or private address must be "
                       "listed here to be reachable at all.")),
    cfg.ListOpt("disallowed_hosts", default=[],
                help=_("Hosts web-download may not fetch from.")),
    cfg.ListOpt("allowed_ports", item_type=cfg.types.Integer(min=1,
                                                              max=65535),
                default=[80, 443],
                help=_("Ports web-download may connect to; when set, "
                       "disallowed_ports is ignored.")),
    cfg.ListOpt("disallowed_ports",
                item_type=cfg.types.Integer(min=1, max=65535), default=[],
                help=_("Ports web-download may not connect to.")),
]

CONF.register_opts(import_filtering_opts, group="import_filtering_opts")

DEFAULT_PORTS = {"http": 80, "https": 443}


def list_opts():
    return [("import_filtering_opts", import_filtering_opts)]


class DownloadError(exception.GlanceException):
    message = _("Failed to download %(uri)s: %(reason)s")


def _passes(value, allowed, disallowed):
    if allowed:
        return value in allowed
    return value not in disallowed


def _non_public(address):
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def validate_import_uri(uri, resolve=False):
    """Whether web-download may fetch ``uri`` (see the module doc).

    With ``resolve`` a host name is looked up and every address it has
    must be public (unless the host is in ``allowed_hosts``).
    """
    if not uri or not isinstance(uri, str):
        return False
    opts = CONF.import_filtering_opts
    try:
        parsed = urllib.parse.urlparse(uri)
        port = parsed.port
    except ValueError:
        return False
    scheme, host = parsed.scheme, parsed.hostname
    if not scheme or not _passes(scheme, opts.allowed_schemes,
                                 opts.disallowed_schemes):
        return False
    if not host or not _passes(host, opts.allowed_hosts,
                               opts.disallowed_hosts):
        return False
    port = port or DEFAULT_PORTS.get(scheme)
    if port is not None and not _passes(port, opts.allowed_ports,
                                        opts.disallowed_ports):
        return False
    if host in opts.allowed_hosts:
        return True
    if host.lower() == "localhost" or _non_public(host):
        return False
    if resolve:
        return not any(_non_public(a) for a in _addresses(host, port))
    return True


def _addresses(host, port):
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError:
        return []  # the request itself will report the failure
    return [info[4][0] for info in infos]


def open_uri(uri):
    """``(response, length)``: the body of ``uri`` after safe redirects.

    ``length`` is the Content-Length (None if not given). DownloadError
    for a refused hop, a failed request or a status other than 200.
    """
    session = requests.Session()
    session.trust_env = False
    current = uri
    for _hop in range(MAX_REDIRECTS + 1):
        if not validate_import_uri(current, resolve=True):
            raise DownloadError(uri=uri, reason=_(
                "%s does not pass filtering") % current)
        try:
            response = session.get(
                current, stream=True, allow_redirects=False,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                headers={"Accept-Encoding": "identity"})
        except requests.RequestException as e:
            raise DownloadError(uri=uri, reason=e) from e
        if response.is_redirect:
            target = response.headers.get("Location")
            response.close()
            current = urllib.parse.urljoin(current, target)
            LOG.debug("web-download of %s redirected to %s", uri, current)
            continue
        if response.status_code != 200:
            response.close()
            raise DownloadError(uri=uri, reason=_("HTTP status %d")
                                % response.status_code)
        length = response.headers.get("Content-Length")
        try:
            length = int(length) if length is not None else None
        except ValueError:
            length = None
        return _Body(response), length
    raise DownloadError(uri=uri, reason=_("too many redirects"))


class _Body:
    """The raw body of a response as a file-like object."""

    def __init__(self, response):
        self.response = response

    def read(self, size=-1):
        try:
            return self.response.raw.read(size if size and size > 0
                                          else None)
        except Exception as e:  # noqa: BLE001 - urllib3's many errors
            raise OSError(str(e)) from e

    def close(self):
        self.response.close()
