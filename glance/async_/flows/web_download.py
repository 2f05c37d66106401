"""web-download: which URIs may be fetched, and fetching one safely.

``check_import_uri(uri)`` applies ``[import_filtering_opts]`` through
:mod:`glance.common.uri_filter` (see there for the rules): the host is
resolved once and every address it has is checked; a host that does
not resolve, or any of whose addresses is refused, is refused.
``validate_import_uri(uri)`` says the same as a boolean, for the
import call (400) and the tasks API.

``open_uri(uri, headers)`` fetches a URI with the same check on every hop: it
connects to exactly the checked addresses (no second name lookup
between check and connect; the Host header, TLS SNI and the
certificate check still use the name), follows redirects itself (at
most ``MAX_REDIRECTS``, each target checked the same way) and answers
the final response (status 200) with its announced length; ``headers``
(glance-download's token) go only to the URI's own scheme, host and
port, never to another host a redirect names. The body is
staged by the caller through ``glance.store.stage_image`` within the
usual limits (``image_size_cap``, quota: ``glance.db.storage_quota``).
"""
import urllib.parse

import requests
import urllib3
from oslo_config import cfg
from oslo_log import log as logging

from glance.common import config
from glance.common import exception
from glance.common import uri_filter
from glance.i18n import _

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 30
READ_TIMEOUT = 300

# Glance's syntax: [a, b], items checked (a bad one stops start-up)
_PORT = cfg.types.Integer(min=1, max=65535)
_HOST = cfg.types.HostAddress()

import_filtering_opts = [
    config.BracketListOpt("allowed_schemes", default=["http", "https"],
                help=_("URI schemes web-download may use; when set, "
                       "disallowed_schemes is ignored. Only http and "
                       "https can be fetched: a URI with any other "
                       "scheme is refused even if it is listed here.")),
    config.BracketListOpt("disallowed_schemes", default=[],
                help=_("URI schemes web-download may not use.")),
    config.BracketListOpt("allowed_hosts", item_type=_HOST, default=[],
                help=_("Hosts web-download may fetch from (names or IP "
                       "addresses, no CIDR); when set, disallowed_hosts "
                       "is ignored. A host passes if its name is listed "
                       "or every address it resolves to is listed. A "
                       "host passing this list may have any address, "
                       "loopback and link-local included: this is how "
                       "such a host is made reachable.")),
    config.BracketListOpt("disallowed_hosts", item_type=_HOST, default=[],
                help=_("Hosts web-download may not fetch from (names or "
                       "IP addresses, no CIDR). A URI is refused if its "
                       "host's name or any address it resolves to is "
                       "listed.")),
    config.BracketListOpt("allowed_ports", item_type=_PORT,
                default=[80, 443],
                help=_("Ports web-download may connect to when the URI "
                       "names a port; when set, disallowed_ports is "
                       "ignored. A URI without a port uses its scheme's "
                       "default port and passes this filter.")),
    config.BracketListOpt("disallowed_ports", item_type=_PORT, default=[],
                help=_("Ports web-download may not connect to when the "
                       "URI names a port.")),
    cfg.BoolOpt("disallow_private_addresses", default=False,
                help=_("Refuse hosts with a private, shared, reserved, "
                       "documentation or multicast address (for example "
                       "10.0.0.0/8, 192.168.0.0/16, 100.64.0.0/10, "
                       "fc00::/7), on top of the loopback, link-local "
                       "and unspecified addresses that are always "
                       "refused. A host passing allowed_hosts is not "
                       "affected. Off by default, as Glance lets a "
                       "private cloud import from its own network.")),
]

CONF.register_opts(import_filtering_opts, group="import_filtering_opts")


def list_opts():
    return [("import_filtering_opts", import_filtering_opts)]


class DownloadError(exception.GlanceException):
    message = _("Failed to download %(uri)s: %(reason)s")


def check_import_uri(uri):
    """The checked :class:`~glance.common.uri_filter.Target` of ``uri``;
    ``uri_filter.Refused`` (with the reason) if it may not be fetched."""
    rules = uri_filter.Rules.from_options(CONF.import_filtering_opts)
    return uri_filter.check(uri, rules)


def validate_import_uri(uri):
    """Whether web-download may fetch ``uri`` (see the module doc)."""
    try:
        check_import_uri(uri)
    except uri_filter.Refused as e:
        LOG.info("web-download URI %(uri)s refused: %(why)s",
                 {"uri": uri, "why": e})
        return False
    return True


def open_uri(uri, headers=None):
    """``(body, length)``: the body of ``uri`` after checked redirects.

    ``length`` is the Content-Length (None if not given). DownloadError
    for a refused hop, a failed request or a status other than 200.
    """
    current = uri
    origin = None
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            target = check_import_uri(current)
        except uri_filter.Refused as e:
            raise DownloadError(uri=uri, reason=_(
                "%(hop)s does not pass filtering: %(why)s")
                % {"hop": current, "why": e})
        here = _origin(current)      # a checked URI: its port parses
        origin = origin or here
        response, pool = _get(target, uri,
                              headers if here == origin else None)
        if response.status in response.REDIRECT_STATUSES:
            location = response.headers.get("Location")
            _close(response, pool)
            if not location:
                raise DownloadError(uri=uri, reason=_(
                    "redirect without a Location"))
            current = urllib.parse.urljoin(current, location)
            LOG.debug("web-download of %s redirected to %s", uri, current)
            continue
        if response.status != 200:
            _close(response, pool)
            raise DownloadError(uri=uri, reason=_("HTTP status %d")
                                % response.status)
        return _Body(response, pool), _length(response)
    raise DownloadError(uri=uri, reason=_("too many redirects"))


def _origin(uri):
    parts = urllib.parse.urlsplit(uri)
    return parts.scheme.lower(), parts.hostname, parts.port


def _get(target, uri, extra_headers=None):
    """GET ``target`` from one of its checked addresses (the next one
    only when connecting fails): ``(response, pool)``."""
    headers = dict(extra_headers or {})
    headers.update({"Host": target.host_header,
                    "Accept-Encoding": "identity",
                    "User-Agent": "glance-web-download"})
    path = requests.utils.requote_uri(target.path)
    error = None
    for address in target.addresses:
        pool = _pool(target, address)
        try:
            response = pool.urlopen(
                "GET", path, headers=headers, retries=False,
                redirect=False, preload_content=False,
                decode_content=False, assert_same_host=False)
            return response, pool
        except urllib3.exceptions.ConnectTimeoutError as e:
            pool.close()
            LOG.warning("web-download of %(uri)s: cannot connect to "
                        "%(addr)s: %(err)s",
                        {"uri": uri, "addr": address, "err": e})
            error = e
        except (urllib3.exceptions.HTTPError, OSError) as e:
            pool.close()
            raise DownloadError(uri=uri, reason=e) from e
    raise DownloadError(uri=uri, reason=error)


def _pool(target, address):
    """A one-connection pool to ``address`` that still speaks to the
    name: the Host header is set by the caller; TLS sends the name as
    SNI and checks the certificate against it."""
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address, target.port, timeout=timeout, maxsize=1,
            retries=False, cert_reqs="CERT_REQUIRED",
            ca_certs=_ca_bundle(), server_hostname=target.host)
    return urllib3.HTTPConnectionPool(address, target.port, timeout=timeout,
                                      maxsize=1, retries=False)


def _ca_bundle():
    """The CA certificates a server must chain to (requests' bundle)."""
    return requests.certs.where()


def _length(response):
    length = response.headers.get("Content-Length")
    try:
        return int(length) if length is not None else None
    except ValueError:
        return None


def _close(response, pool):
    try:
        response.close()
    finally:
        pool.close()


class _Body:
    """The raw body of a response as a file-like object."""

    def __init__(self, response, pool):
        self.response = response
        self.pool = pool

    def read(self, size=-1):
        try:
            return self.response.read(size if size and size > 0 else None,
                                      decode_content=False)
        except Exception as e:  # noqa: BLE001 - urllib3's many errors
            raise OSError(str(e)) from e

    def close(self):
        _close(self.response, self.pool)
