"""benchmarks/httpcost.py: the HTTP layer's CPU per request, measured in
a process of its own (it patches the standard library for eventlet)."""
import pathlib
import re
import subprocess
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_it_prints_each_paths_cpu_per_request():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.httpcost", "--rounds", "1",
         "--count", "50"],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = dict(re.findall(r"^(eventlet\.wsgi|glance-api|canned) +"
                              r"(\d+\.\d) us CPU per request", done.stdout,
                              re.MULTILINE))
    assert set(figures) == {"eventlet.wsgi", "glance-api", "canned"}, \
        done.stdout
    assert all(float(value) > 0 for value in figures.values())
    assert "glance-api's path saves" in done.stdout

