"""Byte sizes written as '10GB', '500MB', '1TB' in the configuration."""
import re

from glance.common import exception
from glance.i18n import _

_MULTIPLIERS = {"": 1, "B": 1, "KB": 1024, "MB": 1024 ** 2,
                "GB": 1024 ** 3, "TB": 1024 ** 4}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMGT]?B?)\s*$", re.IGNORECASE)


def parse_size(text):
    """Bytes of a size such as '10GB' (binary multiples, as Glance)."""
    match = _SIZE_RE.match(str(text))
    if not match:
        raise exception.InvalidConfiguration(
            reason=_("'%s' is not a size such as 10GB") % text)
    return int(match.group(1)) * _MULTIPLIERS[match.group(2).upper()]
