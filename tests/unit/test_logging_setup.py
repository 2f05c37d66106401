"""Thread lookups per log record only where the output may show them."""
import logging as std_logging
import logging.handlers
import os

import pytest
from oslo_config import cfg
from oslo_log import formatters
from oslo_log import log as logging

from glance.common import log_format
from glance.common import logging_setup


@pytest.fixture
def conf(tmp_path):
    conf = cfg.ConfigOpts()
    logging.register_options(conf)
    conf([], project="glance")
    conf.set_override("log_file", str(tmp_path / "glance.log"))
    root = std_logging.getLogger()
    saved = std_logging.logThreads, list(root.handlers), root.level
    yield conf
    std_logging.logThreads = saved[0]
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in saved[1]:
        root.addHandler(handler)
    root.setLevel(saved[2])


def test_default_formats_do_not_show_threads(conf):
    assert logging_setup.records_show_threads(conf) is False


@pytest.mark.parametrize("option,value", [
    ("logging_context_format_string", "%(asctime)s %(thread)d %(message)s"),
    ("logging_default_format_string", "%(threadName)s %(message)s"),
    ("logging_debug_format_suffix", "(%(threadName)s)"),
    ("logging_exception_prefix", "%(thread)d TRACE "),
    ("use_json", True), ("use_journal", True),
    ("log_config_append", "/etc/glance/logging.conf")])
def test_output_that_may_show_threads_keeps_them(conf, option, value):
    conf.set_override(option, value)
    assert logging_setup.records_show_threads(conf) is True


def _logged(conf, tmp_path, fmt):
    # a request context left by another test picks the context format
    conf.set_override("logging_default_format_string", fmt)
    conf.set_override("logging_context_format_string", fmt)
    logging_setup.setup(conf)
    logging.getLogger("glance.test").info("hello")
    return (tmp_path / "glance.log").read_text().splitlines()[-1]


def test_setup_leaves_thread_lookups_off_then_on_as_formats_need(
        conf, tmp_path):
    line = _logged(conf, tmp_path, "%(process)d %(message)s")
    assert std_logging.logThreads is False
    assert line.split() == [str(os.getpid()), "hello"]
    line = _logged(conf, tmp_path, "%(threadName)s %(message)s")
    assert std_logging.logThreads is True
    assert line == "MainThread hello"


def test_oslo_log_handlers_get_the_quick_formatter_but_json_does_not(conf):
    conf.set_override("use_stderr", True)
    logging_setup.setup(conf)
    root = std_logging.getLogger()
    assert [(type(h), type(h.formatter)) for h in root.handlers] == [
        (std_logging.handlers.WatchedFileHandler,
         log_format.QuickContextFormatter),
        (std_logging.StreamHandler, log_format.QuickContextFormatter)]
    conf.set_override("use_json", True)
    logging_setup.setup(conf)
    assert type(root.handlers[0].formatter) is formatters.JSONFormatter
