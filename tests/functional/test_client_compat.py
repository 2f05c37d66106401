"""python-glanceclient, openstacksdk and the ``glance`` CLI against the
real daemon: image records, filters, paging, tags, members, delete.

Without keystone the clients get keystonemiddleware-style identity headers
through their supported hooks (a requests session's headers, keystoneauth's
``additional_headers``); the CLI through a ``sitecustomize`` shim.
"""
import json
import os
import subprocess
import sys

import pytest

from tests.functional.apiclient import ADMIN, MEMBER, identity_headers, \
    new_project

glanceclient = pytest.importorskip("glanceclient")
openstack = pytest.importorskip("openstack")
from glanceclient import Client  # noqa: E402
from glanceclient import exc as gexc  # noqa: E402


def _glanceclient(url, project, roles=MEMBER):
    client = Client("2", endpoint=url, token="unused")
    client.http_client.session.headers.update(
        identity_headers(project, roles))
    return client


def _sdk(url, project, roles=MEMBER):
    from keystoneauth1 import noauth
    from keystoneauth1 import session as ksession
    sess = ksession.Session(auth=noauth.NoAuth(endpoint=url),
                            additional_headers=identity_headers(project,
                                                                roles))
    return openstack.connection.Connection(session=sess,
                                           image_endpoint_override=url)


@pytest.fixture(scope="module")
def url(trusted_server):
    return trusted_server.url


def test_glanceclient_records(url):
    project = new_project("gc")
    gc = _glanceclient(url, project)
    img = gc.images.create(name="gc-one", disk_format="raw",
                           container_format="bare", hw_disk_bus="scsi")
    assert img["status"] == "queued" and img["owner"] == project
    gc.images.update(img["id"], name="gc-renamed", os_distro="cirros",
                     remove_props=["hw_disk_bus"])
    shown = gc.images.get(img["id"])
    assert shown["name"] == "gc-renamed" and shown["os_distro"] == "cirros"
    assert "hw_disk_bus" not in shown
    gc.image_tags.update(img["id"], "blue")
    assert gc.images.get(img["id"])["tags"] == ["blue"]
    gc.image_tags.delete(img["id"], "blue")
    more = [gc.images.create(name="gc-%d" % i, batch=project)["id"]
            for i in range(5)]
    listed = [i["id"] for i in gc.images.list(
        filters={"batch": project}, page_size=2)]
    assert sorted(listed) == sorted(more)
    gc.images.delete(img["id"])
    with pytest.raises(gexc.HTTPNotFound):
        gc.images.get(img["id"])


def test_glanceclient_members(url):
    owner, other = new_project("own"), new_project("oth")
    gc_owner = _glanceclient(url, owner)
    gc_other = _glanceclient(url, other)
    img = gc_owner.images.create(name="shared", visibility="shared")
    member = gc_owner.image_members.create(img["id"], other)
    assert member["status"] == "pending"
    gc_other.image_members.update(img["id"], other, "accepted")
    members = list(gc_owner.image_members.list(img["id"]))
    assert [(m["member_id"], m["status"]) for m in members] == \
        [(other, "accepted")]
    assert img["id"] in [i["id"] for i in gc_other.images.list()]
    gc_owner.image_members.delete(img["id"], other)
    with pytest.raises(gexc.HTTPNotFound):
        gc_other.images.get(img["id"])


def test_glanceclient_errors(url):
    gc = _glanceclient(url, new_project("e"), "reader")
    with pytest.raises(gexc.HTTPForbidden):
        gc.images.create(name="reader-cannot")
    with pytest.raises(gexc.HTTPNotFound):
        gc.images.get("00000000-0000-0000-0000-000000000000")


def test_openstacksdk_records(url):
    project = new_project("sdk")
    conn = _sdk(url, project)
    img = conn.image.create_image(name="sdk-one", disk_format="raw",
                                  container_format="bare",
                                  properties={"color": "red"})
    assert img.status == "queued" and img.owner == project
    conn.image.update_image(img, name="sdk-renamed", min_ram=64)
    shown = conn.image.get_image(img.id)
    assert shown.name == "sdk-renamed" and shown.min_ram == 64
    conn.image.add_tag(img, "green")
    assert conn.image.get_image(img.id).tags == ["green"]
    conn.image.remove_tag(img, "green")
    found = [i.id for i in conn.image.images(name="sdk-renamed",
                                             owner=project)]
    assert found == [img.id]
    paged = [i.id for i in conn.image.images(owner=project, limit=1)]
    assert paged == [img.id]
    conn.image.delete_image(img)
    assert conn.image.find_image(img.id) is None


def test_openstacksdk_members(url):
    owner, other = new_project("own"), new_project("oth")
    conn = _sdk(url, owner)
    img = conn.image.create_image(name="sdk-shared", visibility="shared")
    conn.image.add_member(img, member_id=other)
    members = list(conn.image.members(img))
    assert [m.member_id for m in members] == [other]
    conn_other = _sdk(url, other)
    conn_other.image.update_member(other, img, status="accepted")
    assert conn.image.get_member(other, img).status == "accepted"
    conn.image.remove_member(other, img)
    assert list(conn.image.members(img)) == []


SHIM = """
import json, os
headers = os.environ.get("GLANCE_IDENTITY_HEADERS")
if headers:
    import requests.sessions
    _init = requests.sessions.Session.__init__
    def __init__(self, *a, **k):
        _init(self, *a, **k)
        self.headers.update(json.loads(headers))
    requests.sessions.Session.__init__ = __init__
"""


def _cli(url, tmp_path, project, *args):
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir(exist_ok=True)
    (shim_dir / "sitecustomize.py").write_text(SHIM)
    env = dict(os.environ, PYTHONPATH=str(shim_dir),
               GLANCE_IDENTITY_HEADERS=json.dumps(
                   identity_headers(project, ADMIN)))
    cli = os.path.join(os.path.dirname(sys.executable), "glance")
    return subprocess.run([cli, "--os-image-url", url, "--os-auth-token",
                           "unused"] + list(args), env=env,
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60)


def test_glance_cli(url, tmp_path):
    project = new_project("cli")
    made = _cli(url, tmp_path, project, "image-create", "--name", "cli-img",
                "--disk-format", "raw", "--container-format", "bare")
    # with no terminal on stdin the CLI uploads it: an empty image
    assert made.returncode == 0, made.stderr
    assert "cli-img" in made.stdout and "active" in made.stdout
    listed = _cli(url, tmp_path, project, "image-list")
    assert listed.returncode == 0 and "cli-img" in listed.stdout
    image_id = [line.split("|")[1].strip() for line in
                listed.stdout.splitlines() if "cli-img" in line][0]
    updated = _cli(url, tmp_path, project, "image-update", "--property",
                   "os_distro=cirros", image_id)
    assert updated.returncode == 0 and "cirros" in updated.stdout
    deleted = _cli(url, tmp_path, project, "image-delete", image_id)
    assert deleted.returncode == 0, deleted.stderr
    missing = _cli(url, tmp_path, project, "image-show", image_id)
    assert missing.returncode != 0
