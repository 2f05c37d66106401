"""get_client's credentials (arguments, then OS_* variables) and when the
CacheClient logs in to Keystone. The login itself, against a fake Keystone
and the real CLI, is in tests/functional/test_cache_client_keystone.py."""
import os

import pytest

from glance.cmd import cache_manage
from glance.image_cache import client


@pytest.fixture(autouse=True)
def no_os_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("OS_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_env_credentials(monkeypatch):
    monkeypatch.setenv("OS_USERNAME", "alice")
    monkeypatch.setenv("OS_PASSWORD", "pw")
    monkeypatch.setenv("OS_AUTH_URL", "http://ks:5000/v3")
    monkeypatch.setenv("OS_PROJECT_NAME", "proj")
    monkeypatch.setenv("OS_TENANT_NAME", "tenant")
    monkeypatch.setenv("OS_USER_DOMAIN_NAME", "Users")
    monkeypatch.setenv("OS_REGION_NAME", "R1")
    c = client.get_client("h")
    assert c.auth_token is None
    assert c.creds == {
        "username": "alice", "password": "pw", "project": "proj",
        "tenant": "proj", "user_domain": "Users",
        "project_domain": "Default", "auth_url": "http://ks:5000/v3",
        "region": "R1", "strategy": "keystone"}


def test_project_falls_back_to_tenant_and_arguments_win(monkeypatch):
    monkeypatch.setenv("OS_TENANT_NAME", "tenant")
    monkeypatch.setenv("OS_USERNAME", "env-user")
    assert client.get_client("h").creds["project"] == "tenant"
    c = client.get_client("h", username="arg-user", tenant="arg-proj")
    assert (c.creds["username"], c.creds["project"]) == ("arg-user",
                                                         "arg-proj")


@pytest.mark.parametrize("env, strategy", [
    ({}, "noauth"),
    ({"OS_AUTH_URL": "http://ks/v3", "OS_USERNAME": "u"}, "noauth"),
    ({"OS_AUTH_URL": "http://ks/v3", "OS_USERNAME": "u",
      "OS_PASSWORD": "p"}, "keystone"),
    ({"OS_AUTH_URL": "http://ks/v3", "OS_USERNAME": "u", "OS_PASSWORD": "p",
      "OS_AUTH_STRATEGY": "noauth"}, "noauth"),
    ({"OS_AUTH_STRATEGY": "keystone"}, "keystone"),
])
def test_strategy(monkeypatch, env, strategy):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert client.get_client("h").creds["strategy"] == strategy


@pytest.mark.parametrize("url, v3", [
    ("http://ks:5000", "http://ks:5000/v3"),
    ("http://ks:5000/", "http://ks:5000/v3"),
    ("http://ks:5000/v3/", "http://ks:5000/v3"),
    ("http://ks/identity/v2.0", "http://ks/identity/v3"),
])
def test_v3_url(url, v3):
    assert client._v3_url(url) == v3


class _Answer:
    status_code = 200


def _recording(c):
    sent = []

    def request(method, url, headers, **kwargs):
        sent.append(headers)
        return _Answer()
    c.session.request = request
    return sent


def test_login_once_then_token_sent(monkeypatch):
    monkeypatch.setenv("OS_AUTH_STRATEGY", "keystone")
    c = client.get_client("h")
    logins = []

    def login():
        logins.append(1)
        c.auth_token = "issued"
    c._login = login
    sent = _recording(c)
    c.queue_image_for_caching("x")
    c.delete_cached_image("x")
    assert logins == [1]
    assert [h["X-Auth-Token"] for h in sent] == ["issued", "issued"]


@pytest.mark.parametrize("env", [
    {"OS_AUTH_TOKEN": "given", "OS_AUTH_STRATEGY": "keystone"},
    {"OS_AUTH_URL": "http://ks/v3", "OS_USERNAME": "u", "OS_PASSWORD": "p",
     "OS_AUTH_STRATEGY": "noauth"},
])
def test_no_login(monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    c = client.get_client("h")
    c._login = lambda: pytest.fail("must not log in")
    sent = _recording(c)
    c.queue_image_for_caching("x")
    assert sent[0].get("X-Auth-Token") == env.get("OS_AUTH_TOKEN")


def test_login_needs_url_user_and_password():
    c = client.get_client("h", auth_strategy="keystone", username="u")
    with pytest.raises(client.CacheClientError,
                       match="needs OS_AUTH_URL, OS_PASSWORD$"):
        c.queue_image_for_caching("x")


def test_cli_passes_credential_options(monkeypatch):
    seen = {}

    class Stub:
        def get_cached_images(self):
            return []

    def get_client(host, **kwargs):
        seen.update(kwargs)
        return Stub()
    monkeypatch.setattr(client, "get_client", get_client)
    monkeypatch.setattr(cache_manage.bootstrap, "bootstrap",
                        lambda *a, **k: None)
    assert cache_manage.main([
            "--os-username", "u", "--os-password", "p",
            "--os-tenant-name", "t", "--os-auth-url", "http://ks/v3",
            "--os-region-name", "R", "--os-auth-strategy", "keystone",
            "list-cached"]) == 0
    assert {k: seen[k] for k in ("username", "password", "tenant",
                                 "auth_url", "region", "auth_strategy")} == {
        "username": "u", "password": "p", "tenant": "t",
        "auth_url": "http://ks/v3", "region": "R", "auth_strategy": "keystone"}
