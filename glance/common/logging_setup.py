"""oslo.log's set-up, and no thread lookup per record unless shown.

For every record Python's logging asks for the current thread, which
under eventlet's patched ``threading`` swaps modules in and out (about a
sixth of a record's cost, and a daemon writes one access line per
request). oslo.log's default formats show the process, never the thread,
so the thread is looked up only where a record may show it: a format
naming it, oslo.log's JSON or journal output, or a logging config file
of the operator's (which may name anything).

The handlers oslo.log makes from options then get the quick formatter
of :mod:`glance.common.log_format` (same lines, less time per line).
"""
import logging as std_logging

from oslo_log import log as logging

from glance.common import log_format

FORMAT_OPTIONS = ("logging_context_format_string",
                  "logging_default_format_string",
                  "logging_debug_format_suffix",
                  "logging_exception_prefix")


def setup(conf, product="glance"):
    """``oslo_log.log.setup``, then thread lookups as the output needs."""
    logging.setup(conf, product)
    std_logging.logThreads = records_show_threads(conf)
    if not conf.log_config_append:
        log_format.install()


def records_show_threads(conf):
    """Whether the configured log output may show a record's thread."""
    if conf.log_config_append or conf.use_json or conf.use_journal:
        return True
    return any("thread" in (getattr(conf, name) or "")
               for name in FORMAT_OPTIONS)
