"""The README's two commands, run as a new user would run them.

The quick-start command installs the checkout into a fresh virtualenv under
a temporary HOME and starts ``glance-api`` on its embedded defaults; the
test command is what ``.ci/run`` runs.
"""
import os
import pathlib
import re
import signal
import socket
import subprocess
import time

import pytest
import requests

REPO = pathlib.Path(__file__).resolve().parents[2]


def readme_commands():
    """The indented command lines of the README's literal blocks."""
    text = (REPO / "README.rst").read_text()
    return [line.strip() for line in text.splitlines()
            if re.match(r"^    \S", line) and "python3 -m venv " in line]


def test_ci_runs_the_readme_test_command():
    install_and_start, run_tests = readme_commands()
    assert "glance-api" in install_and_start
    assert "pytest" in run_tests
    assert run_tests in (REPO / ".ci" / "run").read_text()


def test_ci_runs_the_readme_tempest_command():
    text = (REPO / "README.rst").read_text()
    assert "\n    bash tools/tempest/run.sh\n" in text
    ci_lines = (REPO / ".ci" / "run").read_text().splitlines()
    assert "bash tools/tempest/run.sh" in ci_lines


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_answering(url, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(1)
    return False


@pytest.mark.slow
def test_quick_start_command_on_a_fresh_home(tmp_path):
    command = readme_commands()[0]
    # The command as written; only the port comes from oslo.config's
    # environment source, so that a busy 9292 cannot fail the test.
    port = _free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIRTUAL_ENV", "PYTHON", "XDG_"))}
    env.update(HOME=str(home), PIP_CACHE_DIR=os.path.expanduser(
        "~/.cache/pip"), PIP_QUIET="1", OS_DEFAULT__BIND_PORT=str(port),
        OS_DEFAULT__BIND_HOST="127.0.0.1")
    log = open(tmp_path / "quickstart.log", "wb")
    proc = subprocess.Popen(["bash", "-c", command], cwd=REPO, env=env,
                            stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = "http://127.0.0.1:%d" % port
    try:
        answering = _wait_answering(url + "/versions", proc, timeout=600)
        assert answering, (tmp_path / "quickstart.log").read_text()[-3000:]
        made = requests.post(url + "/v2/images", json={
            "name": "hello", "disk_format": "raw",
            "container_format": "bare"}, timeout=10)
        assert made.status_code == 201, made.text
        image_id = made.json()["id"]
        upload = requests.put(url + "/v2/images/%s/file" % image_id,
                              data=b"quick start",
                              headers={"Content-Type":
                                       "application/octet-stream"},
                              timeout=10)
        assert upload.status_code == 204, upload.text
        state = home / ".local" / "share" / "glance"
        assert (state / "glance.sqlite").exists()
        assert (state / "images" / image_id).read_bytes() == b"quick start"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    assert proc.returncode == 0, (tmp_path / "quickstart.log").read_text()
