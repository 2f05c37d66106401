"""glance.common.process: the one fork check of the per-process singletons.

Each test forks a real child, which answers through a pipe.
"""
import json
import os
import sys
import threading
import types

import pytest

from glance.common import process


def _in_child(check):
    """Run ``check()`` (returning something JSON) in a forked child."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        try:
            answer = {"ok": check()}
        except BaseException as e:  # noqa: B036 - reported to the parent
            answer = {"error": repr(e)}
        os.write(write_end, json.dumps(answer).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        data = reader.read()
    os.waitpid(pid, 0)
    answer = json.loads(data)
    assert "error" not in answer, answer["error"]
    return answer["ok"]


@pytest.fixture
def module(monkeypatch):
    mod = types.ModuleType("glance_test_singletons")
    mod.VALUE = object()
    mod.LOCK = threading.Lock()
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setattr(process, "_GLOBALS", [])
    monkeypatch.setattr(process, "_CALLBACKS", [])
    return mod


def test_a_child_forgets_the_singletons_and_gets_new_locks(module):
    process.per_process(module.__name__, "VALUE", locks=["LOCK"])
    module.LOCK.acquire()    # as if a parent's thread held it at fork
    parent_value = module.VALUE
    try:
        child = _in_child(lambda: [module.VALUE is None,
                                   module.LOCK.acquire(blocking=False)])
    finally:
        module.LOCK.release()
    assert child == [True, True]
    assert module.VALUE is parent_value        # the parent keeps its own


def test_after_fork_callbacks_run_in_the_child_only(module):
    ran = []
    process.after_fork(lambda: ran.append(os.getpid()))
    assert _in_child(lambda: len(ran)) == 1
    assert ran == []


def test_the_services_singletons_are_per_process():
    # the modules that keep one: each registered, no pid comparison left
    from glance.async_ import executor
    from glance.db import session
    from glance import notifier
    from glance.services import cache
    from glance.services import image_locations
    registered = {name for name, _names, _locks in process._GLOBALS}
    assert {executor.__name__, notifier.__name__, cache.__name__,
            image_locations.__name__} <= registered
    assert session._after_fork_in_child in process._CALLBACKS
    for mod in (executor, notifier, cache, image_locations, session):
        with open(mod.__file__) as f:
            assert "getpid() !=" not in f.read().replace("!= os.getpid()",
                                                         "getpid() !=")


def test_a_child_builds_its_own_task_pool(monkeypatch):
    from glance.async_ import executor
    made = []
    monkeypatch.setattr(executor.glance.async_, "get_threadpool_model",
                        lambda: lambda size: made.append(size) or object())
    monkeypatch.setattr(executor, "_POOL", None)
    pool = executor.get_pool()
    assert executor.get_pool() is pool and len(made) == 1
    assert _in_child(lambda: [executor._POOL is None,
                              executor.get_pool() is not pool,
                              len(made)]) == [True, True, 2]


def test_a_child_dying_while_it_logs_leaves_the_parents_log_lock(
        monkeypatch):
    """oslo.log's pipe lock (one byte in a pipe a child would share with
    its parent): a child that takes it and dies must not take it from
    the parent, whose next log line would otherwise wait forever."""
    import logging

    from oslo_log import pipe_mutex
    handler = logging.StreamHandler()
    handler.lock = pipe_mutex.PipeMutex()
    monkeypatch.setattr(logging.StreamHandler, "createLock",
                        pipe_mutex.pipe_createLock)
    logging.getLogger("glance_test_fork").addHandler(handler)
    try:
        # the child takes the lock and exits holding it
        assert _in_child(lambda: handler.lock.acquire(blocking=False))
        assert handler.lock.acquire(blocking=False)
        handler.lock.release()
    finally:
        logging.getLogger("glance_test_fork").removeHandler(handler)
        handler.close()
