"""glance-cache-manage logging in to Keystone (v3 password), end to end.

A fake Keystone v3 runs in a thread: it issues tokens (``POST
/v3/auth/tokens``), answers version discovery and validates tokens (``GET
/v3/auth/tokens``) for keystonemiddleware, so the real glance-api runs the
``keystone+cachemanagement`` flavor and only a token the fake issued gets
through. The real console script runs as a subprocess.
"""
import datetime
import http.server
import json
import os
import pathlib
import subprocess
import sys
import threading
import uuid

import pytest

from tests.functional.server import GlanceServer, free_port

BIN = pathlib.Path(sys.executable).parent
SERVICE_USER, SERVICE_PASSWORD = "glance", "glance-secret"
ADMIN_USER, ADMIN_PASSWORD, ADMIN_PROJECT = "admin", "s3cret", "demo"


class FakeKeystone(http.server.ThreadingHTTPServer):
    """Just enough Keystone v3 for keystoneauth1 and keystonemiddleware."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _KeystoneHandler)
        self.url = "http://127.0.0.1:%d" % self.server_address[1]
        self.users = {SERVICE_USER: (SERVICE_PASSWORD, "service"),
                      ADMIN_USER: (ADMIN_PASSWORD, ADMIN_PROJECT)}
        self.logins = []      # the "identity" part of each POST
        self.issued = {}      # token -> its body
        self.validated = []   # X-Subject-Token of each validation GET
        self.lock = threading.Lock()

    def issue(self, user, project):
        now = datetime.datetime.now(datetime.timezone.utc)
        stamp = "%Y-%m-%dT%H:%M:%S.000000Z"
        domain = {"id": "default", "name": "Default"}
        endpoints = [{"id": uuid.uuid4().hex, "interface": iface,
                      "region": "RegionOne", "region_id": "RegionOne",
                      "url": self.url + "/v3"}
                     for iface in ("public", "internal", "admin")]
        body = {"token": {
            "methods": ["password"],
            "issued_at": now.strftime(stamp),
            "expires_at": (now + datetime.timedelta(hours=1)).strftime(stamp),
            "user": {"id": user + "-id", "name": user, "domain": domain},
            "project": {"id": project + "-id", "name": project,
                        "domain": domain},
            "roles": [{"id": "admin-id", "name": "admin"}],
            "catalog": [{"id": "ks", "type": "identity", "name": "keystone",
                         "endpoints": endpoints}]}}
        token = uuid.uuid4().hex
        with self.lock:
            self.issued[token] = body
        return token, body

    def tokens_of(self, user):
        return [t for t, body in self.issued.items()
                if body["token"]["user"]["name"] == user]


class _KeystoneHandler(http.server.BaseHTTPRequestHandler):
    server: FakeKeystone

    def log_message(self, *args):
        pass

    def _send(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _version(self):
        return {"id": "v3.14", "status": "stable",
                "updated": "2020-04-07T00:00:00Z",
                "links": [{"rel": "self", "href": self.server.url + "/v3/"}],
                "media-types": [{"base": "application/json",
                                 "type": "application/"
                                         "vnd.openstack.identity-v3+json"}]}

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        if path == "":
            self._send(300, {"versions": {"values": [self._version()]}})
        elif path == "/v3":
            self._send(200, {"version": self._version()})
        elif path == "/v3/auth/tokens":
            ks = self.server
            subject = self.headers.get("X-Subject-Token")
            with ks.lock:
                ks.validated.append(subject)
            if self.headers.get("X-Auth-Token") not in ks.issued:
                self._send(401, _error(401, "caller not authenticated"))
            elif subject not in ks.issued:
                self._send(404, _error(404, "token not found"))
            else:
                self._send(200, ks.issued[subject])
        else:
            self._send(404, _error(404, "no such path"))

    def do_POST(self):
        if self.path.split("?")[0] != "/v3/auth/tokens":
            self._send(404, _error(404, "no such path"))
            return
        ks = self.server
        body = json.loads(self.rfile.read(
            int(self.headers.get("Content-Length", 0))))
        identity = body["auth"]["identity"]
        with ks.lock:
            ks.logins.append(body["auth"])
        user = identity["password"]["user"]
        known = ks.users.get(user.get("name"))
        if known is None or known[0] != user.get("password"):
            self._send(401, _error(401, "The request you have made "
                                        "requires authentication."))
            return
        scope = body["auth"].get("scope", {}).get("project", {})
        token, answer = ks.issue(user["name"], scope.get("name", known[1]))
        self._send(201, answer, [("X-Subject-Token", token)])


def _error(code, message):
    return {"error": {"code": code, "message": message,
                      "title": "Unauthorized" if code == 401 else "Error"}}


@pytest.fixture(scope="module")
def keystone():
    ks = FakeKeystone()
    thread = threading.Thread(target=ks.serve_forever, daemon=True)
    thread.start()
    yield ks
    ks.shutdown()
    ks.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def glance_api(tmp_path_factory, keystone):
    authtoken = {"auth_type": "password",
                 "auth_url": keystone.url + "/v3",
                 "www_authenticate_uri": keystone.url,
                 "username": SERVICE_USER, "password": SERVICE_PASSWORD,
                 "project_name": "service",
                 "user_domain_name": "Default",
                 "project_domain_name": "Default"}
    srv = GlanceServer(tmp_path_factory.mktemp("cache-keystone"),
                       flavor="keystone+cachemanagement", workers=1,
                       conf={"keystone_authtoken": authtoken})
    srv.start()
    yield srv
    srv.stop()


def manage(srv, *args, **env):
    """Run the real glance-cache-manage with only the given OS_* vars."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    clean.update(env)
    return subprocess.run(
        [str(BIN / "glance-cache-manage"), "--host", "127.0.0.1",
         "--port", str(srv.port), *args],
        env=clean, capture_output=True, text=True, timeout=60)


def login_env(keystone, password=ADMIN_PASSWORD, **extra):
    return dict({"OS_AUTH_URL": keystone.url + "/v3",
                 "OS_USERNAME": ADMIN_USER, "OS_PASSWORD": password,
                 "OS_PROJECT_NAME": ADMIN_PROJECT,
                 "OS_AUTH_STRATEGY": "keystone"}, **extra)


def assert_one_line_error(result, *words):
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("glance-cache-manage: ")
    for word in words:
        assert word in result.stderr, result.stderr


def test_without_token_glance_api_refuses(glance_api):
    r = manage(glance_api, "list-cached")
    assert_one_line_error(r, "refused", "401")


def admin_logins(keystone, before):
    """The tool's logins since ``before`` (glance-api's keystonemiddleware
    logs in as its own service user at any time)."""
    return [a for a in keystone.logins[before:]
            if a["identity"]["password"]["user"]["name"] == ADMIN_USER]


def test_login_sends_the_issued_token(glance_api, keystone):
    before = len(keystone.logins)
    r = manage(glance_api, "list-cached", **login_env(keystone))
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert "No cached images" in r.stdout
    logins = admin_logins(keystone, before)
    assert len(logins) == 1
    assert logins[0]["identity"]["methods"] == ["password"]
    assert logins[0]["identity"]["password"]["user"] == {
        "name": ADMIN_USER, "password": ADMIN_PASSWORD,
        "domain": {"name": "Default"}}
    assert logins[0]["scope"] == {"project": {
        "name": ADMIN_PROJECT, "domain": {"name": "Default"}}}
    # glance-api's keystonemiddleware validated exactly the token issued
    (token,) = keystone.tokens_of(ADMIN_USER)
    assert token in keystone.validated


def test_unversioned_url_tenant_name_and_domains(glance_api, keystone):
    env = login_env(keystone, OS_AUTH_URL=keystone.url + "/",
                    OS_USER_DOMAIN_NAME="Users", OS_PROJECT_DOMAIN_NAME="Ops",
                    OS_TENANT_NAME="legacy")
    del env["OS_PROJECT_NAME"], env["OS_AUTH_STRATEGY"]  # inferred
    before = len(keystone.logins)
    r = manage(glance_api, "list-queued", **env)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert "No queued images" in r.stdout
    (auth,) = admin_logins(keystone, before)
    assert auth["identity"]["password"]["user"]["domain"] == {"name": "Users"}
    assert auth["scope"]["project"] == {"name": "legacy",
                                        "domain": {"name": "Ops"}}


def test_command_line_credentials(glance_api, keystone):
    before = len(keystone.logins)
    r = manage(glance_api, "--os-auth-url", keystone.url + "/v3",
               "--os-username", ADMIN_USER, "--os-password", ADMIN_PASSWORD,
               "--os-project-name", ADMIN_PROJECT, "list-cached")
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    (auth,) = admin_logins(keystone, before)


def test_given_token_skips_login(glance_api, keystone):
    token, _body = keystone.issue(ADMIN_USER, ADMIN_PROJECT)
    before = len(keystone.logins)
    r = manage(glance_api, "list-cached",
               **login_env(keystone, password="wrong", OS_AUTH_TOKEN=token))
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert admin_logins(keystone, before) == []
    assert token in keystone.validated


def test_wrong_password(glance_api, keystone):
    before = len(keystone.validated)
    r = manage(glance_api, "list-cached",
               **login_env(keystone, password="wrong"))
    assert_one_line_error(r, "authentication failed", ADMIN_USER, "401")
    assert r.stdout == ""
    assert "wrong" not in r.stderr
    assert keystone.validated[before:] == []  # glance-api never asked


def test_keystone_unreachable(glance_api, keystone):
    env = login_env(keystone, OS_AUTH_URL="http://127.0.0.1:%d/v3"
                    % free_port())
    r = manage(glance_api, "list-cached", **env)
    assert_one_line_error(r, "cannot reach keystone", "Connection refused")


def test_missing_credentials(glance_api):
    r = manage(glance_api, "list-cached", OS_AUTH_STRATEGY="keystone",
               OS_USERNAME=ADMIN_USER)
    assert_one_line_error(r, "keystone authentication needs",
                          "OS_AUTH_URL", "OS_PASSWORD")
