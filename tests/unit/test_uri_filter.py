"""URI filtering for web-download (glance.common.uri_filter) and the
fetching that connects only to checked addresses (web_download.open_uri).

Every name goes through a fake resolver: no test here opens a socket or
asks a real DNS server."""
import socket

import pytest
import urllib3

from glance.async_.flows import web_download
from glance.common import uri_filter
from glance.common.uri_filter import Refused, Rules

# Glance's defaults (glance 33, [import_filtering_opts]).
GLANCE = Rules(allowed_schemes=("http", "https"),
               allowed_ports=(80, 443))

DNS = {
    "public.example": ["93.184.215.14"],
    "dual.example": ["93.184.215.14", "2606:2800:21f:cb07::1"],
    "mixed.example": ["93.184.215.14", "127.0.0.1"],
    "mixed6.example": ["2606:2800:21f:cb07::1", "::ffff:169.254.169.254"],
    "private.example": ["10.1.2.3"],
    "metadata.example": ["169.254.169.254"],
    "v6loop.example": ["::1"],
    "ula.example": ["fd00::5"],
    "nat64.example": ["64:ff9b::7f00:1"],
    "local.example": ["127.0.0.1"],
    "garbage.example": ["not-an-address"],
    "empty.example": [],
}


class Resolver:
    """A fake resolver recording what it was asked."""

    def __init__(self, table=None):
        self.table = DNS if table is None else table
        self.calls = []

    def __call__(self, host, port):
        self.calls.append((host, port))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service "
                                  "not known")
        return list(self.table[host])


def check(uri, rules=GLANCE, table=None):
    return uri_filter.check(uri, rules, Resolver(table))


def refused(uri, rules=GLANCE, table=None):
    with pytest.raises(Refused) as info:
        check(uri, rules, table)
    return str(info.value)


def test_defaults_are_glances(conf):
    rules = Rules.from_options(web_download.CONF.import_filtering_opts)
    assert rules == Rules(allowed_schemes=("http", "https"),
                          allowed_ports=(80, 443),
                          disallow_private_addresses=False)


# --- numeric host forms: refused before any lookup ---

@pytest.mark.parametrize("host", [
    "2130706433", "0x7f000001", "0X7F000001", "127.1", "0177.0.0.1",
    "017700000001", "0x7f.0.0.1", "127.000.000.001",
    "10.1", "167772161", "1.2.3.4.5"])
def test_non_canonical_numeric_hosts_refused(host):
    resolver = Resolver()
    with pytest.raises(Refused) as info:
        uri_filter.check("http://%s/x" % host, GLANCE, resolver)
    assert "not a canonical IP address" in str(info.value)
    assert resolver.calls == []


def test_numeric_forms_refused_even_when_their_address_is_allowed():
    rules = Rules(allowed_hosts=("127.0.0.1",))
    assert check("http://127.0.0.1/x", rules).addresses == ("127.0.0.1",)
    assert check("http://127.0.0.1./x", rules).host == "127.0.0.1"
    assert "loopback" in refused("http://127.0.0.1./x")
    for host in ("2130706433", "0x7f000001", "127.1", "0177.0.0.1"):
        refused("http://%s/x" % host, rules)


def test_names_with_numeric_labels_are_names():
    table = {"123.example": ["93.184.215.14"], "1e100.net": ["8.8.8.8"]}
    assert check("http://123.example/", table=table).addresses == (
        "93.184.215.14",)
    assert check("http://1e100.net/", table=table).host == "1e100.net"


# --- literal addresses with the default rules ---

@pytest.mark.parametrize("uri,kind", [
    ("http://127.0.0.1/", "loopback"),
    ("http://127.8.9.10/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:7f00:1]/", "loopback"),
    ("http://[::127.0.0.1]/", "loopback"),
    ("http://[64:ff9b::7f00:1]/", "loopback"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0.1.2.3/", "unspecified"),
    ("http://[::]/", "unspecified"),
])
def test_loopback_link_local_unspecified_always_refused(uri, kind):
    assert kind in refused(uri)


@pytest.mark.parametrize("uri", [
    "http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/",
    "http://100.64.0.1/", "http://[fd00::1]/", "http://198.51.100.1/"])
def test_private_addresses_pass_by_default_as_in_glance(uri):
    assert check(uri).addresses


@pytest.mark.parametrize("uri", [
    "http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/",
    "http://100.64.0.1/", "http://[fd00::1]/", "http://198.51.100.1/",
    "http://224.0.0.1/", "http://240.0.0.1/", "http://[::ffff:10.0.0.1]/",
    "http://private.example/", "http://ula.example/"])
def test_disallow_private_addresses(uri):
    rules = Rules(allowed_schemes=("http",), allowed_ports=(80,),
                  disallow_private_addresses=True)
    assert "private or reserved" in refused(uri, rules)


def test_disallow_private_keeps_public_and_allowed_hosts():
    rules = Rules(disallow_private_addresses=True,
                  allowed_hosts=("private.example", "10.9.9.9",
                                 "public.example"))
    assert check("http://private.example/", rules).addresses == (
        "10.1.2.3",)
    assert check("http://10.9.9.9/", rules).addresses == ("10.9.9.9",)
    assert check("http://public.example/", rules)
    rules = Rules(disallow_private_addresses=True)
    assert check("http://public.example/", rules)
    assert check("https://[2606:4700::1111]/", rules)


# --- names: every resolved address counts ---

def test_name_resolves_once_with_the_port_and_all_addresses_kept():
    resolver = Resolver()
    target = uri_filter.check("https://DUAL.example./a?b=1#frag", GLANCE,
                              resolver)
    assert resolver.calls == [("dual.example", 443)]
    assert target.host == "dual.example"
    assert target.port == 443 and target.path == "/a?b=1"
    assert target.addresses == ("93.184.215.14", "2606:2800:21f:cb07::1")
    assert target.host_header == "dual.example"


@pytest.mark.parametrize("host,kind", [
    ("mixed.example", "loopback"),           # one address of two
    ("mixed6.example", "link-local"),        # v4-mapped metadata address
    ("metadata.example", "link-local"),
    ("v6loop.example", "loopback"),
    ("nat64.example", "loopback"),
    ("local.example", "loopback"),
])
def test_one_bad_address_refuses_the_name(host, kind):
    message = refused("http://%s/" % host)
    assert host in message and kind in message


@pytest.mark.parametrize("host", ["unknown.example", "empty.example",
                                  "garbage.example"])
def test_unresolvable_host_refused(host):
    assert host in refused("http://%s/x" % host)


def test_resolver_errors_fail_closed():
    def broken(host, port):
        raise OSError("resolver down")
    with pytest.raises(Refused, match="does not resolve"):
        uri_filter.check("http://public.example/", GLANCE, broken)


def test_default_resolver_reads_getaddrinfo(monkeypatch):
    def getaddrinfo(host, port, family, type_):
        assert (host, port, family, type_) == ("n.example", 80, 0,
                                                socket.SOCK_STREAM)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 ("192.0.2.1", 80)),
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "",
                 ("fe80::1", 80, 0, 3))]
    monkeypatch.setattr(uri_filter.socket, "getaddrinfo", getaddrinfo)
    assert uri_filter.resolve("n.example", 80) == ["192.0.2.1", "fe80::1%3"]


# --- allowed_hosts / disallowed_hosts match names and addresses ---

def test_allowed_hosts_by_name_or_by_every_address():
    rules = Rules(allowed_hosts=("127.0.0.1", "mixed.example"))
    assert check("http://local.example/", rules).addresses == (
        "127.0.0.1",)                        # its only address is listed
    assert check("http://mixed.example/", rules)        # the name is
    assert check("http://127.0.0.1:80/", rules)
    assert check("http://[::ffff:127.0.0.1]/", rules)   # same address
    assert "not in allowed_hosts" in refused("http://v6loop.example/",
                                             rules)
    assert "not in allowed_hosts" in refused("http://public.example/",
                                             rules)
    rules = Rules(allowed_hosts=("93.184.215.14",))
    assert refused("http://dual.example/", rules)       # one unlisted


def test_allowed_hosts_entries_are_normalized():
    rules = Rules.from_options(type("O", (), dict(
        allowed_schemes=["HTTP"], disallowed_schemes=[],
        allowed_hosts=[" Public.Example. ", "[::1]"], disallowed_hosts=[],
        allowed_ports=["80"], disallowed_ports=[],
        disallow_private_addresses=False)))
    assert rules.allowed_hosts == ("public.example", "::1")
    assert rules.allowed_ports == (80,)
    assert check("http://public.example/", rules)
    assert check("http://[::1]/", rules)
    assert check("http://v6loop.example/", rules)


def test_disallowed_hosts_by_name_or_any_address():
    rules = Rules(disallowed_hosts=("mixed.example", "2606:2800:21f:cb07::1",
                                    "10.1.2.3"))
    assert "disallowed_hosts" in refused("http://MIXED.example./", rules)
    assert "disallowed_hosts" in refused("http://dual.example/", rules)
    assert "disallowed_hosts" in refused("http://private.example/", rules)
    assert "disallowed_hosts" in refused("http://[::ffff:10.1.2.3]/", rules)
    assert check("http://public.example/", rules)


def test_disallowed_hosts_ignored_when_allowed_hosts_set():
    rules = Rules(allowed_hosts=("public.example",),
                  disallowed_hosts=("public.example",))
    assert check("http://public.example/", rules)


# --- schemes and ports ---

def test_schemes():
    assert "scheme ftp is not allowed" in refused("ftp://public.example/")
    assert "no scheme" in refused("//public.example/")
    rules = Rules(allowed_schemes=("ftp", "http"))
    assert "cannot be fetched" in refused("ftp://public.example/", rules)
    assert check("HTTP://public.example/", rules).scheme == "http"
    rules = Rules(disallowed_schemes=("https",))
    assert refused("https://public.example/", rules)
    assert "cannot be fetched" in refused("file:///etc/passwd", rules)


def test_ports_as_in_glance():
    assert check("http://public.example:80/").port == 80
    assert check("https://public.example:80/").port == 80
    assert "port 8080" in refused("http://public.example:8080/")
    rules = Rules(allowed_ports=(8080,))
    # no port in the URI: the scheme's default, which always passes
    assert check("http://public.example/", rules).port == 80
    assert check("https://public.example:8080/", rules).host_header == \
        "public.example:8080"
    rules = Rules(disallowed_ports=(8443,))
    assert refused("https://public.example:8443/", rules)
    assert check("https://public.example:9/", rules).port == 9
    assert "malformed" in refused("http://public.example:99999/")
    assert "malformed" in refused("http://public.example:x/")
    assert refused("http://public.example:0/", Rules())


def test_malformed_uris():
    for uri in ("", None, 42, "http:///x", "http://[::1/", "http://:80/"):
        with pytest.raises(Refused):
            check(uri)


def test_ipv6_literal_target():
    rules = Rules(allowed_ports=(8443,))
    target = check("https://[2606:4700::1111]:8443/img", rules)
    assert target.addresses == ("2606:4700::1111",)
    assert target.host_header == "[2606:4700::1111]:8443"


def test_idn_host_is_resolved_in_ascii():
    table = {"xn--bcher-kva.example": ["93.184.215.14"]}
    target = check("http://b\u00fccher.example/", table=table)
    assert target.host == "xn--bcher-kva.example"


# --- open_uri: connects to checked addresses only, checks every hop ---

class FakeResponse:
    REDIRECT_STATUSES = urllib3.HTTPResponse.REDIRECT_STATUSES

    def __init__(self, status, headers=None, body=b""):
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.closed = False

    def read(self, amt=None, decode_content=True):
        assert decode_content is False
        data, self.body = (self.body, b"") if amt is None else (
            self.body[:amt], self.body[amt:])
        return data

    def close(self):
        self.closed = True


class FakeNet:
    """Stands in for ``web_download._pool``: answers per (address, path)
    and records every connection made."""

    def __init__(self, answers, unreachable=()):
        self.answers = answers
        self.unreachable = set(unreachable)
        self.connections = []

    def pool(self, target, address):
        net = self

        class Pool:
            def urlopen(self, method, path, headers, **kw):
                assert kw["redirect"] is False and kw["retries"] is False
                net.connections.append((address, target.port, path,
                                        headers["Host"]))
                if address in net.unreachable:
                    raise urllib3.exceptions.NewConnectionError(
                        None, "refused")
                return net.answers[(address, path)]

            def close(self):
                pass
        return Pool()


@pytest.fixture
def net(monkeypatch, conf):
    monkeypatch.setattr(uri_filter, "resolve", Resolver())
    conf(group="import_filtering_opts", allowed_ports=[80, 443, 8080])

    def install(answers, unreachable=()):
        fake = FakeNet(answers, unreachable)
        monkeypatch.setattr(web_download, "_pool", fake.pool)
        return fake
    return install


def test_open_uri_connects_to_the_checked_address(net):
    fake = net({("93.184.215.14", "/img"): FakeResponse(
        200, {"Content-Length": "4"}, b"data")})
    body, length = web_download.open_uri("http://public.example:8080/img")
    assert (body.read(2), body.read(), length) == (b"da", b"ta", 4)
    body.close()
    assert fake.connections == [("93.184.215.14", 8080, "/img",
                                 "public.example:8080")]


def test_open_uri_tries_the_next_checked_address(net):
    fake = net({("2606:2800:21f:cb07::1", "/"): FakeResponse(200)},
               unreachable={"93.184.215.14"})
    body, length = web_download.open_uri("http://dual.example/")
    assert length is None
    assert [c[0] for c in fake.connections] == ["93.184.215.14",
                                                "2606:2800:21f:cb07::1"]


@pytest.mark.parametrize("location,why", [
    ("http://local.example/img", "loopback"),
    ("http://127.0.0.1/img", "loopback"),
    ("http://2130706433/img", "canonical"),
    ("http://mixed.example/img", "loopback"),
    ("http://public.example:22/img", "port 22"),
    ("http://unknown.example/img", "does not resolve"),
    ("ftp://public.example/img", "scheme"),
])
def test_redirect_to_a_refused_target_is_not_followed(net, location, why):
    fake = net({("93.184.215.14", "/start"): FakeResponse(
        302, {"Location": location})})
    with pytest.raises(web_download.DownloadError) as info:
        web_download.open_uri("http://public.example/start")
    assert "does not pass filtering" in str(info.value)
    assert why in str(info.value)
    assert [c[0] for c in fake.connections] == ["93.184.215.14"]


def test_relative_redirect_checked_and_followed(net):
    first = FakeResponse(301, {"Location": "/final"})
    fake = net({("93.184.215.14", "/start"): first,
                ("93.184.215.14", "/final"): FakeResponse(200, {}, b"x")})
    body, _ = web_download.open_uri("http://public.example/start")
    assert body.read() == b"x" and first.closed
    assert [c[2] for c in fake.connections] == ["/start", "/final"]


def test_redirect_loop_bounded(net):
    fake = net({("93.184.215.14", "/loop"): FakeResponse(
        307, {"Location": "/loop"})})
    with pytest.raises(web_download.DownloadError, match="too many"):
        web_download.open_uri("http://public.example/loop")
    assert len(fake.connections) == web_download.MAX_REDIRECTS + 1


def test_redirect_without_location_and_bad_status(net):
    net({("93.184.215.14", "/a"): FakeResponse(302),
         ("93.184.215.14", "/b"): FakeResponse(404)})
    with pytest.raises(web_download.DownloadError, match="Location"):
        web_download.open_uri("http://public.example/a")
    with pytest.raises(web_download.DownloadError, match="404"):
        web_download.open_uri("http://public.example/b")


def test_all_addresses_unreachable(net):
    fake = net({}, unreachable={"93.184.215.14", "2606:2800:21f:cb07::1"})
    with pytest.raises(web_download.DownloadError):
        web_download.open_uri("http://dual.example/")
    assert len(fake.connections) == 2


def test_pools_pin_the_address_and_verify_tls_on_the_name():
    target = uri_filter.check("https://public.example/img", GLANCE,
                              Resolver())
    pool = web_download._pool(target, "93.184.215.14")
    try:
        assert isinstance(pool, urllib3.HTTPSConnectionPool)
        assert (pool.host, pool.port) == ("93.184.215.14", 443)
        assert pool.conn_kw["server_hostname"] == "public.example"
        assert pool.cert_reqs == "CERT_REQUIRED" and pool.ca_certs
        assert pool.proxy is None
    finally:
        pool.close()
    target = uri_filter.check("http://[2606:4700::1111]/", GLANCE)
    pool = web_download._pool(target, target.addresses[0])
    assert pool.host == "2606:4700::1111" and pool.port == 80
    pool.close()
