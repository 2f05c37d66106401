"""Start-up against a database server that is not there yet.

``[database] max_retries`` / ``retry_interval`` as oslo.db defines them:
the first connection of a new engine is retried while the server cannot
be reached (-1: forever); other errors (a refused password) are not.
The end-to-end check, with real processes and a real PostgreSQL behind a
late proxy, is tests/functional/test_database_startup_wait.py.
"""
import pytest
from sqlalchemy import exc as sa_exc

from glance.db import session as db_session


class Refused(Exception):
    pass


def _error(message):
    return sa_exc.OperationalError("connect", None, Refused(message))


class FakeEngine:
    """Fails ``failures`` times with ``error``, then connects."""

    url = db_session.sa.engine.make_url("postgresql://u:pw@db/glance")

    def __init__(self, failures, error):
        self.failures, self.error, self.attempts = failures, error, 0

    def connect(self):
        self.attempts += 1
        if self.attempts <= self.failures:
            raise self.error
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


REFUSED = _error('connection to server at "127.0.0.1", port 5 failed: '
                 'Connection refused')


@pytest.fixture
def no_sleep(monkeypatch):
    slept = []
    monkeypatch.setattr(db_session.time, "sleep", slept.append)
    return slept


def test_defaults_are_oslo_db_s(conf):
    assert db_session.CONF.database.max_retries == 10
    assert db_session.CONF.database.retry_interval == 10


def test_retries_until_the_server_answers(conf, no_sleep):
    conf(group="database", max_retries=5, retry_interval=3)
    engine = FakeEngine(4, REFUSED)
    db_session._wait_for_server(engine)
    assert engine.attempts == 5 and no_sleep == [3] * 4


def test_gives_up_after_max_retries(conf, no_sleep):
    conf(group="database", max_retries=2, retry_interval=1)
    engine = FakeEngine(100, REFUSED)
    with pytest.raises(sa_exc.OperationalError):
        db_session._wait_for_server(engine)
    assert engine.attempts == 3 and no_sleep == [1, 1]


def test_minus_one_retries_forever(conf, no_sleep):
    conf(group="database", max_retries=-1, retry_interval=0)
    engine = FakeEngine(50, REFUSED)
    db_session._wait_for_server(engine)
    assert engine.attempts == 51


def test_other_errors_are_not_retried(conf, no_sleep):
    conf(group="database", max_retries=5, retry_interval=1)
    engine = FakeEngine(1, _error("FATAL:  password authentication failed"))
    with pytest.raises(sa_exc.OperationalError):
        db_session._wait_for_server(engine)
    assert engine.attempts == 1 and no_sleep == []


@pytest.mark.parametrize("orig, unreachable", [
    (Refused("could not connect to server: Connection refused"), True),
    (Refused("FATAL:  the database system is starting up"), True),
    (Refused('FATAL:  database "x" does not exist'), False),
    (Refused(2003, "Can't connect to MySQL server on '127.0.0.1'"), True),
    (Refused(1045, "Access denied for user 'root'"), False)])
def test_unreachable_is_told_from_other_errors(orig, unreachable):
    error = sa_exc.OperationalError("connect", None, orig)
    assert db_session.is_unreachable(error) is unreachable
