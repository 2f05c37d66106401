"""Glance 33's own glance-api-paste.ini, unchanged, under each flavor.

``data/glance33-api-paste.ini`` is a verbatim copy of the file Glance
33.0.0 installs as ``etc/glance/glance-api-paste.ini``: composites per
flavor, a ``glance.api:pipeline_factory`` section keyed by flavor, the
``osprofiler`` filter and ``/healthcheck`` as oslo.middleware's app. The
real glance-api starts with it and serves each flavor's requests;
the keystone flavors validate tokens against the fake Keystone of
``test_cache_client_keystone``.
"""
import pathlib
import threading

import pytest
import requests

from tests.functional.apiclient import ADMIN, Api, new_project
from tests.functional.server import wait_for
from tests.functional.test_cache_client_keystone import (
    ADMIN_PROJECT, ADMIN_USER, SERVICE_PASSWORD, SERVICE_USER, FakeKeystone)

GLANCE_PASTE = pathlib.Path(__file__).parent / "data" / \
    "glance33-api-paste.ini"
FLAVORS = [None, "caching", "cachemanagement", "keystone",
           "keystone+caching", "keystone+cachemanagement"]


@pytest.fixture(scope="module")
def keystone():
    """A fake Keystone v3 in a thread, for the keystone flavors."""
    fake = FakeKeystone()
    thread = threading.Thread(target=fake.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.shutdown()
    fake.server_close()
    thread.join(5)


def is_keystone(flavor):
    return (flavor or "").startswith("keystone")


def authtoken_conf(keystone):
    return {"keystone_authtoken": {
        "auth_type": "password", "auth_url": keystone.url + "/v3",
        "www_authenticate_uri": keystone.url,
        "username": SERVICE_USER, "password": SERVICE_PASSWORD,
        "project_name": "service", "user_domain_name": "Default",
        "project_domain_name": "Default"}}


def client_for(srv, flavor, keystone):
    """An admin Api; under keystone it sends a token the fake issued."""
    api = Api(srv.url, new_project("g33"), ADMIN)
    if is_keystone(flavor):
        token, _body = keystone.issue(ADMIN_USER, ADMIN_PROJECT)
        api.session.headers["X-Auth-Token"] = token
    return api


def check_cache(srv, api, flavor, image_id):
    """The image cache of the caching flavors, the cache API's routes."""
    cached = pathlib.Path(srv.state_path) / "image-cache" / image_id
    if "cach" in flavor:
        wait_for(cached.exists, timeout=10, message="the cached file")
    else:
        assert not cached.exists()
    legacy = api.get("/v2/cached_images")
    if flavor.endswith("cachemanagement"):
        assert legacy.status_code == 200, legacy.text
        ids = [i["image_id"] for i in legacy.json()["cached_images"]]
        assert ids == [image_id]
    else:
        assert legacy.status_code == 404


@pytest.mark.parametrize("flavor", FLAVORS, ids=lambda f: f or "default")
def test_glance_paste_file_serves_every_flavor(glance_server, keystone,
                                               flavor):
    conf = authtoken_conf(keystone) if is_keystone(flavor) else None
    srv = glance_server(workers=1, paste_file=GLANCE_PASTE, flavor=flavor,
                        conf=conf)
    health = requests.get(srv.url + "/healthcheck", timeout=10)
    assert (health.status_code, health.text) == (200, "OK")
    assert requests.get(srv.url + "/versions", timeout=10).json()[
        "versions"]
    if is_keystone(flavor):
        anonymous = requests.get(srv.url + "/v2/images", timeout=10)
        assert anonymous.status_code == 401
    api = client_for(srv, flavor, keystone)
    image_id = api.active(b"glance-33 paste " * 64)
    for _ in range(2):
        resp = api.get("/v2/images/%s/file" % image_id)
        assert resp.content == b"glance-33 paste " * 64
    check_cache(srv, api, flavor or "default", image_id)


def test_flavor_missing_from_the_pipeline_section_stops_start_up(
        glance_server):
    from tests.functional.server import ServerError
    with pytest.raises(ServerError) as failed:
        glance_server(workers=1, paste_file=GLANCE_PASTE, flavor="nope")
    assert "glance-api-nope" in str(failed.value)
