"""web-download over HTTPS connects to the checked address but speaks
to the name: SNI, the Host header and the certificate check use the
name from the URI, never the address it was pinned to.

A TLS web server on 127.0.0.1 (its own process) answers with the SNI
name and Host header it received; names are resolved by a patched
resolver, so nothing but 127.0.0.1 is ever contacted."""
import subprocess
import sys

import pytest
import requests
import urllib3

from glance.async_.flows import web_download
from glance.common import uri_filter
from tests.functional.server import free_port, make_self_signed_cert, \
    wait_for

TLS_SERVER = r"""
import http.server, ssl, sys
cert, key, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
last = {"sni": None}
def remember(sock, name, context):
    last["sni"] = name
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
context.sni_callback = remember
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("sni=%s host=%s" % (last["sni"], self.headers["Host"])
                ).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class S(http.server.HTTPServer):
    def handle_error(self, request, client_address):
        pass
server = S(("127.0.0.1", port), H)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""


@pytest.fixture(scope="module")
def tls_web(tmp_path_factory):
    base = tmp_path_factory.mktemp("tls-web")
    cert, key = make_self_signed_cert(base, hosts=("images.test",))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", TLS_SERVER, cert, key,
                             str(port)])
    try:
        wait_for(lambda: _answers(port, cert), timeout=10,
                 message="TLS web server")
        yield port, cert
    finally:
        proc.terminate()
        proc.wait(10)


def _answers(port, cert):
    pool = urllib3.HTTPSConnectionPool(
        "127.0.0.1", port, ca_certs=cert, server_hostname="images.test",
        retries=False, timeout=1)
    try:
        return pool.request("GET", "/").status == 200
    except urllib3.exceptions.HTTPError:
        return False
    finally:
        pool.close()


@pytest.fixture
def pinned(tls_web, monkeypatch, conf):
    port, cert = tls_web
    resolved = []

    def resolve(host, port):
        resolved.append(host)
        if not host.endswith(".test"):
            raise OSError("unknown name %s" % host)
        return ["127.0.0.1"]
    monkeypatch.setattr(uri_filter, "resolve", resolve)
    monkeypatch.setattr(web_download, "_ca_bundle", lambda: cert)
    conf(group="import_filtering_opts", allowed_hosts=["127.0.0.1"],
         allowed_ports=[port])
    return port, resolved


def test_https_pinned_address_keeps_sni_host_and_cert_check(pinned):
    port, resolved = pinned
    body, length = web_download.open_uri("https://images.test:%d/x" % port)
    try:
        data = body.read()
    finally:
        body.close()
    expected = ("sni=images.test host=images.test:%d" % port).encode()
    assert data == expected and length == len(expected)
    assert resolved == ["images.test"]


@pytest.mark.parametrize("host", ["other.test", "127.0.0.1"])
def test_https_certificate_checked_against_the_name(pinned, host):
    """Same address, a name the certificate does not carry: refused."""
    port, _ = pinned
    with pytest.raises(web_download.DownloadError,
                       match="certificate verify failed.*mismatch"):
        web_download.open_uri("https://%s:%d/x" % (host, port))


def test_https_default_trust_refuses_unknown_ca(pinned, monkeypatch):
    monkeypatch.setattr(web_download, "_ca_bundle",
                        lambda: requests.certs.where())
    port, _ = pinned
    with pytest.raises(web_download.DownloadError,
                       match="certificate verify failed"):
        web_download.open_uri("https://images.test:%d/x" % port)
