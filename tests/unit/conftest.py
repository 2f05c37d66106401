"""Fixtures shared by the unit tests that run the services in-process on
SQLite and file stores.

``sqlite_url`` is module-scoped: each test module that asks for it gets a
database of its own (so a module's tests may rely on what its earlier
tests left, and pytest-xdist workers never share a file). ``sqlite_db``
points ``glance.db.session`` back at it for each test, as another
module's fixture may have re-pointed it in between.
"""
import uuid

import glance_store
import pytest
from oslo_config import cfg

from glance.async_ import executor
from glance import context
from glance.db import migration
from glance.db import session as db_session

CONF = cfg.CONF


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory):
    """URL of this module's migrated SQLite database."""
    url = "sqlite:///%s" % (tmp_path_factory.mktemp("db") / "g.sqlite")
    db_session.configure(url)
    migration.db_sync()
    yield url
    db_session.configure(None)


@pytest.fixture
def sqlite_db(sqlite_url):
    """This module's database, in use by glance.db for this test."""
    if db_session.connection_url() != sqlite_url:
        db_session.configure(sqlite_url)
    return sqlite_url


@pytest.fixture
def file_store(tmp_path, conf):
    """A single file store in ``tmp_path/images`` (returned, not created)
    with staging in ``tmp_path/staging``."""
    datadir = tmp_path / "images"
    glance_store.register_opts(CONF)
    conf(group="glance_store", stores=["file"], default_store="file",
         filesystem_store_datadir=str(datadir))
    conf(node_staging_uri="file://%s" % (tmp_path / "staging"))
    glance_store.create_stores(CONF)
    return datadir


@pytest.fixture
def spawned_tasks(monkeypatch):
    """Tasks handed to the executor are recorded, not run: a list of
    (executor, task id) for the test to run with ``run_now``."""
    spawned = []
    monkeypatch.setattr(executor.TaskExecutor, "begin_processing",
                        lambda self, task_id: spawned.append((self,
                                                              task_id)))
    return spawned


@pytest.fixture
def ctx():
    """A member of a project of its own, so tests never see each other's
    images in the module's shared database."""
    return context.RequestContext(project_id="p-" + uuid.uuid4().hex[:8],
                                  user_id="u1", roles=["member", "reader"])
