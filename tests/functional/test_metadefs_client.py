"""python-glanceclient's ``glance md-*`` commands against the real daemon
(the CLI reads the published metadef schemas and validates with them)."""
import json
import uuid

import pytest

from tests.functional.apiclient import new_project
from tests.functional.test_client_compat import _cli

pytest.importorskip("glanceclient")


@pytest.fixture(scope="module")
def url(trusted_server):
    return trusted_server.url


def test_glance_md_commands(url, tmp_path):
    project = new_project("mdcli")
    name = "CLI::%s" % uuid.uuid4().hex[:8]

    def run(*args):
        done = _cli(url, tmp_path, project, *args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    made = run("md-namespace-create", name, "--visibility", "public",
               "--description", "from the cli")
    assert name in made and "from the cli" in made
    assert name in run("md-namespace-list")
    prop = run("md-property-create", name, "--name", "speed", "--title",
               "Speed", "--type", "integer", "--schema",
               json.dumps({"type": "integer", "minimum": 1}))
    assert "speed" in prop
    obj = run("md-object-create", name, "--name", "Box", "--schema",
              json.dumps({"description": "a box", "properties": {
                  "width": {"title": "Width", "type": "integer"}}}))
    assert "Box" in obj and "width" in obj
    tags = run("md-tag-create-multiple", name, "--names", "red,green",
               "--delim", ",")
    assert "red" in tags and "green" in tags
    assert "red" in run("md-tag-list", name)
    assert "speed" in run("md-property-list", name)
    assert "Box" in run("md-object-list", name)
    run("md-resource-type-associate", name, "--name", "OS::Glance::Image",
        "--prefix", "cli_")
    assert "OS::Glance::Image" in run("md-resource-type-list")
    shown = run("md-namespace-show", name, "--resource-type",
                "OS::Glance::Image")
    assert "cli_speed" in shown
    run("md-namespace-delete", name)
    assert name not in run("md-namespace-list")


def _osc(srv, *args):
    import subprocess
    import sys
    from pathlib import Path
    cli = Path(sys.executable).with_name("openstack")
    if not cli.exists():
        pytest.fail("python-openstackclient is not installed (test extra)")
    return subprocess.run(
        [str(cli), "--os-auth-type", "none", "--os-endpoint", srv.url,
         *args], capture_output=True, text=True, timeout=120)


def test_openstack_image_metadef_commands(api_server):
    name = "OSC::%s" % uuid.uuid4().hex[:8]
    # the no-auth deployment has no project to own it: name one
    resp = api_server.request("POST", "/v2/metadefs/namespaces", json={
        "namespace": name, "visibility": "public", "owner": "ops",
        "description": "made for the openstack CLI"})
    assert resp.status_code == 201, resp.text
    listed = _osc(api_server, "image", "metadef", "namespace", "list",
                  "-f", "value")
    assert listed.returncode == 0, listed.stderr
    assert name in listed.stdout.split()
    shown = _osc(api_server, "image", "metadef", "namespace", "show", name,
                 "-f", "json")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert (doc["namespace"], doc["owner"], doc["visibility"]) == (
        name, "ops", "public")
    deleted = _osc(api_server, "image", "metadef", "namespace", "delete",
                   name)
    assert deleted.returncode == 0, deleted.stderr
    assert api_server.get("/v2/metadefs/namespaces/%s" % name)\
        .status_code == 404
