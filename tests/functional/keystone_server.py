"""A real Keystone for functional tests, installed and run the way the
Tempest job runs it (``tools/tempest/``), reusing its files.

``keystone_venv()`` returns the Keystone virtualenv the Tempest job uses
(``$GLANCE_TEMPEST_CACHE/ks-$KEYSTONE_VERSION``, by default
``~/.cache/glance-tempest/ks-30.0.0``), running ``tools/tempest/setup.sh``
once when it is missing (an install of a few minutes, then cached and
shared with the Tempest job). :class:`KeystoneServer` makes a state
directory from ``tools/tempest/templates/keystone.conf.in`` (SQLite,
fernet tokens), runs ``keystone-manage db_sync``, the key setups and
``bootstrap`` (user ``admin``, project ``admin``, role ``admin``, region
``RegionOne``), serves ``tools/tempest/lib/keystone_wsgi.py`` with
gunicorn on a free 127.0.0.1 port, and runs
``tools/tempest/lib/ks_setup.py`` (roles member/reader/service, project
``service`` with user ``glance``, the ``image`` service at the glance-api
URL given). Then it speaks Keystone's v3 API with ``requests``:
:meth:`KeystoneServer.admin` (a system-scoped admin token),
:meth:`KeystoneServer.token` (any user's), and a few helpers for projects,
users, role assignments and limits.

``stop()`` ends only the gunicorn it started (its own process group).
"""
import fcntl
import grp
import os
import pathlib
import pwd
import secrets
import signal
import subprocess
import time

import requests

from tests.functional.server import REPO_ROOT, free_port

TEMPEST_TOOLS = REPO_ROOT / "tools" / "tempest"
VERSION = os.environ.get("KEYSTONE_VERSION", "30.0.0")
CACHE = pathlib.Path(os.environ.get(
    "GLANCE_TEMPEST_CACHE", pathlib.Path.home() / ".cache/glance-tempest"))
INSTALL_TIMEOUT = 1800
REGION = "RegionOne"


class KeystoneUnavailable(RuntimeError):
    """Keystone could not be installed or started here."""


def venv_path():
    return CACHE / ("ks-" + VERSION)


def _ready(venv):
    return (venv / ".ok").exists() and subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import keystone, gunicorn, keystoneclient"],
        capture_output=True).returncode == 0


def keystone_venv():
    """The Tempest job's Keystone virtualenv, installed once by
    ``tools/tempest/setup.sh``; KeystoneUnavailable if that fails."""
    venv = venv_path()
    if _ready(venv):
        return venv
    CACHE.mkdir(parents=True, exist_ok=True)
    # one install at a time (pytest-xdist workers, a Tempest job)
    with open(CACHE / ".keystone-test-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _ready(venv):
            env = dict(os.environ, KEYSTONE_VERSION=VERSION,
                       GLANCE_TEMPEST_CACHE=str(CACHE))
            try:
                done = subprocess.run(
                    ["bash", str(TEMPEST_TOOLS / "setup.sh")], env=env,
                    capture_output=True, text=True,
                    timeout=INSTALL_TIMEOUT)
                output = (done.stdout + done.stderr)[-2000:]
            except subprocess.TimeoutExpired:
                output = "timed out after %ss" % INSTALL_TIMEOUT
            if not _ready(venv):
                raise KeystoneUnavailable(
                    "Keystone %s could not be installed into %s by "
                    "tools/tempest/setup.sh:\n%s" % (VERSION, venv, output))
    return venv


class KeystoneServer:
    """One Keystone (gunicorn, one worker) with its own state."""

    def __init__(self, base_dir, venv=None):
        self.venv = pathlib.Path(venv or keystone_venv())
        self.dir = pathlib.Path(base_dir)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.admin_password = "admin-" + secrets.token_hex(8)
        self.service_password = "glance-" + secrets.token_hex(8)
        self.conf_file = self.dir / "keystone.conf"
        self.log_file = self.dir / "gunicorn.log"
        self.process = None
        self._admin_token = None

    # --- life cycle ---

    def start(self, image_url, timeout=120):
        """Bootstrap, serve, and register the image service at
        ``image_url`` (ks_setup.py); returns self once it answers."""
        for sub in ("fernet-keys", "credential-keys"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        template = (TEMPEST_TOOLS / "templates" / "keystone.conf.in")
        self.conf_file.write_text(
            template.read_text().replace("@S@", str(self.dir)))
        self._bootstrap()
        self._serve(timeout)
        self._run(str(self.venv / "bin" / "python"),
                  str(TEMPEST_TOOLS / "lib" / "ks_setup.py"), self.url,
                  self.admin_password, self.service_password, image_url,
                  image_url)
        return self

    def _run(self, *command):
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=600, env=self._env())
        if done.returncode:
            raise KeystoneUnavailable("%s failed (%d):\n%s" % (
                " ".join(command[:3]), done.returncode,
                (done.stdout + done.stderr)[-3000:]))
        return done.stdout

    def _env(self):
        return dict(os.environ, OS_KEYSTONE_CONFIG_FILES=str(self.conf_file))

    def _bootstrap(self):
        manage = [str(self.venv / "bin" / "keystone-manage"),
                  "--config-file", str(self.conf_file)]
        owner = ["--keystone-user", pwd.getpwuid(os.getuid()).pw_name,
                 "--keystone-group", grp.getgrgid(os.getgid()).gr_name]
        self._run(*manage, "db_sync")
        self._run(*manage, "fernet_setup", *owner)
        self._run(*manage, "credential_setup", *owner)
        v3 = self.url + "/v3"
        self._run(*manage, "bootstrap",
                  "--bootstrap-password", self.admin_password,
                  "--bootstrap-username", "admin",
                  "--bootstrap-project-name", "admin",
                  "--bootstrap-role-name", "admin",
                  "--bootstrap-service-name", "keystone",
                  "--bootstrap-region-id", REGION,
                  "--bootstrap-admin-url", v3,
                  "--bootstrap-internal-url", v3,
                  "--bootstrap-public-url", v3)

    def _serve(self, timeout):
        with open(self.log_file, "ab") as log:
            # one worker: Keystone's SQLite says "database is locked"
            # under two (as tools/tempest/run.sh notes)
            self.process = subprocess.Popen(
                [str(self.venv / "bin" / "gunicorn"),
                 "--bind", "127.0.0.1:%d" % self.port, "--workers", "1",
                 "--timeout", "120", "--graceful-timeout", "5",
                 "--pythonpath", str(TEMPEST_TOOLS / "lib"),
                 "keystone_wsgi:application"],
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=self._env(),
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None or \
                    time.monotonic() > deadline:
                self.stop()
                raise KeystoneUnavailable(
                    "Keystone did not answer at %s/v3:\n%s"
                    % (self.url, self.log_file.read_text()[-3000:]))
            time.sleep(0.2)

    def _answers(self):
        try:
            return requests.get(self.url + "/v3", timeout=2).ok
        except requests.RequestException:
            return False

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None

    # --- the v3 API ---

    def token(self, user, password, project=None, system=False,
              project_domain="default"):
        """A token for ``user`` (id or name in domain default) scoped to
        ``project`` (a name) or to the system."""
        ident = {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"},
            "password": password}}}
        auth = {"identity": ident}
        if system:
            auth["scope"] = {"system": {"all": True}}
        elif project:
            auth["scope"] = {"project": {"name": project, "domain": {
                "id": project_domain}}}
        resp = requests.post(self.url + "/v3/auth/tokens",
                             json={"auth": auth}, timeout=60)
        assert resp.status_code == 201, resp.text
        return resp.headers["X-Subject-Token"]

    def admin(self, method, path, expect=None, **kwargs):
        """``method path`` with a system-scoped admin token; the JSON."""
        if self._admin_token is None:
            self._admin_token = self.token("admin", self.admin_password,
                                           system=True)
        resp = requests.request(method, self.url + "/v3" + path,
                                headers={"X-Auth-Token": self._admin_token},
                                timeout=60, **kwargs)
        assert resp.status_code == (expect or resp.status_code) and \
            resp.ok, "%s %s: %s %s" % (method, path, resp.status_code,
                                       resp.text)
        return resp.json() if resp.content else None

    def find(self, collection, **query):
        """The one ``collection`` item matching ``query``."""
        items = self.admin("GET", "/" + collection, params=query)[collection]
        assert len(items) == 1, (collection, query, items)
        return items[0]

    def role_id(self, name):
        return self.find("roles", name=name)["id"]

    def create_project(self, name):
        return self.admin("POST", "/projects", json={"project": {
            "name": name, "domain_id": "default"}})["project"]

    def create_user(self, name, password, project, roles=("member",
                                                          "reader")):
        """A user with ``roles`` on ``project`` (a project dict)."""
        user = self.admin("POST", "/users", json={"user": {
            "name": name, "password": password, "domain_id": "default",
            "default_project_id": project["id"]}})["user"]
        for role in roles:
            self.admin("PUT", "/projects/%s/users/%s/roles/%s" % (
                project["id"], user["id"], self.role_id(role)))
        return user

    def grant_system_role(self, user_name, role):
        user = self.find("users", name=user_name)
        self.admin("PUT", "/system/users/%s/roles/%s" % (
            user["id"], self.role_id(role)))

    def service_id(self, service_type):
        return self.find("services", type=service_type)["id"]

    def endpoint_id(self, service_type, interface="public"):
        return self.find("endpoints", service_id=self.service_id(
            service_type), interface=interface, region_id=REGION)["id"]

    def register_limits(self, service_type, limits):
        """Registered (default) limits ``{resource: limit}``; their ids."""
        service = self.service_id(service_type)
        made = self.admin("POST", "/registered_limits", json={
            "registered_limits": [
                {"service_id": service, "region_id": REGION,
                 "resource_name": name, "default_limit": value}
                for name, value in limits.items()]})["registered_limits"]
        return {item["resource_name"]: item["id"] for item in made}

    def set_project_limit(self, service_type, project_id, resource, value):
        """A project's own limit for ``resource``; its id."""
        return self.admin("POST", "/limits", json={"limits": [{
            "service_id": self.service_id(service_type),
            "region_id": REGION, "project_id": project_id,
            "resource_name": resource,
            "resource_limit": value}]})["limits"][0]["id"]

    def update_project_limit(self, limit_id, value):
        self.admin("PATCH", "/limits/%s" % limit_id,
                   json={"limit": {"resource_limit": value}})
