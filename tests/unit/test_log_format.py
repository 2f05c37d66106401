"""The quick formatter writes what oslo.log's ContextFormatter writes."""
import copy
import logging
import os
import sys
import time

import pytest
from oslo_config import cfg
from oslo_context import context as context_utils
from oslo_log import formatters
from oslo_log import log as oslo_logging

from glance import context as glance_context
from glance.common import log_format

# 2026-11-01 05:30:00 UTC: 01:30 EDT; an hour later 01:30 EST again
FALL_BACK = 1793511000.25


@pytest.fixture
def conf():
    conf = cfg.ConfigOpts()
    oslo_logging.register_options(conf)
    conf([], project="glance")
    return conf


@pytest.fixture(autouse=True)
def no_current_context():
    store = context_utils._request_store
    saved = getattr(store, "context", None)
    store.context = None
    yield
    store.context = saved


def formatters_for(conf):
    oslo = formatters.ContextFormatter(project="glance", version="33",
                                       datefmt=conf.log_date_format,
                                       config=conf)
    return oslo, log_format.QuickContextFormatter.replacing(oslo)


def make_record(msg="GET /v2/images 200", args=(), level=logging.INFO,
                created=None, exc_info=None, **extra):
    record = logging.LogRecord("eventlet.wsgi.server", level, __file__, 10,
                               msg, args, exc_info)
    if created is not None:
        record.created = created
        record.msecs = (created - int(created)) * 1000
    record.__dict__.update(extra)
    return record


def assert_same(conf, record, oslo=None, quick=None):
    """Both formatters give the same line and leave the same record."""
    if oslo is None:
        oslo, quick = formatters_for(conf)
    theirs, ours = record, copy.copy(record)
    expected = oslo.format(theirs)
    assert quick.format(ours) == expected
    assert ours.__dict__ == theirs.__dict__
    return expected


def request_context(**kwargs):
    values = dict(user_id="u1", project_id="p1", roles=["member"],
                  request_id="req-1f2e")
    values.update(kwargs)
    return glance_context.RequestContext(**values)


def test_a_line_without_context(conf):
    line = assert_same(conf, make_record())
    assert "GET /v2/images 200" in line


def test_a_line_with_the_current_request_context(conf):
    request_context().update_store()
    line = assert_same(conf, make_record())
    assert "req-1f2e u1 p1" in line


@pytest.mark.parametrize("kwargs", [
    {"resource_uuid": "9d2c"},
    {"user_name": "alice", "project_name": "demo",
     "global_request_id": "req-global", "user_domain_id": "d1"},
    {"request_id": None},
    {"auth_token": "secret-token"},
])
def test_context_values(conf, kwargs):
    request_context(**kwargs).update_store()
    line = assert_same(conf, make_record())
    assert "secret-token" not in line


def test_a_context_given_with_the_record_wins(conf):
    request_context().update_store()
    line = assert_same(conf, make_record(
        context=request_context(request_id="req-given")))
    assert "req-given" in line
    assert "req-1f2e" not in assert_same(conf, make_record(context=None))


@pytest.mark.parametrize("record", [
    make_record(instance={"uuid": "i-1"}),
    make_record(instance_uuid="i-2"),
    make_record(level=logging.DEBUG),
    make_record(level=logging.WARNING),
    make_record(level=logging.ERROR, context={"request_id": "req-dict"}),
    make_record(context={"request_id": "req-dict"}),
    make_record("%(a)d items", args=({"a": "many"},)),
    make_record(level=25, created=FALL_BACK),
], ids=["instance", "instance_uuid", "debug", "warning", "error-dict",
        "dict-context", "bad-args", "custom-level"])
def test_other_records_as_oslo_log_writes_them(conf, record):
    request_context().update_store()
    assert_same(conf, record)


def test_an_exception_and_its_summary(conf):
    try:
        raise RuntimeError("disk on fire")
    except RuntimeError:
        assert_same(conf, make_record(level=logging.WARNING))
        line = assert_same(conf, make_record(exc_info=sys.exc_info()))
    assert "disk on fire" in line


@pytest.mark.parametrize("created", [
    1700000000.0, 1700000000.5, 1700000000.9999996,
    # rounded to a whole second: up into the next, or down (oslo.log then
    # writes no fraction, as for neither)
    1700000000.9999995, 1700000000.0000005, -0.3, -1.0000004])
def test_isotime_and_formats_naming_every_field(conf, created):
    fmt = ("%(isotime)s|%(asctime)s|%(error_summary)s|%(instance)s|"
           "%(color)s|%(user_identity)s|%(resource)s|%(project)s|"
           "%(version)s|%(global_request_id)s %(message)s")
    conf.set_override("logging_context_format_string", fmt)
    conf.set_override("logging_default_format_string", "D " + fmt)
    request_context(resource_uuid="r-9").update_store()
    assert_same(conf, make_record(created=created))
    context_utils._request_store.context = None
    assert_same(conf, make_record(created=created)).startswith("D ")


@pytest.fixture
def new_york_time():
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "EST5EDT,M3.2.0,M11.1.0"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


def test_isotime_across_the_hour_repeated_when_clocks_go_back(
        conf, new_york_time):
    conf.set_override("logging_default_format_string", "%(isotime)s")
    oslo, quick = formatters_for(conf)
    lines = [assert_same(conf, make_record(created=FALL_BACK + step),
                         oslo, quick)
             for step in (-3600, 0, 0.5, 3600, 3600.5, 7200)]
    assert lines[1][:19] == lines[3][:19] == "2026-11-01T01:30:00"
    assert lines[1].endswith("-04:00") and lines[3].endswith("-05:00")


def test_isotime_of_records_through_several_seconds(conf, new_york_time):
    # the formatter keeps each second's text: records within one second
    # and in the next ones, each to the microsecond, around the hour the
    # clocks go back
    conf.set_override("logging_default_format_string", "%(isotime)s")
    oslo, quick = formatters_for(conf)
    for start in (FALL_BACK - 2.5, FALL_BACK + 3598.5):
        lines = {assert_same(conf, make_record(created=start + step * 0.0137),
                             oslo, quick)
                 for step in range(400)}
        assert len({line[:19] for line in lines}) >= 5


@pytest.mark.parametrize("datefmt", [None, "%Y-%m-%d %H:%M:%S", "%s %j"])
def test_asctime_of_records_in_one_second_and_the_next(conf, datefmt):
    conf.set_override("logging_default_format_string", "%(asctime)s")
    oslo = formatters.ContextFormatter(project="glance", version="33",
                                       datefmt=datefmt, config=conf)
    quick = log_format.QuickContextFormatter.replacing(oslo)
    lines = [assert_same(conf, make_record(created=1700000000 + step),
                         oslo, quick)
             for step in (0.125, 0.5, 0.999, 1.0, 1.5, 61)]
    assert len(set(lines)) == (6 if datefmt is None else 3)


# --- quick_info: the record of oslo.log's adapter's info ---------------------

class Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def captured():
    logger = logging.getLogger("glance.tests.quick_info")
    handler = Records()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False   # no other test's handler formats them
    yield logger, handler.records
    logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


def log_both_ways(log, text):
    # both calls on one line: their caller's line is the same
    log.info(text); log_format.quick_info(log, text)  # noqa: E702


_MOMENTS = ("created", "msecs", "relativeCreated", "thread", "threadName")


@pytest.mark.parametrize("adapter_extra", [
    {}, {"version": "33", "project": "glance"}])
def test_quick_info_makes_the_record_info_makes(captured, adapter_extra):
    logger, records = captured
    log = oslo_logging.KeywordArgumentAdapter(logger, adapter_extra)
    log_both_ways(log, '10.0.0.1 - - "GET /v2/images HTTP/1.1" 200 5 %s')
    plain, quick = ({k: v for k, v in vars(r).items() if k not in _MOMENTS}
                    for r in records)
    assert plain == quick
    assert quick["funcName"] == "log_both_ways"
    assert quick["pathname"] == __file__
    assert quick["extra_keys"] == sorted(adapter_extra)
    assert quick["args"] == ()
    assert records[1].getMessage().endswith("200 5 %s")


def test_quick_info_respects_the_level_and_other_loggers(captured):
    logger, records = captured
    log = oslo_logging.KeywordArgumentAdapter(logger, {})
    logger.setLevel(logging.WARNING)
    log_format.quick_info(log, "not written")
    assert records == []
    logger.setLevel(logging.INFO)
    plain = logging.LoggerAdapter(logger, {"x": 1})
    log_format.quick_info(plain, "through its own info")
    assert records[0].x == 1 and records[0].getMessage() == \
        "through its own info"
