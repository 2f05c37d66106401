"""Real OpenStack Glance 33, in a virtualenv of its own, as a test oracle.

It only makes databases the Glance way (its ``glance-manage``) and writes
rows through its own database API (``glance_oracle_rows.py``); it is never
imported by, nor installed into, our environment.

The virtualenv is built once per machine under
``$GLANCE_ORACLE_DIR`` (default ``~/.cache/glance-tests``) and reused;
building it holds an exclusive file lock, so that the two workers of
``pytest -n 2`` wanting it at once build it once. A virtualenv is only used
once its ``.complete`` marker exists.
"""
import contextlib
import fcntl
import json
import os
import pathlib
import shutil
import subprocess
import sys

GLANCE_VERSION = "33.0.0"
PACKAGES = ("glance==%s" % GLANCE_VERSION, "PyMySQL", "psycopg2-binary")
HERE = pathlib.Path(__file__).resolve().parent
INSTALL_TIMEOUT = 900
QUIET = {"PYTHONWARNINGS": "ignore"}


class OracleUnavailable(RuntimeError):
    """The Glance virtualenv could not be built (e.g. no package index)."""


def base_dir():
    default = pathlib.Path.home() / ".cache" / "glance-tests"
    return pathlib.Path(os.environ.get("GLANCE_ORACLE_DIR") or default)


@contextlib.contextmanager
def _locked(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_venv():
    """The path of the Glance virtualenv, built if need be."""
    venv = base_dir() / ("glance-%s-venv" % GLANCE_VERSION)
    marker = venv / ".complete"
    if marker.exists():
        return venv
    with _locked(base_dir() / ("glance-%s.lock" % GLANCE_VERSION)):
        if not marker.exists():
            _build(venv)
            marker.write_text(GLANCE_VERSION + "\n")
    return venv


def _build(venv):
    shutil.rmtree(venv, ignore_errors=True)
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
              "--disable-pip-version-check", *PACKAGES]]
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=INSTALL_TIMEOUT)
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise OracleUnavailable("%s failed:\n%s" % (
                " ".join(command[:4]), (done.stdout + done.stderr)[-2000:]))


class Glance:
    """Glance 33's tools, run against one database."""

    def __init__(self, venv, url, work_dir):
        self.venv = pathlib.Path(venv)
        self.url = url
        self.conf_file = pathlib.Path(work_dir) / "glance33.conf"
        self.conf_file.write_text("[database]\nconnection = %s\n" % url)

    def _run(self, *command, check=True):
        env = dict(os.environ, **QUIET)
        env.pop("PYTHONPATH", None)   # ours must not leak into Glance's
        done = subprocess.run(command, capture_output=True, text=True,
                              env=env, timeout=300, cwd=str(self.venv))
        if check and done.returncode != 0:
            raise AssertionError("%s exited %d:\n%s" % (
                command[:3], done.returncode, done.stderr[-3000:]))
        return done

    def manage(self, *args, check=True):
        """``glance-manage --config-file ... ARGS``: the CompletedProcess."""
        return self._run(str(self.venv / "bin" / "glance-manage"),
                         "--config-file", str(self.conf_file), *args,
                         check=check)

    def write_rows(self, store_dir):
        """Images, members, tags, locations, a task and a deleted image,
        written by Glance's database API; what was written (a dict)."""
        done = self._run(str(self.venv / "bin" / "python"),
                         str(HERE / "glance_oracle_rows.py"), self.url,
                         str(store_dir))
        return json.loads(done.stdout.strip().splitlines()[-1])
