"""Which URIs may be fetched on a user's behalf (web-download).

``check(uri, rules)`` applies Glance's ``[import_filtering_opts]`` rules
and answers the :class:`Target` to connect to, or raises
:class:`Refused` saying why. It fails closed:

* the scheme must pass ``allowed_schemes`` / ``disallowed_schemes`` and
  be one we can fetch (http, https);
* the host is resolved once; a host that does not resolve is refused.
  An IP literal must be written canonically: shorthand and encoded
  forms (``127.1``, ``2130706433``, ``0x7f000001``, ``0177.0.0.1``) are
  refused, as Glance does, so no two parsers can disagree on them;
* ``allowed_hosts`` / ``disallowed_hosts`` entries (names or single IP
  addresses, no CIDR, as in Glance) are matched against the name *and*
  every resolved address. With ``allowed_hosts`` set, the name must be
  listed or every address must be. Otherwise the name and every address
  must stay out of ``disallowed_hosts``;
* unless the host passed a non-empty ``allowed_hosts``, every address
  must not be loopback, link-local or unspecified (as Glance), and with
  ``disallow_private_addresses`` must be globally routable (no private,
  shared, reserved, documentation or multicast ranges). An IPv6 address
  embedding an IPv4 one (mapped, compatible, NAT64) is judged by both;
* an explicit port must pass ``allowed_ports`` / ``disallowed_ports``;
  a URI without a port uses its scheme's default, which Glance always
  accepts.

When both the allowed and disallowed list of a level are set, only the
allowed one counts. The :class:`Target` carries every checked address:
the caller connects to one of them and to nothing else.
"""
import dataclasses
import ipaddress
import re
import socket
import urllib.parse

DEFAULT_PORTS = {"http": 80, "https": 443}

_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")


class Refused(ValueError):
    """The URI may not be fetched; the message says why."""


@dataclasses.dataclass(frozen=True)
class Rules:
    """The six filter lists and the private-address switch."""

    allowed_schemes: tuple = ()
    disallowed_schemes: tuple = ()
    allowed_hosts: tuple = ()
    disallowed_hosts: tuple = ()
    allowed_ports: tuple = ()
    disallowed_ports: tuple = ()
    disallow_private_addresses: bool = False

    @classmethod
    def from_options(cls, opts):
        """Rules from an ``[import_filtering_opts]`` group."""
        return cls(
            allowed_schemes=_lower(opts.allowed_schemes),
            disallowed_schemes=_lower(opts.disallowed_schemes),
            allowed_hosts=_lower(opts.allowed_hosts),
            disallowed_hosts=_lower(opts.disallowed_hosts),
            allowed_ports=tuple(int(p) for p in opts.allowed_ports or ()),
            disallowed_ports=tuple(int(p) for p in
                                   opts.disallowed_ports or ()),
            disallow_private_addresses=bool(
                opts.disallow_private_addresses))


@dataclasses.dataclass(frozen=True)
class Target:
    """A checked URI: where to connect and what to ask for."""

    uri: str
    scheme: str
    host: str           # ASCII, lower case, no brackets, no trailing dot
    port: int           # the port to connect to
    path: str           # path and query, as sent in the request line
    addresses: tuple    # every address the host resolved to, all checked

    @property
    def host_header(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        if self.port != DEFAULT_PORTS[self.scheme]:
            host += ":%d" % self.port
        return host


def _lower(values):
    return tuple(str(v).strip().strip("[]").lower().rstrip(".")
                 for v in values or ())


def resolve(host, port):
    """Every address ``host`` resolves to, as the C library answers."""
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    addresses = []
    for info in infos:
        sockaddr = info[4]
        address = sockaddr[0]
        if len(sockaddr) == 4 and sockaddr[3] and "%" not in address:
            address = "%s%%%d" % (address, sockaddr[3])
        addresses.append(address)
    return addresses


def check(uri, rules, resolver=None):
    """The :class:`Target` of ``uri``; :class:`Refused` if it may not be
    fetched. ``resolver(host, port)`` lists addresses (default
    :func:`resolve`)."""
    parts = _split(uri)
    scheme = parts.scheme.lower()
    _check_scheme(scheme, rules)
    host = _host(parts)
    explicit_port = parts.port
    if explicit_port is not None and not _passes(
            explicit_port, rules.allowed_ports, rules.disallowed_ports):
        raise Refused("port %d is not allowed" % explicit_port)
    port = explicit_port or DEFAULT_PORTS[scheme]
    addresses = _addresses(host, port, resolver or resolve)
    _check_host(host, addresses, rules)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(uri=uri, scheme=scheme, host=host, port=port, path=path,
                  addresses=tuple(str(a) for a in addresses))


def _passes(value, allowed, disallowed):
    if allowed:
        return value in allowed
    return value not in disallowed


def _split(uri):
    if not uri or not isinstance(uri, str):
        raise Refused("no URI given")
    try:
        parts = urllib.parse.urlsplit(uri)
        # .port raises ValueError for a non-numeric or too large port
        if parts.port == 0:
            raise ValueError("port 0")
    except ValueError as e:
        raise Refused("malformed URI: %s" % e)
    return parts


def _check_scheme(scheme, rules):
    if not scheme:
        raise Refused("the URI has no scheme")
    if not _passes(scheme, rules.allowed_schemes, rules.disallowed_schemes):
        raise Refused("scheme %s is not allowed" % scheme)
    if scheme not in DEFAULT_PORTS:
        raise Refused("scheme %s cannot be fetched (http and https only)"
                      % scheme)


def _host(parts):
    host = parts.hostname
    if not host:
        raise Refused("the URI has no host")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() \
            else host
    except UnicodeError:
        raise Refused("host %r is not a valid name" % host)
    host = host.lower()
    if host != "." and host.endswith("."):
        host = host[:-1]
    if _literal(host) is None and _numeric(host):
        raise Refused("host %s is not a canonical IP address" % host)
    return host


def _literal(host):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _numeric(host):
    """Whether every label is a number: a shorthand or encoded IPv4."""
    return all(_NUMERIC_LABEL.match(label) for label in host.split("."))


def _addresses(host, port, resolver):
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        found = resolver(host, port)
    except (OSError, UnicodeError) as e:
        raise Refused("host %s does not resolve (%s)" % (host, e))
    addresses = []
    for text in found or ():
        address = _literal(str(text))
        if address is None:
            raise Refused("host %s resolves to %r, not an IP address"
                          % (host, text))
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Refused("host %s does not resolve" % host)
    return addresses


def _check_host(host, addresses, rules):
    if rules.allowed_hosts:
        if host in rules.allowed_hosts or all(
                _listed(a, rules.allowed_hosts) for a in addresses):
            return  # explicitly trusted: any kind of address
        raise Refused("host %s is not in allowed_hosts" % host)
    if host in rules.disallowed_hosts or any(
            _listed(a, rules.disallowed_hosts) for a in addresses):
        raise Refused("host %s is in disallowed_hosts" % host)
    for address in addresses:
        kind = _restricted_kind(address, rules.disallow_private_addresses)
        if kind:
            raise Refused("host %s: address %s is %s" % (host, address,
                                                        kind))


def _views(address):
    """``address`` and the IPv4 address it embeds, if any."""
    views = [address.__class__(str(address).split("%", 1)[0])]
    if address.version == 6:
        plain = views[0]
        if plain.ipv4_mapped:
            views.append(plain.ipv4_mapped)
        elif plain in _NAT64 or (plain in _COMPATIBLE and
                                 int(plain) > 1):
            views.append(ipaddress.IPv4Address(int(plain) & 0xFFFFFFFF))
    return views


def _listed(address, entries):
    views = _views(address)
    for entry in entries:
        listed = _literal(entry)
        if listed is not None and any(v == listed for v in views):
            return True
    return False


def _restricted_kind(address, disallow_private):
    """What makes ``address`` unfit, or None."""
    for view in _views(address):
        if view.is_loopback:
            return "loopback"
        if view.is_link_local:
            return "link-local"
        if view.is_unspecified or (view.version == 4 and
                                   view in _THIS_NETWORK):
            return "unspecified"
        if disallow_private and (view.is_multicast or not view.is_global):
            return "private or reserved"
    return None
