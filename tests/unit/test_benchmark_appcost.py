"""benchmarks/appcost.py: the app's CPU per GET, built from a config
directory in a process of its own, and the environ it calls it with."""
import pathlib
import re
import subprocess
import sys
import uuid

from benchmarks import appcost

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _config_dir(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    state = tmp_path / "state"
    (etc / "glance-api.conf").write_text(
        "[DEFAULT]\nstate_path = %s\n"
        "[database]\nconnection = sqlite:///%s/glance.sqlite\n"
        "[glance_store]\nfilesystem_store_datadir = %s/images\n"
        % (state, tmp_path, state))
    return etc


def _run(etc, path, *args):
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.appcost", str(etc), path,
         "--count", "20", *args],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)


def test_a_served_get_prints_its_cpu_per_call(tmp_path):
    done = _run(_config_dir(tmp_path), "/v2/images?limit=5",
                "--header", "X-Roles:admin")
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r"app CPU (\d+\.\d+) ms per GET /v2/images\?limit=5",
                      done.stdout)
    assert found, done.stdout
    assert float(found.group(1)) > 0


def test_an_answer_other_than_2xx_fails_with_it(tmp_path):
    missing = "/v2/images/%s" % uuid.uuid4()
    done = _run(_config_dir(tmp_path), missing)
    assert done.returncode == 1
    assert "404" in done.stderr
    assert "app CPU" not in done.stdout


def test_the_environ_is_a_get_of_the_path_with_the_headers():
    environ = appcost.environ_of(
        "/v2/images/a%20b?limit=2&sort_key=name",
        {"X-Project-Id": "p1", "Content-Type": "application/json"})
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["PATH_INFO"] == "/v2/images/a b"
    assert environ["QUERY_STRING"] == "limit=2&sort_key=name"
    assert environ["HTTP_X_PROJECT_ID"] == "p1"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert "HTTP_CONTENT_TYPE" not in environ
    assert environ["wsgi.input"].read() == b""
