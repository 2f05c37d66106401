"""The two servers under comparison, configured alike.

Both read the same options (SQLite database, two file stores ``fast``
and ``cheap``, staging and tasks stores, the image cache, the three import
methods) and the same paste file: Glance 33's own
``glance-api-paste.ini`` plus one flavor, ``trustedcache``, whose pipeline
is Glance's ``keystone+cachemanagement`` one without ``authtoken``. Its
``ContextMiddleware`` then trusts the identity headers keystonemiddleware
would set (``X-Identity-Status: Confirmed``, ``X-Project-Id``,
``X-User-Id``, ``X-Roles``), as the conformance suite's servers do.

:class:`GlanceOracle` serves Glance's ``glance.wsgi.api:application``
under uWSGI; :class:`OurServer` runs ``python -m glance.cmd.api``.
"""
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

import requests


HERE = pathlib.Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
FLAVOR = "trustedcache"
PIPELINE = ("cors http_proxy_to_wsgi versionnegotiation osprofiler context "
            "cache cachemanage rootapp")
START_TIMEOUT = 60


class ServerError(RuntimeError):
    """A server did not start as expected."""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def trusted_paste(glance_paste_text):
    """Glance's paste file with the ``trustedcache`` flavor added."""
    marker = "paste.composite_factory = glance.api:pipeline_factory\n"
    if marker not in glance_paste_text:
        raise ServerError("unexpected Glance paste file: no pipeline_factory")
    text = glance_paste_text.replace(
        marker, marker + "%s = %s\n" % (FLAVOR, PIPELINE), 1)
    return text + ("\n[composite:glance-api-%s]\n"
                   "paste.composite_factory = glance.api:root_app_factory\n"
                   "/: api\n/healthcheck: healthcheck\n" % FLAVOR)


def service_conf(state, paste, url, overrides=None):
    """{group: {option: value}} for one side, its state under ``state``."""
    state = pathlib.Path(state)
    conf = {
        "DEFAULT": {
            "debug": "false",
            "log_file": str(state / "api.log"),
            "image_cache_dir": str(state / "cache"),
            "image_cache_driver": "sqlite",
            "enabled_import_methods":
                "[glance-direct,web-download,copy-image]",
            "node_staging_uri": "file://%s" % (state / "staging"),
            "enabled_backends": "fast:file,cheap:file",
            "worker_self_reference_url": url,
            "image_member_quota": 5,
            "image_tag_quota": 5,
            "image_property_quota": 20,
        },
        "database": {"connection": "sqlite:///%s" % (state / "glance.sqlite")},
        "paste_deploy": {"flavor": FLAVOR, "config_file": str(paste)},
        "glance_store": {"default_backend": "fast"},
        "fast": {"filesystem_store_datadir": str(state / "fast"),
                 "store_description": "Fast store"},
        "cheap": {"filesystem_store_datadir": str(state / "cheap"),
                  "store_description": "Cheap store"},
        "os_glance_staging_store": {
            "filesystem_store_datadir": str(state / "staging")},
        "os_glance_tasks_store": {
            "filesystem_store_datadir": str(state / "tasks")},
        "oslo_policy": {"enforce_new_defaults": "true",
                        "enforce_scope": "false"},
    }
    for group, options in (overrides or {}).items():
        conf.setdefault(group, {}).update(options)
    for sub in ("cache", "staging", "fast", "cheap", "tasks"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    return conf


def format_conf(conf):
    lines = []
    for group, options in conf.items():
        lines.append("[%s]" % group)
        lines.extend("%s = %s" % kv for kv in options.items()
                     if kv[1] is not None)
        lines.append("")
    return "\n".join(lines)


class _Server:
    """A process serving the API on 127.0.0.1, with its own directory."""

    name = "server"

    def __init__(self, base_dir, paste_text, overrides=None):
        self.base_dir = pathlib.Path(base_dir)
        self.state = self.base_dir / "state"
        self.etc = self.base_dir / "etc"
        self.etc.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.paste = self.etc / "glance-api-paste.ini"
        self.paste.write_text(paste_text)
        # what Glance ships as etc/schema-image.json; both find it beside
        # their configuration file
        shutil.copy(HERE / "schema-image.json", self.etc)
        self.conf = service_conf(self.state, self.paste, self.url, overrides)
        self.conf_file = self.etc / "glance-api.conf"
        self.output = self.base_dir / "output.log"
        self.process = None

    def write_conf(self):
        self.conf_file.write_text(format_conf(self.conf))

    def start(self):
        self.write_conf()
        self.prepare()
        command, env = self.command()
        with open(self.output, "ab") as out:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, env=env, cwd=str(self.base_dir),
                start_new_session=True)
        self.wait_until_ready()
        return self

    def prepare(self):
        """Anything to do before the server starts."""

    def wait_until_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise ServerError("%s exited %s before answering:\n%s"
                                  % (self.name, self.process.returncode,
                                     self.tail()))
            try:
                if requests.get(self.url + "/versions",
                                timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise ServerError("%s did not answer in %ss:\n%s"
                                  % (self.name, START_TIMEOUT, self.tail()))
            time.sleep(0.2)

    def stop(self):
        """SIGTERM the process group we started, then SIGKILL it."""
        if self.process is None or self.process.poll() is not None:
            return
        pgid = self.process.pid    # start_new_session: its own group
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def tail(self, lines=30):
        parts = []
        for path in (self.output, self.state / "api.log"):
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            parts.append("--- %s\n%s" % (path, "\n".join(
                text.splitlines()[-lines:])))
        return "\n".join(parts)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class GlanceOracle(_Server):
    """Glance 33 under uWSGI, from the oracle virtualenv."""

    name = "glance"

    def __init__(self, base_dir, venv, uwsgi, paste_text, overrides=None):
        super().__init__(base_dir, paste_text, overrides)
        self.venv = pathlib.Path(venv)
        self.uwsgi = uwsgi

    def _env(self):
        env = dict(os.environ, PYTHONWARNINGS="ignore",
                   OS_GLANCE_CONFIG_DIR=str(self.etc))
        for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
            env.pop(name, None)    # ours must not leak into Glance's
        return env

    def prepare(self):
        done = subprocess.run(
            [str(self.venv / "bin" / "glance-manage"), "--config-file",
             str(self.conf_file), "db", "sync"], capture_output=True,
            text=True, env=self._env(), cwd=str(self.base_dir), timeout=300)
        if done.returncode != 0:
            raise ServerError("glance-manage db sync failed:\n%s"
                              % done.stderr[-3000:])

    def command(self):
        command = [
            str(self.uwsgi), "--home", str(self.venv),
            "--http-socket", "127.0.0.1:%d" % self.port,
            "--module", "glance.wsgi.api:application",
            "--master", "--processes", "1", "--threads", "4",
            "--enable-threads", "--lazy-apps", "--die-on-term",
            "--http-chunked-input", "--http-auto-chunked",
            "--buffer-size", "65535", "--need-app", "--disable-logging",
            "--chdir", str(self.base_dir)]
        return command, self._env()


class OurServer(_Server):
    """Our ``glance-api`` daemon (``python -m glance.cmd.api``)."""

    name = "ours"

    def __init__(self, base_dir, paste_text, overrides=None, python=None):
        super().__init__(base_dir, paste_text, overrides)
        self.python = python or sys.executable
        self.conf["DEFAULT"].update(bind_host="127.0.0.1",
                                    bind_port=self.port, workers=1)

    def command(self):
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
        return [str(self.python), "-m", "glance.cmd.api", "--config-file",
                str(self.conf_file)], env
