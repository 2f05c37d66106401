"""Tasks: URI filtering, the tasks API's validation, task records and
their expiry, the executor's statistics."""
import datetime
import socket
import uuid

import pytest
import webob

from glance.api.v2 import tasks as tasks_api
from glance.async_ import executor
from glance.async_.flows import web_download
from glance.common import exception
from glance.common import uri_filter
from glance import context
from glance.db import api as db
from glance.services import tasks as task_service
from glance import task_records


# Names the fake resolver knows; no test here may reach a real DNS server.
HOSTS = {"example.com": ["93.184.215.14", "2606:2800:21f:cb07::1"],
         "good.example": ["198.51.100.7"], "bad.example": ["198.51.100.8"],
         "localhost": ["::1", "127.0.0.1"]}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    def resolve(host, port):
        if host not in HOSTS:
            raise socket.gaierror(socket.EAI_NONAME, "Name unknown")
        return list(HOSTS[host])
    monkeypatch.setattr(uri_filter, "resolve", resolve)


@pytest.mark.parametrize("uri,ok", [
    ("http://example.com/x.img", True),
    ("https://example.com/x.img", True),
    ("https://example.com:443/x.img", True),
    ("http://example.com:8080/x.img", False),
    ("ftp://example.com/x.img", False),
    ("file:///etc/passwd", False),
    ("http://127.0.0.1/x.img", False),
    ("http://localhost/x.img", False),
    ("http://10.1.2.3/x", True),             # Glance: private ranges pass
    ("http://192.168.1.1/x", True),
    ("http://169.254.169.254/latest/meta-data", False),
    ("http://[::1]/x", False),
    ("http://[::ffff:127.0.0.1]/x", False),
    ("http://2130706433/x", False),
    ("http://unknown.example/x", False),     # does not resolve
    ("http:///x", False),
    ("http://example.com:99999/x", False),
    ("", False), (None, False),
])
def test_default_filtering(uri, ok):
    assert web_download.validate_import_uri(uri) is ok


def test_allowed_lists_win(conf):
    conf(group="import_filtering_opts", allowed_hosts=["127.0.0.1"],
         allowed_ports=[8080], disallowed_ports=[8080],
         disallowed_hosts=["127.0.0.1"])
    assert web_download.validate_import_uri("http://127.0.0.1:8080/x")
    assert not web_download.validate_import_uri("http://example.com:8080/")
    assert not web_download.validate_import_uri("http://127.0.0.1:80/x")


def test_disallowed_lists(conf):
    conf(group="import_filtering_opts", allowed_schemes=[],
         disallowed_schemes=["http"], disallowed_hosts=["bad.example"],
         allowed_ports=[], disallowed_ports=[8443])
    assert web_download.validate_import_uri("https://good.example/x")
    assert web_download.validate_import_uri("https://good.example:9/x")
    assert not web_download.validate_import_uri("http://good.example/x")
    assert not web_download.validate_import_uri("https://bad.example/x")
    assert not web_download.validate_import_uri(
        "https://good.example:8443/x")


def test_disallow_private_addresses(conf):
    conf(group="import_filtering_opts", disallow_private_addresses=True)
    assert not web_download.validate_import_uri("http://10.1.2.3/x")
    assert web_download.validate_import_uri("http://example.com/x")


# --- the tasks API's request validation ---

def deserialize(body, roles=("admin", "member")):
    req = webob.Request.blank("/v2/tasks", method="POST", json=body)
    req.context = context.RequestContext(project_id="p", roles=list(roles),
                                         is_admin="admin" in roles)
    return tasks_api.RequestDeserializer().create(req)


@pytest.mark.parametrize("body,msg", [
    ({"type": "import"}, "Task 'input' is required"),
    ({"input": {}}, "Task 'type' is required"),
    ({"type": "bogus", "input": {}}, "Failed validating"),
    ({"type": "import", "input": "x"}, "Failed validating"),
    ({"type": "import", "input": {}, "foo": 1}, "Failed validating"),
    ({"type": "import", "input": {}}, "Invalid location"),
    ({"type": "import", "input": {"import_from": "file:///etc/passwd"}},
     "File based imports are not allowed"),
    ({"type": "import", "input": {"import_from": "ftp://h/x"}},
     "valid uri"),
    ({"type": "import", "input": {"import_from": "http://127.0.0.1/x"}},
     "does not pass filtering"),
    ({"type": "import", "input": {"import_from": "http://example.com/x"}},
     "import_from_format"),
])
def test_create_task_validation(body, msg):
    with pytest.raises(exception.Invalid) as info:
        deserialize(body)
    assert msg in str(info.value)


def test_create_task_read_only_attribute():
    body = {"type": "import", "status": "success", "input": {
        "import_from": "https://example.com/x", "import_from_format": "raw",
        "image_properties": {}}}
    with pytest.raises(exception.Forbidden):
        deserialize(body)


def test_create_task_checks_the_uri_before_read_only_attributes():
    # as Glance: the import input (its URI filter) first
    with pytest.raises(exception.Invalid) as info:
        deserialize({"type": "import", "input": {}, "status": "success"})
    assert "Invalid location" in str(info.value)


def test_tasks_api_admin_only():
    with pytest.raises(exception.Forbidden) as info:
        deserialize({"type": "import", "input": {}}, roles=("member",))
    assert "tasks_api_access" in str(info.value)


def test_render_task_hides_bulk_in_stubs():
    now = datetime.datetime(2026, 1, 2, 3, 4, 5)
    task = {"id": "t", "type": "import", "status": "pending", "owner": "o",
            "created_at": now, "updated_at": now, "expires_at": None,
            "input": {}, "result": None, "message": ""}
    full = tasks_api.render_task(task)
    assert full["created_at"] == "2026-01-02T03:04:05Z"
    assert "expires_at" not in full
    assert full["input"] == {} and full["message"] == ""
    stub = tasks_api.render_task(task, stub=True)
    assert "input" not in stub and "result" not in stub


# --- records ---

@pytest.fixture
def ctx():
    return context.RequestContext(project_id="p-" + uuid.uuid4().hex[:6],
                                  user_id="u", roles=["admin"],
                                  is_admin=True)


def test_life_of_a_task(sqlite_db, ctx, conf):
    conf(group="task", task_time_to_live=1)
    task = task_records.create(ctx, "import", {"a": 1})
    assert task["status"] == "pending" and task["expires_at"] is None
    assert task["owner"] == ctx.project_id
    task = task_records.start(task["id"])
    assert task["status"] == "processing"
    task = task_records.succeed(task["id"], {"image_id": "i"})
    assert task["status"] == "success" and task["result"] == {
        "image_id": "i"}
    ttl = task["expires_at"] - task_records.utcnow()
    assert datetime.timedelta(minutes=59) < ttl <= datetime.timedelta(
        hours=1)


def test_expired_tasks_deleted_when_listing(sqlite_db, ctx, conf):
    conf(group="task", task_time_to_live=0)
    task = task_records.create(ctx, "import", {})
    task_records.fail(task["id"], "boom")
    tasks, _ = task_service.list_tasks(ctx, limit=1000)
    assert task["id"] not in [t["id"] for t in tasks]
    with pytest.raises(exception.NotFound):
        db.task_get(task["id"])


@pytest.fixture
def native_pool(monkeypatch):
    import glance.async_
    previous = glance.async_._THREADPOOL_MODEL
    glance.async_._reset_threadpool_model()
    glance.async_.set_threadpool_model("native")
    monkeypatch.setattr(executor, "_POOL", None)
    yield
    if executor._POOL is not None:
        executor._POOL.shutdown()
    glance.async_._reset_threadpool_model()
    glance.async_._THREADPOOL_MODEL = previous


def test_executor_runs_and_counts(sqlite_db, ctx, native_pool):
    before = executor.pool_statistics()["executed"]
    task = task_records.create(ctx, "location_import", {})
    future = executor.TaskExecutor(ctx).begin_processing(task["id"])
    done = future.result(timeout=10)
    assert done["status"] == "failure"
    assert done["message"] == "Input to location_import task is empty."
    stats = executor.pool_statistics()
    assert stats["executed"] == before + 1
    assert stats["average_runtime"] >= 0
    executor.log_statistics(force=True)


def test_unknown_type_fails(sqlite_db, ctx):
    task = db.task_create({"type": "mystery", "owner": ctx.project_id})
    done = executor.TaskExecutor(ctx).run_now(task["id"])
    assert done["status"] == "failure"
    assert "Unknown task type" in done["message"]


def test_healthcheck_backend_reports_statistics():
    from oslo_config import cfg
    check = executor.TaskPoolHealthcheck(cfg.CONF, {})
    result = check.healthcheck(9292)
    assert result.available
    assert "executed" in result.details and "average runtime" in \
        result.details
