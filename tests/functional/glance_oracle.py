"""Real OpenStack Glance 33, in a virtualenv of its own, as a test oracle.

It only makes databases the Glance way (its ``glance-manage``) and writes
rows through its own database API (``glance_oracle_rows.py``); it is never
imported by, nor installed into, our environment.

The virtualenv is the differential tool's (``tools/differential/oracle.py``:
built once per machine, under a file lock so that the two workers of
``pytest -n 2`` wanting it at once build it once).
"""
import json
import os
import pathlib
import subprocess

from tools.differential.oracle import ensure_venv  # noqa: F401
from tools.differential.oracle import GLANCE_VERSION  # noqa: F401
from tools.differential.oracle import OracleUnavailable  # noqa: F401

HERE = pathlib.Path(__file__).resolve().parent
QUIET = {"PYTHONWARNINGS": "ignore"}


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
