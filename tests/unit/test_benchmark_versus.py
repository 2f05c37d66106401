"""benchmarks/versus.py: the other revision's tree is the revision's, its
server imports glance from it, and the servers take turns A B, B A."""
import os
import subprocess
import sys

import pytest

from benchmarks import versus


def _git(*args):
    return subprocess.run(["git", "-C", str(versus.REPO_ROOT), *args],
                          capture_output=True, check=True).stdout


@pytest.fixture
def in_checkout():
    try:
        _git("rev-parse", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: versus exports a revision with git")


def test_the_export_holds_the_revisions_files(tmp_path, in_checkout):
    tree = versus.export("HEAD", tmp_path / "tree")
    for name in ("glance/__init__.py", "glance/db/direct_read.py",
                 "etc/glance-api-paste.ini"):
        assert (tree / name).read_bytes() == _git("show", "HEAD:" + name)
    assert not (tree / "rev.tar").exists()


def test_a_python_with_the_shim_imports_glance_from_the_tree(tmp_path):
    tree = tmp_path / "tree"
    (tree / "glance" / "cmd").mkdir(parents=True)
    (tree / "glance" / "__init__.py").write_text("REVISION = 'other'\n")
    (tree / "glance" / "cmd" / "__init__.py").write_text("")
    (tree / "glance" / "cmd" / "probe.py").write_text(
        "import glance\nprint(glance.REVISION, glance.__file__)\n")
    shim = versus.write_shim(tmp_path / "shim", tree)
    # as GlanceServer starts it: -m, from this checkout's directory,
    # where ``glance`` is this checkout's package
    out = subprocess.run(
        [sys.executable, "-m", "glance.cmd.probe"], cwd=versus.REPO_ROOT,
        env=dict(os.environ, PYTHONPATH=str(shim)), capture_output=True,
        text=True, check=True).stdout.split()
    assert out == ["other", str((tree / "glance" / "__init__.py")
                                .resolve())]


def test_without_the_shim_the_checkouts_glance_is_imported(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", "import glance; print(glance.__file__)"],
        cwd=versus.REPO_ROOT, capture_output=True, text=True,
        check=True).stdout.strip()
    assert out == str(versus.REPO_ROOT / "glance" / "__init__.py")


def test_the_servers_take_turns_a_b_then_b_a():
    assert versus.orders(4) == [(0, 1), (1, 0), (0, 1), (1, 0)]
    assert versus.orders(1) == [(0, 1)]
