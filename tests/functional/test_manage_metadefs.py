"""glance-manage db load_metadefs / export_metadefs / unload_metadefs,
run as the real command against the database a real glance-api serves."""
import json
import subprocess
import sys

import pytest

from tests.functional.server import GlanceServer
from tests.functional.server import REPO_ROOT

SHIPPED = sorted(p.name for p in (REPO_ROOT / "etc" / "metadefs").glob(
    "*.json"))


def manage(srv, *args):
    return subprocess.run(
        [sys.executable, "-m", "glance.cmd.manage", "--config-file",
         str(srv.conf_file), *args], cwd=str(REPO_ROOT), capture_output=True,
        text=True, timeout=120)


@pytest.fixture
def srv(tmp_path):
    server = GlanceServer(tmp_path, workers=1)
    assert manage(server, "db", "sync").returncode == 0
    server.start()
    yield server
    server.stop()


def namespaces(srv):
    resp = srv.get("/v2/metadefs/namespaces?limit=100")
    assert resp.status_code == 200, resp.text
    return sorted(ns["namespace"] for ns in resp.json()["namespaces"])


def test_load_the_shipped_catalog_export_unload_and_load_back(srv, tmp_path):
    assert SHIPPED, "the package ships a catalog"
    r = manage(srv, "db", "load_metadefs")
    assert r.returncode == 0, r.stderr
    loaded = namespaces(srv)
    assert len(loaded) == len(SHIPPED)
    assert r.stdout.count("Loaded namespace") == len(SHIPPED)

    again = manage(srv, "db", "load_metadefs")
    assert again.returncode == 0 and again.stdout.count("Skipped") == \
        len(SHIPPED)

    out = tmp_path / "export"
    r = manage(srv, "db", "export_metadefs", "--path", str(out))
    assert r.returncode == 0, r.stderr
    files = sorted(out.glob("*.json"))
    assert len(files) == len(SHIPPED)
    exported = sorted(json.loads(f.read_text())["namespace"] for f in files)
    assert exported == loaded

    assert manage(srv, "db", "unload_metadefs").returncode == 0
    assert namespaces(srv) == []
    r = manage(srv, "db_load_metadefs", str(out))   # Glance's legacy form
    assert r.returncode == 0, r.stderr
    assert namespaces(srv) == loaded


def test_bad_options_and_files_are_refused(srv, tmp_path):
    r = manage(srv, "db", "load_metadefs", "--prefer_new")
    assert r.returncode == 1
    assert "--merge" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.json").write_text("{not json")
    r = manage(srv, "db", "load_metadefs", "--path", str(bad))
    assert r.returncode == 1
    assert "broken.json" in r.stderr and "Traceback" not in r.stderr
    r = manage(srv, "db", "load_metadefs", "--path", str(tmp_path / "none"))
    assert r.returncode == 1 and "cannot read" in r.stderr
    assert namespaces(srv) == []
