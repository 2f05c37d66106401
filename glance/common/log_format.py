"""oslo.log's context formatter, the same lines for less.

A worker writes one access line per request through oslo.log's handlers,
and for a small request (showing an image) that line took about a fifth
of the worker's time. Part of it is a generic path of oslo.log:
``ContextFormatter`` asks the request context for its logging values
twice per record, builds a new dateutil ``tzlocal`` per record for the
``isotime`` field, a new ``PercentStyle`` per record, and formats the
same second's ``asctime`` again for every record of that second.

:class:`QuickContextFormatter` writes the same text and leaves the same
attributes on the record (another handler may format it after) for the
common record: a level between DEBUG and WARNING, no exception, no
``instance`` or ``instance_uuid`` argument, no context or an oslo.context
``RequestContext``. Every other record takes oslo.log's own path. Tests
compare both, line by line and attribute by attribute. It reads the local
time zone once, where oslo.log reads it per record: a process that
changes ``TZ`` while running keeps its first zone.

:func:`quick_info` is ``info`` of oslo.log's logger adapter for the same
reason (the access line): the record it makes is the one ``info`` makes,
without the adapter's copy of its keywords and without logging's walk up
the stack to find the caller, whom it is given.

Only the formatters oslo.log made from options are replaced: not those
of an operator's logging config file, nor JSON or journal output. The
file handler keeps its ``stat`` before every line: a rotation that moves
the file and compresses it at once would lose lines written to the
moved file after its compression.
"""
import datetime
import logging
import math
import sys
import time

from dateutil import tz
from oslo_context import context as context_utils
from oslo_log import formatters
from oslo_log import log as oslo_logging

__all__ = ["QuickContextFormatter", "install", "quick_info"]

# what ContextFormatter sets to '' when neither record nor context has it
_BLANK_BY_DEFAULT = ("instance", "color", "user_identity", "resource",
                     "user_name", "project_name", "global_request_id")


class QuickContextFormatter(formatters.ContextFormatter):
    """``ContextFormatter`` with a shorter path for common records."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._local_zone = tz.tzlocal()
        self._styles = {}
        # (second of the clock, its local text, its UTC offset)
        self._second_of = (None, None, None)
        self._time_of = (None, None)     # ((second, datefmt), its text)

    @classmethod
    def replacing(cls, formatter):
        """A quick formatter configured as ``formatter``."""
        return cls(formatter._fmt, datefmt=formatter.datefmt,
                   project=formatter.project, version=formatter.version,
                   config=formatter.conf)

    def format(self, record):
        fields = record.__dict__
        if "context" in fields:
            context = fields["context"]
        else:
            context = context_utils.get_current()
        if not self._is_common(record, context):
            return super().format(record)
        conf = self.conf
        fields["project"] = self.project
        fields["version"] = self.version
        values = context.get_logging_values() if context else None
        if values:
            fields.update(values)
        fields["instance"] = self._instance_of(context) if context else ""
        for key in _BLANK_BY_DEFAULT:
            if key not in fields:
                fields[key] = ""
        if context:
            fields["user_identity"] = (
                conf.logging_user_identity_format
                % formatters._ReplaceFalseValue(values))
        if fields.get("request_id"):
            fmt = conf.logging_context_format_string
        else:
            fmt = conf.logging_default_format_string
        # below WARNING oslo.log's summary is empty; '-' where shown
        fields["error_summary"] = "-" if "%(error_summary)s" in fmt else ""
        fields["isotime"] = self._isotime(record.created)
        style = self._styles.get(fmt)
        if style is None:
            style = self._styles[fmt] = logging.PercentStyle(fmt)
        self._style, self._fmt = style, style._fmt
        try:
            return logging.Formatter.format(self, record)
        except TypeError:
            return super().format(record)   # oslo.log reports it

    @staticmethod
    def _is_common(record, context):
        fields = record.__dict__
        return (logging.DEBUG < record.levelno < logging.WARNING
                and not record.exc_info
                and not fields.get("instance")
                and not fields.get("instance_uuid")
                and (not context or isinstance(
                    context, context_utils.RequestContext)))

    def _instance_of(self, context):
        instance = getattr(context, "instance", None)
        if instance:
            return self.conf.instance_format % {"uuid": instance}
        uuid = (getattr(context, "instance_uuid", None)
                or getattr(context, "resource_uuid", None))
        if uuid:
            return self.conf.instance_uuid_format % {"uuid": uuid}
        return ""

    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's
        """logging's ``asctime``, each second's text made once: strftime
        has no field finer than a second."""
        key = (int(record.created), datefmt)
        cached, text = self._time_of
        if cached != key:
            text = time.strftime(datefmt or self.default_time_format,
                                 self.converter(record.created))
            self._time_of = (key, text)
        if datefmt:
            return text
        return self.default_msec_format % (text, record.msecs)

    def _isotime(self, created):
        """oslo.log's ``isotime``: local time with its UTC offset. The
        text up to the second and the offset are made once per second of
        the clock (neither changes within one); the microseconds are
        rounded as ``datetime.fromtimestamp`` rounds them (half to even,
        a carry into the next second); isoformat leaves out a zero
        fraction."""
        fraction, second = math.modf(created)
        micro = round(fraction * 1e6)
        if micro >= 1000000:
            micro -= 1000000
            second += 1.0
        elif micro < 0:
            micro += 1000000
            second -= 1.0
        cached, text, offset = self._second_of
        if cached != second:
            local = datetime.datetime.fromtimestamp(second)
            text = local.isoformat()
            offset = local.replace(tzinfo=self._local_zone).isoformat()
            offset = offset[19:]   # after YYYY-MM-DDTHH:MM:SS
            self._second_of = (second, text, offset)
        if micro == 0 and fraction:
            # oslo.log writes the fraction back only for a whole second
            return text + offset
        return "%s.%06d%s" % (text, micro, offset)


def install(root=None):
    """Give the handlers oslo.log made from options the quick formatter."""
    root = root or logging.getLogger()
    for handler in root.handlers:
        if type(handler.formatter) is formatters.ContextFormatter:
            handler.setFormatter(
                QuickContextFormatter.replacing(handler.formatter))


def quick_info(log, text):
    """``log.info(text)`` from the caller's frame, for less when ``log``
    is oslo.log's ``KeywordArgumentAdapter`` with its usual extra values:
    those are the same for every record, so only their keys are listed
    (what the adapter does per call), and the caller is the frame above
    (what ``findCaller`` looks for, frame by frame). Anything else is
    given to ``log.info``."""
    if type(log) is not oslo_logging.KeywordArgumentAdapter or \
            "resource" in log.extra:
        log.info(text)
        return
    logger = log.logger
    if not logger.isEnabledFor(logging.INFO):
        return
    caller = sys._getframe(1)
    extra = dict(log.extra)
    extra["extra_keys"] = sorted(extra)
    code = caller.f_code
    logger.handle(logger.makeRecord(
        logger.name, logging.INFO, code.co_filename, caller.f_lineno, text,
        (), None, code.co_name, extra))
