"""glance-manage speaks Glance's commands, options and exit codes.

``db check`` exits as Glance 33's does (checked against the real one in
tests/functional/test_glance_adoption.py): 0 up to date, 3 when ``db
expand`` is due. Our expand does the whole upgrade, so migrate and
contract refuse (exit 1) before it and have nothing to do after it.
"""
import datetime
import os
import sys

import pytest
import sqlalchemy as sa

from glance.cmd import manage
from glance.db import api
from glance.db import migration
from glance.db import models
from glance.db import purge
from glance.db import session as db_session


@pytest.fixture
def run(tmp_path, capsys):
    """``run(*args)``: (exit status, stdout, stderr) of glance-manage on a
    new SQLite file (or on ``url=``)."""
    from oslo_config import cfg
    was_parsed = cfg.CONF._args is not None

    def _run(*args, url="sqlite:///%s" % (tmp_path / "glance.sqlite")):
        conf = tmp_path / "glance-manage.conf"
        conf.write_text("[database]\nconnection = %s\nmax_retries = 0\n"
                        % url)
        status = manage.main(["--config-file", str(conf), *args])
        out = capsys.readouterr()
        return status, out.out, out.err

    yield _run
    db_session.configure(None)
    if was_parsed and cfg.CONF._args is None:
        cfg.CONF([], project="glance", default_config_files=[])


def test_expand_migrate_contract_check(run):
    status, out, _ = run("db", "check")
    assert (status, "db expand" in out) == (3, True)
    for action in ("migrate", "contract"):
        status, _, err = run("db", action)
        assert status == 1 and "glance-manage db expand" in err
        assert err.count("\n") == 1
    assert run("db", "expand")[0] == 0
    status, out, _ = run("db", "check")
    assert (status, out.strip()) == (
        0, "Database is up to date. No upgrades needed.")
    for action in ("migrate", "contract", "expand", "sync"):
        status, out, _ = run("db", action)
        assert (status, out.strip()) == (0, manage.UP_TO_DATE)


def test_legacy_spellings(run):
    assert run("db_check")[0] == 3
    assert run("db_version")[1].startswith("None")
    status, out, _ = run("db_sync")
    assert status == 0 and migration.head_version() in out
    assert run("db_version")[1].split() == [migration.head_version()]
    assert run("db_check")[0] == 0
    for legacy in ("db_expand", "db_migrate", "db_contract", "db_upgrade"):
        assert run(legacy)[0] == 0


def test_sync_takes_glance_version_option(run):
    status, _, err = run("db", "sync", "--version", "9999")
    assert status == 1 and "9999" in err
    assert run("db", "sync", "--version", "0001")[0] == 0
    assert run("db", "version")[1].split() == ["0001"]


def test_metadef_path_defaults_to_the_installed_catalog(tmp_path, conf):
    assert manage.metadefs_path(str(tmp_path)) == str(tmp_path)
    conf(metadata_source_path=str(tmp_path))
    assert manage.metadefs_path() == str(tmp_path)
    conf(metadata_source_path=str(tmp_path / "missing"))
    found = manage.metadefs_path()
    assert found.endswith(os.path.join("etc", "metadefs")) or \
        found.endswith(os.path.join("etc", "glance", "metadefs"))
    assert os.path.isdir(found)


@pytest.mark.parametrize("args, message", [
    (("--age_in_days", "-1"), "non-negative"),
    (("--age_in_days", "100000"), "days since epoch"),
    (("--max_rows", "-2"), "Minimal rows limit is -1"),
    (("--max_rows", str(2 ** 31)), "out of range")])
def test_purge_refuses_bad_values(run, args, message):
    status, _, err = run("db", "purge", *args)
    assert status == 1 and message in err


def test_purge_defaults(run):
    run("db", "sync")
    status, out, _ = run("db", "purge")
    assert status == 0
    assert "Purged 0 row(s) from image_properties" in out


@pytest.mark.parametrize("url, extra", [
    ("postgresql+psycopg2://u:pw@127.0.0.1/glance", "glance[postgresql]"),
    ("postgresql://u:pw@127.0.0.1/glance", "glance[postgresql]"),
    ("mysql+pymysql://u:pw@127.0.0.1/glance", "glance[mysql]"),
    ("mysql://u:pw@127.0.0.1/glance", "glance[mysql]")])
def test_missing_driver_names_the_extra(run, monkeypatch, url, extra):
    for module in ("psycopg2", "pymysql", "MySQLdb"):
        monkeypatch.setitem(sys.modules, module, None)
    status, out, err = run("db", "sync", url=url)
    assert status == 1 and out == ""
    assert err.count("\n") == 1 and "pip install '%s'" % extra in err
    assert "database driver missing" in err and "pw" not in err
    if "+" not in url:
        assert "use a " in err   # our extra installs another driver


# -- purge, on every backend --------------------------------------------------

def _age(table, row_filter, days):
    """Pretend the matching rows were deleted ``days`` ago."""
    when = models.utcnow() - datetime.timedelta(days=days)
    with db_session.connection(write=True) as conn:
        conn.execute(table.update().where(row_filter).values(
            deleted=True, deleted_at=when))


def test_purge_removes_old_deleted_rows_but_not_images(db):
    image = api.image_create({"properties": {"a": "1", "b": "2"},
                              "tags": ["x", "y"]})
    api.image_member_create(image["id"], "p")
    api.task_create({"type": "import", "status": "success", "owner": "o",
                     "input": {"k": 1}})
    props, tags = (models.ImageProperty.__table__,
                   models.ImageTag.__table__)
    tasks, images = models.Task.__table__, models.Image.__table__
    _age(props, props.c.name == "a", 40)
    _age(props, props.c.name == "b", 10)
    _age(tags, tags.c.image_id == image["id"], 40)
    _age(tasks, sa.true(), 40)
    _age(images, images.c.id == image["id"], 40)

    assert purge.purge_deleted_rows(30, 1) == {
        "image_properties": 1, "image_tags": 1, "image_locations": 0,
        "image_members": 0, "tasks": 1}
    assert purge.purge_deleted_rows(30, -1)["image_tags"] == 1
    assert purge.purge_deleted_rows(5, -1)["image_properties"] == 1
    with db_session.connection(write=False) as conn:
        def count(table):
            return conn.execute(
                sa.select(sa.func.count()).select_from(table)).scalar()
        assert (count(images), count(props), count(tags)) == (1, 0, 0)
        assert count(models.TaskInfo.__table__) == 0
        assert count(models.ImageMember.__table__) == 1
