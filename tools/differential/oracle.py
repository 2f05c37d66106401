"""The oracle: real Glance 33 in a virtualenv of its own, and a uWSGI.

Glance is never a dependency of our package: it lives in its own
virtualenv, found in this order:

1. ``venv`` given by the caller (``--venv``), or ``$GLANCE_DIFFERENTIAL_VENV``;
   used as it is (for development, e.g. ``/tmp/glance33-venv``);
2. ``$GLANCE_DIFFERENTIAL_CACHE/glance33`` (default
   ``~/.cache/glance-differential/glance33``), built there on first use with
   ``python3 -m venv DIR && DIR/bin/pip install glance==33.0.0 uwsgi ...``
   (with the database drivers, for the adoption tests'
   ``tests/functional/glance_oracle.py``, the one other user).

Building holds an exclusive file lock, so two pytest-xdist workers wanting
it at once build it once; a virtualenv counts only once its ``.complete``
marker exists.

Glance 33 has no standalone server any more (its ``glance-api`` says so
and exits): it is served by uWSGI from ``glance.wsgi.api:application``.
The uWSGI binary is the oracle virtualenv's own, else one next to the
running Python (ours, for the same interpreter version), else one built
into the cache; ``--home`` points it at the oracle virtualenv.
"""
import contextlib
import fcntl
import os
import pathlib
import shutil
import subprocess
import sys

GLANCE_VERSION = "33.0.0"
PACKAGES = ("glance==%s" % GLANCE_VERSION, "uwsgi", "PyMySQL",
            "psycopg2-binary")
# what the .complete marker records: a venv built with fewer packages is
# rebuilt
MARKER = " ".join(PACKAGES) + "\n"
INSTALL_TIMEOUT = 1200


class OracleUnavailable(RuntimeError):
    """The Glance virtualenv could not be found or built."""


def cache_dir():
    default = pathlib.Path.home() / ".cache" / "glance-differential"
    return pathlib.Path(os.environ.get("GLANCE_DIFFERENTIAL_CACHE")
                        or default)


@contextlib.contextmanager
def _locked(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_venv(venv=None, log=None):
    """The path of a virtualenv with Glance 33 in it, built if need be."""
    venv = venv or os.environ.get("GLANCE_DIFFERENTIAL_VENV")
    if venv:
        venv = pathlib.Path(venv)
        if not _has_glance(venv):
            raise OracleUnavailable("%s has no glance in it" % venv)
        return venv
    venv = cache_dir() / "glance33"
    marker = venv / ".complete"
    if _complete(marker):
        return venv
    with _locked(cache_dir() / "glance33.lock"):
        if not _complete(marker):
            if log:
                log("building the Glance %s virtualenv in %s (once)"
                    % (GLANCE_VERSION, venv))
            _build(venv, PACKAGES)
            marker.write_text(MARKER)
    return venv


def _complete(marker):
    return marker.exists() and marker.read_text() == MARKER


def _has_glance(venv):
    return any((venv / "lib").glob("python3*/site-packages/glance/wsgi"))


def _python():
    """A base interpreter (not a virtualenv's) to make virtualenvs with."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return base if os.path.exists(base) else sys.executable


def _build(venv, packages, python=None):
    shutil.rmtree(venv, ignore_errors=True)
    steps = [[str(python or _python()), "-m", "venv", str(venv)],
             [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
              "--disable-pip-version-check", *packages]]
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=INSTALL_TIMEOUT)
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise OracleUnavailable("%s failed:\n%s" % (
                " ".join(command[:5]), (done.stdout + done.stderr)[-2000:]))


def _python_version(python):
    done = subprocess.run(
        [str(python), "-c",
         "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


def find_uwsgi(venv, log=None):
    """A uWSGI binary whose Python is the oracle's Python version."""
    own = pathlib.Path(venv) / "bin" / "uwsgi"
    if own.exists():
        return own
    wanted = _python_version(pathlib.Path(venv) / "bin" / "python")
    beside = pathlib.Path(sys.executable).parent / "uwsgi"
    if beside.exists() and wanted == "%d.%d" % sys.version_info[:2]:
        return beside
    tool_venv = cache_dir() / ("uwsgi-py%s" % wanted)
    binary = tool_venv / "bin" / "uwsgi"
    with _locked(cache_dir() / "uwsgi.lock"):
        if not (tool_venv / ".complete").exists():
            if log:
                log("building uWSGI in %s (once)" % tool_venv)
            _build(tool_venv, ("uwsgi",),
                   python=pathlib.Path(venv) / "bin" / "python")
            if not binary.exists():
                raise OracleUnavailable("no uwsgi binary in %s" % tool_venv)
            (tool_venv / ".complete").write_text("uwsgi\n")
    return binary


def paste_file(venv):
    """Glance's own glance-api-paste.ini, as installed in the venv."""
    path = pathlib.Path(venv) / "etc" / "glance" / "glance-api-paste.ini"
    if not path.exists():
        raise OracleUnavailable("no %s" % path)
    return path
