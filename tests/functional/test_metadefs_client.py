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
