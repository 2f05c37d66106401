"""web-download through the import call and its task, in-process, with
a patched resolver: refused URIs get 400 (Invalid) before any task; a
host that stops resolving (or starts resolving to a refused address)
between the call and the task fails the task with the reason, before
any connection."""
import socket

import pytest

from glance.async_.flows import api_image_import as flow
from glance.async_.flows import web_download
from glance.common import exception
from glance.common import uri_filter
from glance.db import api as db
from glance.services import image_import
from tests.unit.helpers import new_image
from tests.unit.helpers import run_spawned

DNS = {"images.example": ["93.184.215.14"],
       "dual.example": ["93.184.215.14", "169.254.169.254"]}


@pytest.fixture
def env(sqlite_db, file_store, spawned_tasks):
    """The in-process import set-up (tests/unit/conftest.py); the tasks
    started, to run with ``run_spawned``."""
    return spawned_tasks


@pytest.fixture
def dns(monkeypatch):
    table = dict(DNS)

    def resolve(host, port):
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name unknown")
        return list(table[host])
    monkeypatch.setattr(uri_filter, "resolve", resolve)
    return table


@pytest.fixture
def no_network(monkeypatch):
    def refuse(target, address):
        raise AssertionError("connection attempted to %s" % address)
    monkeypatch.setattr(web_download, "_pool", refuse)


def web_download_body(uri):
    return {"method": {"name": "web-download", "uri": uri}}


@pytest.mark.parametrize("uri", [
    "http://unknown.example/x",              # does not resolve
    "http://dual.example/x",                 # one address is link-local
    "http://2130706433/x", "http://0x7f000001/x", "http://127.1/x",
    "http://[::ffff:169.254.169.254]/x", "http://images.example:8080/x",
])
def test_refused_at_the_import_call(env, ctx, dns, no_network, uri):
    image = new_image(ctx)
    with pytest.raises(exception.Invalid, match="does not pass filtering"):
        image_import.import_image(ctx, image["id"], web_download_body(uri))
    assert db.image_get(image["id"])["status"] == "queued"
    assert db.tasks_get_by_image(image["id"]) == []
    assert env == []


def test_private_address_accepted_by_default(env, ctx, dns, conf):
    image = new_image(ctx)
    assert image_import.import_image(
        ctx, image["id"], web_download_body("http://10.1.2.3/x"))
    env.clear()
    conf(group="import_filtering_opts", disallow_private_addresses=True)
    image = new_image(ctx)
    with pytest.raises(exception.Invalid):
        image_import.import_image(
            ctx, image["id"], web_download_body("http://10.1.2.3/x"))


@pytest.mark.parametrize("change,reason", [
    ({"images.example": None}, "does not pass filtering"),
    ({"images.example": ["127.0.0.1"]}, "does not pass filtering"),
])
def test_task_fails_when_resolution_changes(env, ctx, dns, no_network,
                                            change, reason):
    image = new_image(ctx)
    image_import.import_image(
        ctx, image["id"], web_download_body("http://images.example/x"))
    for host, addresses in change.items():
        if addresses is None:
            del dns[host]
        else:
            dns[host] = addresses
    [task] = run_spawned(env)
    assert task["status"] == "failure"
    assert reason in task["message"]
    assert "http://images.example/x" in task["message"]
    got = db.image_get(image["id"])
    assert got["status"] == "queued"
    assert flow.LOCK not in got["properties"]
