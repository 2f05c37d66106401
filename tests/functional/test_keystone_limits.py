"""Keystone unified-limit quotas (``use_keystone_limits``) against a real
Keystone.

Keystone 30 runs from the Tempest job's cached virtualenv (installed once
by tools/tempest/setup.sh; see tests/functional/keystone_server.py) on a
free 127.0.0.1 port. The four limits of the image service are registered
in it (image_size_total 1 MiB, image_stage_total 1 MiB, image_count_total
3, image_count_uploading 1); glance-api runs the ``keystone`` flavor with
``use_keystone_limits = True`` and ``[oslo_limit]`` as the ``glance``
service user with the system reader role, as Glance's docs set it up.
Each test works in a project of its own. Skipped only when Keystone
cannot be installed and CI is unset.
"""
import configparser
import pathlib
import shlex
import subprocess
import sys
import threading
import uuid

import pytest
import requests

from tests.functional.keystone_server import (KeystoneServer,
                                              KeystoneUnavailable,
                                              keystone_venv)
from tests.functional.server import REPO_ROOT, GlanceServer, wait_for
from tests.unit.db.conftest import in_ci

MIB = 1024 * 1024
LIMITS = {"image_size_total": 1, "image_stage_total": 1,
          "image_count_total": 3, "image_count_uploading": 1}
GLANCE_TEXT = ("The request returned a 413 Request Entity Too Large. This "
               "generally means that rate limiting or a quota threshold "
               "was breached.")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """(keystone, glance-api) with the image service's limits."""
    try:
        venv = keystone_venv()
    except KeystoneUnavailable as e:
        if in_ci():
            pytest.fail("%s (CI is set: not skipping)" % e)
        pytest.skip(str(e))
    glance = GlanceServer(tmp_path_factory.mktemp("glance-api"), workers=1,
                          flavor="keystone")
    keystone = KeystoneServer(tmp_path_factory.mktemp("keystone"), venv)
    try:
        keystone.start(image_url=glance.url)
        keystone.register_limits("image", LIMITS)
        # oslo.limit reads endpoints and limits: a system reader
        keystone.grant_system_role("glance", "reader")
        glance.update_config(_glance_conf(keystone))
        glance.start()
        yield keystone, glance
    finally:
        glance.stop()
        keystone.stop()
    assert "Traceback" not in glance.log_text(), glance.tail()


def _glance_conf(keystone):
    service_user = {"auth_url": keystone.url, "auth_type": "password",
                    "username": "glance",
                    "password": keystone.service_password,
                    "user_domain_id": "default"}
    return {
        "DEFAULT": {"use_keystone_limits": True},
        "keystone_authtoken": dict(
            service_user, www_authenticate_uri=keystone.url + "/v3",
            project_name="service", project_domain_id="default",
            service_token_roles_required=True),
        "oslo_limit": dict(service_user, system_scope="all",
                           endpoint_id=keystone.endpoint_id("image")),
    }


class Project:
    """A new Keystone project with a member user, talking to glance-api."""

    def __init__(self, keystone, glance):
        self.glance = glance
        name = "quota-" + uuid.uuid4().hex[:8]
        self.project = keystone.create_project(name)
        self.id = self.project["id"]
        password = uuid.uuid4().hex
        keystone.create_user(name, password, self.project)
        self.headers = {"X-Auth-Token": keystone.token(name, password,
                                                       project=name)}

    def request(self, method, path, **kwargs):
        headers = dict(self.headers, **kwargs.pop("headers", {}))
        return self.glance.request(method, path, headers=headers, **kwargs)

    def create(self, expect=201):
        resp = self.request("POST", "/v2/images", json={
            "disk_format": "raw", "container_format": "bare"})
        assert resp.status_code == expect, resp.text
        return resp.json() if expect == 201 else resp

    def image(self, image_id):
        return self.request("GET", "/v2/images/" + image_id).json()

    def put_data(self, image_id, data, what="file"):
        return self.request(
            "PUT", "/v2/images/%s/%s" % (image_id, what), data=data,
            headers={"Content-Type": "application/octet-stream"})

    def usage(self):
        resp = self.request("GET", "/v2/info/usage")
        assert resp.status_code == 200, resp.text
        return resp.json()["usage"]


@pytest.fixture
def project(cloud):
    return Project(*cloud)


def assert_over(resp, resource, limit, usage, delta):
    assert resp.status_code == 413, resp.text
    assert GLANCE_TEXT in resp.text
    assert ("Resource %s is over limit of %d due to current usage %d and "
            "delta %d" % (resource, limit, usage, delta)) in resp.text


def test_create_beyond_image_count_total(project):
    for _ in range(3):
        project.create()
    resp = project.create(expect=413)
    assert_over(resp, "image_count_total", 3, 3, 1)
    images = project.request("GET", "/v2/images").json()["images"]
    assert len(images) == 3


def test_upload_beyond_image_size_total(project):
    first, second, third = (project.create() for _ in range(3))
    assert project.put_data(first["id"], b"a" * MIB).status_code == 204
    # at the limit, not over it: Glance cannot know the size to come
    assert project.put_data(second["id"], b"b" * MIB).status_code == 204
    resp = project.put_data(third["id"], b"c" * 1000)
    assert_over(resp, "image_size_total", 1, 2, 0)
    image = project.image(third["id"])
    assert image["status"] == "queued" and image["size"] is None


def test_stage_beyond_image_stage_total(project):
    first, second = project.create(), project.create()
    assert project.put_data(first["id"], b"s" * 2 * MIB,
                            what="stage").status_code == 204
    resp = project.put_data(second["id"], b"t" * 1000, what="stage")
    assert_over(resp, "image_stage_total", 1, 2, 0)
    assert project.image(second["id"])["status"] == "queued"


def test_concurrent_uploads_beyond_image_count_uploading(project):
    first, second = project.create(), project.create()
    release = threading.Event()

    def slow_body():
        yield b"a" * 1024
        release.wait(60)
        yield b"b" * 1024

    answers = []
    uploader = threading.Thread(target=lambda: answers.append(
        project.put_data(first["id"], slow_body())))
    uploader.start()
    try:
        wait_for(lambda: project.image(first["id"])["status"] == "saving",
                 timeout=30, message="the first upload to be saving")
        resp = project.put_data(second["id"], b"x" * 1000)
        assert_over(resp, "image_count_uploading", 1, 2, 0)
        assert project.image(second["id"])["status"] == "queued"
    finally:
        release.set()
        uploader.join(60)
    assert answers[0].status_code == 204, answers[0].text
    assert project.image(first["id"])["status"] == "active"
    # the first upload is done: its slot is free again
    assert project.put_data(second["id"], b"x" * 1000).status_code == 204


def test_usage_reports_keystone_limits_and_real_usage(project):
    assert project.usage() == {
        name: {"limit": limit, "usage": 0} for name, limit in LIMITS.items()}
    uploaded, staged = project.create(), project.create()
    assert project.put_data(uploaded["id"], b"u" * MIB).status_code == 204
    assert project.put_data(staged["id"], b"s" * MIB,
                            what="stage").status_code == 204
    assert project.usage() == {
        "image_size_total": {"limit": 1, "usage": 1},
        "image_stage_total": {"limit": 1, "usage": 1},
        "image_count_total": {"limit": 3, "usage": 2},
        "image_count_uploading": {"limit": 1, "usage": 1}}


def test_project_limit_overrides_registered_limit(cloud, project):
    keystone, _glance = cloud
    limit_id = keystone.set_project_limit("image", project.id,
                                          "image_count_total", 4)
    for _ in range(4):
        project.create()
    assert_over(project.create(expect=413), "image_count_total", 4, 4, 1)
    assert project.usage()["image_count_total"] == {"limit": 4, "usage": 4}
    # a change in Keystone applies to the next request
    keystone.update_project_limit(limit_id, 5)
    project.create()


def test_import_over_image_size_total_fails_its_task(project):
    image = project.create()
    assert project.put_data(image["id"], b"i" * 2 * MIB,
                            what="stage").status_code == 204
    resp = project.request("POST", "/v2/images/%s/import" % image["id"],
                           json={"method": {"name": "glance-direct"}})
    assert resp.status_code == 202, resp.text
    tasks = project.request(
        "GET", "/v2/images/%s/tasks" % image["id"]).json()["tasks"]
    assert [t["status"] for t in tasks] == ["failure"]
    assert "Resource image_size_total is over limit of 1 due to current " \
           "usage 0 and delta 2" in tasks[0]["message"]
    got = project.image(image["id"])
    assert got["status"] == "uploading"      # staged data kept
    assert "os_glance_import_task" not in got


def test_without_a_token_no_quota_is_read(cloud):
    _keystone, glance = cloud
    resp = requests.get(glance.url + "/v2/info/usage", timeout=30)
    assert resp.status_code == 401


def test_sample_config_has_the_oslo_limit_options(tmp_path):
    """tox -e genconfig's command writes [oslo_limit] (and the
    notification options of oslo.messaging) into the sample."""
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(REPO_ROOT / "tox.ini")
    command = shlex.split(tox["testenv:genconfig"]["commands"])
    out = tmp_path / "glance-api.conf.sample"
    command[command.index("--output-file") + 1] = str(out)
    # the console script of the interpreter running the tests
    command[0] = str(pathlib.Path(sys.executable).parent / command[0])
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    text = out.read_text()
    for line in ("[oslo_limit]", "#endpoint_id = <None>",
                 "#endpoint_service_name = <None>", "#system_scope = <None>",
                 "[oslo_messaging_notifications]", "#use_keystone_limits = "
                 "false"):
        assert line in text.splitlines(), line

