"""web-download connects to the address its filter checked, against the
real daemon (2 workers).

glance-api runs with a resolver of our own (a ``sitecustomize`` on its
PYTHONPATH, eventlet's green DNS off) for names under ``.test``: the
lookup made by the URI filter (``glance.common.uri_filter.resolve``)
answers 127.0.0.1, where the good web server listens; any other lookup
of the name (a second one, by the HTTP client at connect time: DNS
rebinding) answers 127.0.0.2, where another server listens on the same
port with other data and counts the requests it gets. ``unknown.test``
does not resolve at all. Every lookup is logged with who made it.

* A download from ``rebind.test``, directly or through a redirect, gets
  the good data; the other server is never asked, and the name is only
  ever looked up by the filter.
* A name that does not resolve is refused at the import call (400,
  fail closed), before any task.
"""
import hashlib
import os
import subprocess
import sys

import pytest
import requests

from tests.functional.apiclient import Api, MEMBER, new_project
from tests.functional.server import GlanceServer, REPO_ROOT, free_port, \
    wait_for

GOOD_DATA = os.urandom(48 * 1024)
EVIL_DATA = b"E" * len(GOOD_DATA)

SITECUSTOMIZE = r'''
import os
import socket
import sys

_real_getaddrinfo = socket.getaddrinfo
_GOOD = os.environ["FAKE_DNS_GOOD"]
_EVIL = os.environ["FAKE_DNS_EVIL"]
_LOG = os.environ["FAKE_DNS_LOG"]


def _by_the_filter():
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "resolve" and \
                code.co_filename.endswith("uri_filter.py"):
            return True
        frame = frame.f_back
    return False


def getaddrinfo(host, port, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else (host or "")
    name = name.rstrip(".").lower()
    if not name.endswith(".test"):
        return _real_getaddrinfo(host, port, *args, **kwargs)
    who = "filter" if _by_the_filter() else "other"
    with open(_LOG, "a") as log:
        log.write("%d %s %s\n" % (os.getpid(), name, who))
    if name == "unknown.test":
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return _real_getaddrinfo(_GOOD if who == "filter" else _EVIL, port,
                             *args, **kwargs)


socket.getaddrinfo = getaddrinfo
'''

# A web server on (address, port) serving ``payload`` at /data,
# redirecting /redirect?to=URL, appending each request line to ``hits``.
WEB_SERVER = r"""
import http.server, sys
address, port, payload, hits = sys.argv[1], int(sys.argv[2]), \
    open(sys.argv[3], "rb").read(), sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(hits, "a") as f:
            f.write("%s Host=%s\n" % (self.path, self.headers["Host"]))
        path, _, query = self.path.partition("?")
        if path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query.split("=", 1)[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path != "/data":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer((address, port), H).serve_forever()
"""


def md5(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _answers(address, port):
    try:
        return requests.get("http://%s:%d/data" % (address, port),
                            timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _lines(path):
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture(scope="module")
def webs(tmp_path_factory):
    """Two web servers on one port: 127.0.0.1 (good), 127.0.0.2 (evil);
    (port, good hits file, evil hits file)."""
    base = tmp_path_factory.mktemp("pinning-web")
    port = free_port()
    procs, hits = [], {}
    try:
        for role, address, data in [("good", "127.0.0.1", GOOD_DATA),
                                    ("evil", "127.0.0.2", EVIL_DATA)]:
            (base / role).write_bytes(data)
            hits[role] = base / ("%s.hits" % role)
            procs.append(subprocess.Popen([
                sys.executable, "-c", WEB_SERVER, address, str(port),
                str(base / role), str(hits[role])]))
            wait_for(lambda a=address: _answers(a, port), timeout=10,
                     message="the %s web server" % role)
        for path in hits.values():
            path.write_text("")   # forget the readiness probes
        yield port, hits["good"], hits["evil"]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


@pytest.fixture(scope="module")
def srv(tmp_path_factory, webs):
    port = webs[0]
    base = tmp_path_factory.mktemp("pinning")
    site = base / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    dns_log = base / "dns.log"
    server = GlanceServer(base, flavor="trusted-auth", workers=2, env={
        "PYTHONPATH": os.pathsep.join((str(site), str(REPO_ROOT))),
        "EVENTLET_NO_GREENDNS": "yes",
        "FAKE_DNS_GOOD": "127.0.0.1", "FAKE_DNS_EVIL": "127.0.0.2",
        "FAKE_DNS_LOG": str(dns_log)}, conf={
        "DEFAULT": {"enabled_import_methods": ["web-download"]},
        "import_filtering_opts": {"allowed_hosts": ["127.0.0.1"],
                                  "allowed_ports": [port]},
    })
    server.dns_log = dns_log
    server.start()
    yield server
    server.stop()


def lookups(server):
    """(name, who) of every lookup of a .test name glance-api made."""
    return [tuple(line.split()[1:]) for line in _lines(server.dns_log)]


def import_from(api, uri):
    img = api.create(disk_format="raw", container_format="bare")
    resp = api.post("/v2/images/%s/import" % img["id"],
                    json={"method": {"name": "web-download", "uri": uri}})
    return img["id"], resp


def wait_done(api, image_id):
    def done():
        tasks = api.get("/v2/images/%s/tasks" % image_id).json()["tasks"]
        if tasks and tasks[-1]["status"] in ("success", "failure"):
            return tasks[-1]
        return None
    task = wait_for(done, timeout=30, message="the import task")
    return api.image(image_id), task


def test_unresolvable_name_refused_at_the_api(srv, webs):
    """Fail closed: a name that does not resolve is refused at the
    import call, before any task. The fake resolver answered inside
    glance-api (its lookup is logged), so the tests below cannot pass
    because names simply failed to resolve."""
    api = Api(srv.url, new_project("nx"), MEMBER)
    image_id, resp = import_from(api, "http://unknown.test:%d/data"
                                 % webs[0])
    assert resp.status_code == 400, resp.text
    assert "does not pass filtering" in resp.text
    assert ("unknown.test", "filter") in lookups(srv)
    assert "host unknown.test does not resolve" in srv.log_text()
    assert api.image(image_id)["status"] == "queued"
    assert api.get("/v2/images/%s/tasks" % image_id).json()["tasks"] == []


@pytest.mark.parametrize("via_redirect", [False, True])
def test_download_connects_to_the_checked_address(srv, webs,
                                                  via_redirect):
    port, good_hits, evil_hits = webs
    api = Api(srv.url, new_project("pin"), MEMBER)
    target = "http://rebind.test:%d/data" % port
    uri = ("http://127.0.0.1:%d/redirect?to=%s" % (port, target)
           if via_redirect else target)
    before = len(lookups(srv))
    image_id, resp = import_from(api, uri)
    assert resp.status_code == 202, resp.text
    got, task = wait_done(api, image_id)
    assert task["status"] == "success", task["message"]
    assert got["status"] == "active"
    assert got["checksum"] == md5(GOOD_DATA)
    assert api.get("/v2/images/%s/file" % image_id).content == GOOD_DATA
    # the name was looked up, by the filter only, and the server at the
    # address another lookup would have given was never contacted
    made = lookups(srv)[before:]
    assert ("rebind.test", "filter") in made, made
    assert all(who == "filter" for _name, who in made), made
    assert _lines(evil_hits) == []
    # the good server was asked by name (the Host header), not address
    assert "/data Host=rebind.test:%d" % port in _lines(good_hits)
