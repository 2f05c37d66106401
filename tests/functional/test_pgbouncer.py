"""glance-api behind PgBouncer in transaction pool mode.

A pooler that hands out PostgreSQL server sessions per transaction loses
prepared statements between one statement and the next
(``glance.db.pg_prepared``). With two server sessions taken in turn
(``server_round_robin``), the first prepared read of a worker finds its
statement gone: the worker must answer it all the same, log why it turns
prepared statements off, and answer everything after plainly. With
``[database] use_prepared_statements = false``, as the docs tell
operators to set there, nothing is prepared at all.

Needs Debian's ``pgbouncer`` (``tools/install-system-packages.sh``); it
runs as ``nobody`` (it refuses root) on a free port of 127.0.0.1 and is
stopped at the end.
"""
import os
import shutil
import signal
import socket
import subprocess

import pytest
import requests
import sqlalchemy as sa

from tests.functional.apiclient import identity_headers
from tests.functional.server import free_port
from tests.functional.server import GlanceServer
from tests.functional.server import wait_for
from tests.functional.test_multinode import db_sync
from tests.unit.db.conftest import server_database
from tests.unit.db.conftest import unavailable

CONFIG = """\
[databases]
%(name)s = host=127.0.0.1 port=5432 dbname=%(name)s user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %(port)d
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 2
min_pool_size = 2
server_round_robin = 1
"""
HEADERS = identity_headers("pgb-project")


def _binary():
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK)
        else None)


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def bouncer(tmp_path):
    """(the database's URL through PgBouncer, its direct URL)."""
    binary = _binary()
    if binary is None:
        unavailable("pgbouncer is not installed "
                    "(tools/install-system-packages.sh)")
    with server_database("postgresql") as direct:
        name = sa.engine.make_url(direct).database
        port = free_port()
        ini = tmp_path / "pgbouncer.ini"
        ini.write_text(CONFIG % {"name": name, "port": port})
        log = open(tmp_path / "pgbouncer.log", "wb")
        process = subprocess.Popen([binary, "-u", "nobody", str(ini)],
                                   stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            wait_for(lambda: _listening(port), timeout=10,
                     message="pgbouncer to listen")
            yield ("postgresql+psycopg2://postgres@127.0.0.1:%d/%s"
                   % (port, name), direct)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def _serve(tmp_path, bouncer, prepared):
    through, direct = bouncer
    srv = GlanceServer(tmp_path / "glance", workers=1, flavor="trusted-auth",
                       conf={"database": {"connection": direct}})
    db_sync(srv)      # the schema directly; the API through the pooler
    srv.update_config({"database": {
        "connection": through, "use_prepared_statements": prepared}})
    return srv


def _exercise(srv):
    """Create images, then list and show them several ways; every answer
    must be right."""
    ids = []
    for i in range(6):
        body = {"name": "pgb-%d" % i, "tags": ["t%d" % (i % 2)],
                "os_distro": "d%d" % (i % 3), "disk_format": "raw",
                "container_format": "bare"}
        resp = requests.post(srv.url + "/v2/images", headers=HEADERS,
                             timeout=30, json=body)
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["id"])
    newest_first = ids[::-1]
    for _ in range(3):
        for query, expected in (
                ("limit=25", newest_first),
                ("limit=2", newest_first[:2]),
                ("tag=t1", [i for i in newest_first
                            if ids.index(i) % 2 == 1]),
                ("os_distro=d0", [i for i in newest_first
                                  if ids.index(i) % 3 == 0]),
                ("name=in:pgb-1,pgb-4", [ids[4], ids[1]])):
            resp = requests.get(srv.url + "/v2/images?" + query,
                                headers=HEADERS, timeout=30)
            assert resp.status_code == 200, (query, resp.text)
            assert [i["id"] for i in resp.json()["images"]] == expected
        resp = requests.get(srv.url + "/v2/images?limit=2&marker=" +
                            newest_first[1], headers=HEADERS, timeout=30)
        assert [i["id"] for i in resp.json()["images"]] == \
            newest_first[2:4]
        for image_id in ids:
            resp = requests.get(srv.url + "/v2/images/" + image_id,
                                headers=HEADERS, timeout=30)
            assert resp.status_code == 200 and \
                resp.json()["id"] == image_id


def test_lost_statements_turn_preparing_off_and_every_answer_is_right(
        tmp_path, bouncer):
    with _serve(tmp_path, bouncer, True) as srv:
        _exercise(srv)
        log = srv.log_text()
    assert log.count("prepared statements turned off in this process") \
        == 1, log
    assert "Traceback" not in log and '" 500 ' not in log


def test_with_the_option_off_nothing_is_prepared(tmp_path, bouncer):
    with _serve(tmp_path, bouncer, False) as srv:
        _exercise(srv)
        log = srv.log_text()
    assert "prepared statements turned off" not in log
    assert "Traceback" not in log and '" 500 ' not in log
