"""Every entry point runs the one bootstrap, in a real process.

Each console script of setup.cfg is run as installed (the wrapper pip
wrote in the venv's bin directory), and the WSGI application is imported
as uwsgi/gunicorn import it, with a ``sitecustomize`` on PYTHONPATH that
imports nothing of glance (glance-api monkey-patches first) and, at exit,
writes what :data:`glance.common.bootstrap.STATE` says ran. The WSGI
process is also checked for eventlet: none of glance's modules imports
it and the process is not monkey-patched. Three libraries import eventlet
wherever it is installed: futurist (``futurist._utils``, reached through
glance_store's filesystem driver), oslo.service (its eventlet backend,
reached through ``oslo_messaging.server``) and oslo.utils
(``eventletutils``, a ``try_import``); the test names them, so a new
importer fails it.
"""
import configparser
import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests.functional.server import format_conf
from tests.functional.test_wsgi_hosts import WsgiHostServer

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
REPORT_ENV = "GLANCE_TEST_BOOTSTRAP_REPORT"
# the libraries known to import eventlet (see the module docstring)
EVENTLET_IMPORTERS = ("futurist", "oslo_service", "oslo_utils")

SITECUSTOMIZE = '''
import atexit, builtins, json, os, sys
_importers = set()
_import = builtins.__import__
def _recording_import(name, globals=None, *args, **kwargs):
    if name == "eventlet" or name.startswith("eventlet."):
        # a bare __import__("x") passes no globals: the caller's frame
        who = (globals or sys._getframe(1).f_globals).get("__name__", "?")
        if not who.startswith("eventlet"):
            _importers.add(who)
    return _import(name, globals, *args, **kwargs)
builtins.__import__ = _recording_import
def _report():
    boot = sys.modules.get("glance.common.bootstrap")
    patched = None
    if "eventlet.patcher" in sys.modules:
        patched = sys.modules["eventlet.patcher"].is_monkey_patched("socket")
    with open(os.environ["%s"], "w") as f:
        json.dump({"state": boot.STATE if boot else None,
                   "importers": sorted(_importers),
                   "patched": patched,
                   "glance": sorted(m for m in sys.modules
                                    if m.startswith("glance."))}, f)
atexit.register(_report)
''' % REPORT_ENV


def _console_scripts():
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    lines = parser["options.entry_points"]["console_scripts"].splitlines()
    return [line.split("=")[0].strip() for line in lines if line.strip()]


@pytest.fixture
def probe(tmp_path):
    """Run a command with the recording sitecustomize; its report."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    report = tmp_path / "report.json"

    def run(command, env=None):
        full_env = dict(os.environ, **(env or {}))
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(site), str(REPO), full_env.get("PYTHONPATH"))
            if p)
        full_env[REPORT_ENV] = str(report)
        proc = subprocess.run(command, env=full_env, capture_output=True,
                              text=True, timeout=120, cwd=str(tmp_path),
                              stdin=subprocess.DEVNULL)
        assert report.exists(), proc.stdout + proc.stderr
        return json.loads(report.read_text()), proc
    return run


def _conf(tmp_path, **defaults):
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    conf = {"DEFAULT": dict({"state_path": str(state),
                             "log_file": str(tmp_path / "glance.log")},
                            **defaults),
            "database": {"connection": "sqlite:///%s"
                         % (state / "glance.sqlite")}}
    path = tmp_path / "glance.conf"
    path.write_text(format_conf(conf))
    return str(path)


def _arguments(script, tmp_path):
    """Arguments that make ``script`` bootstrap, then stop soon."""
    if script == "glance-cache-manage":
        return ["--help"]
    if script == "glance-manage":
        return ["--config-file", _conf(tmp_path), "db", "version"]
    if script == "glance-api":
        # boots, then fails to load a paste flavor that does not exist
        conf = _conf(tmp_path, workers=0, bind_host="127.0.0.1",
                     bind_port=0)
        with open(conf, "a") as f:
            f.write("[paste_deploy]\nflavor = no-such-flavor\n")
        return ["--config-file", conf]
    return ["--config-file", _conf(tmp_path)]


@pytest.mark.parametrize("script", _console_scripts())
def test_every_console_script_runs_the_bootstrap(script, probe, tmp_path):
    report, proc = probe([str(BIN / script), *_arguments(script, tmp_path)])
    state = report["state"]
    assert state is not None, proc.stdout + proc.stderr
    assert state["prog"] == script
    assert state["steps"][:3] == ["config", "threadpool",
                                  "library-patches"]
    if script == "glance-api":
        assert state["thread_model"] == "eventlet"
        assert "eventlet-hub" in state["steps"]
        assert "stores" in state["steps"]       # handed to the server
        assert report["patched"] is True
    else:
        assert state["thread_model"] == "native"
        assert report["patched"] in (None, False)


def test_the_wsgi_application_bootstraps_without_eventlet(probe, tmp_path):
    host = WsgiHostServer(tmp_path / "host", "gunicorn")
    report, proc = probe(
        [sys.executable, "-c", "import glance.wsgi.api"],
        env={"OS_GLANCE_CONFIG_DIR": str(host.etc_dir)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    state = report["state"]
    assert (state["prog"], state["thread_model"]) == ("glance-api",
                                                      "native")
    assert state["steps"] == ["config", "threadpool", "library-patches",
                              "stores"]
    # nothing of glance imports eventlet; the server's modules stay out
    ours = [m for m in report["importers"] if m.startswith("glance")]
    assert ours == []
    assert not {"glance.common.server", "glance.common.arbiter",
                "glance.common.worker", "glance.common.sockets",
                "glance.common.connections", "glance.common.pipes"} & \
        set(report["glance"])
    others = {m.split(".")[0] for m in report["importers"]}
    assert others <= set(EVENTLET_IMPORTERS), others
    assert report["patched"] in (None, False)
