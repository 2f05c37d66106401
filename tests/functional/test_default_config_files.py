"""The files the console scripts read without ``--config-file``, as
Glance's scripts read them on a node where everything is in
``glance-api.conf``.

glance-manage reads ``glance-api.conf`` then ``glance-manage.conf``; the
cache cron tools read ``glance-api.conf`` then ``glance-cache.conf``
(the later file's values win). Each is found the oslo.config way; the
tests put them in ``$HOME/.glance``, the first place searched.
"""
import os
import pathlib
import subprocess
import sys

import sqlalchemy as sa
from sqlalchemy import pool as sa_pool

BIN = pathlib.Path(sys.executable).parent


def run(script, home, *args):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OS_", "GLANCE_"))}
    env["HOME"] = str(home)
    env["XDG_DATA_HOME"] = str(home / "xdg")
    return subprocess.run([str(BIN / script), *args], env=env, cwd=home,
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def revision(db_file):
    engine = sa.create_engine("sqlite:///%s" % db_file,
                              poolclass=sa_pool.NullPool)
    with engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT version_num FROM alembic_version").scalar()


def test_manage_reads_glance_api_conf(tmp_path):
    home = tmp_path / "home"
    db_file = tmp_path / "from-api-conf.sqlite"
    write(home / ".glance" / "glance-api.conf",
          "[database]\nconnection = sqlite:///%s\n" % db_file)
    done = run("glance-manage", home, "db_sync")
    assert done.returncode == 0, done.stderr
    assert revision(db_file)
    # nothing made in the embedded default's place
    assert not (home / "xdg").exists()
    done = run("glance-manage", home, "db", "check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_glance_manage_conf_wins_over_glance_api_conf(tmp_path):
    home = tmp_path / "home"
    api_db = tmp_path / "api.sqlite"
    manage_db = tmp_path / "manage.sqlite"
    write(home / ".glance" / "glance-api.conf",
          "[database]\nconnection = sqlite:///%s\n" % api_db)
    write(home / ".glance" / "glance-manage.conf",
          "[database]\nconnection = sqlite:///%s\n" % manage_db)
    done = run("glance-manage", home, "db", "sync")
    assert done.returncode == 0, done.stderr
    assert revision(manage_db) and not api_db.exists()


def test_config_file_option_replaces_the_defaults(tmp_path):
    home = tmp_path / "home"
    api_db = tmp_path / "api.sqlite"
    named_db = tmp_path / "named.sqlite"
    write(home / ".glance" / "glance-api.conf",
          "[database]\nconnection = sqlite:///%s\n" % api_db)
    named = tmp_path / "named.conf"
    write(named, "[database]\nconnection = sqlite:///%s\n" % named_db)
    done = run("glance-manage", home, "--config-file", str(named), "db",
               "sync")
    assert done.returncode == 0, done.stderr
    assert revision(named_db) and not api_db.exists()


def test_cache_cron_tool_reads_glance_api_conf(tmp_path):
    home = tmp_path / "home"
    cache = tmp_path / "api-cache"
    write(home / ".glance" / "glance-api.conf",
          "[DEFAULT]\nimage_cache_dir = %s\n" % cache)
    done = run("glance-cache-pruner", home, "-v")
    assert done.returncode == 0, done.stderr
    assert "Pruned 0 image(s)" in done.stdout
    assert cache.is_dir()


def test_glance_cache_conf_wins_over_glance_api_conf(tmp_path):
    home = tmp_path / "home"
    write(home / ".glance" / "glance-api.conf",
          "[DEFAULT]\nimage_cache_dir = %s\n" % (tmp_path / "api-cache"))
    write(home / ".glance" / "glance-cache.conf",
          "[DEFAULT]\nimage_cache_dir = %s\n" % (tmp_path / "cron-cache"))
    done = run("glance-cache-cleaner", home)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cron-cache").is_dir()
    assert not (tmp_path / "api-cache").exists()
