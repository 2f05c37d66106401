"""Parsing of ``GET /v2/images`` query parameters: filters, sort, paging.

Every bad value becomes a 400 with a reason, before the database is asked.
"""
import datetime

from oslo_config import cfg

from glance.common import exception
from glance.domain import images as rules
from glance.i18n import _

CONF = cfg.CONF

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size",
             "id", "created_at", "updated_at")
SORT_DIRS = ("asc", "desc")
MEMBER_STATUSES = ("pending", "accepted", "rejected", "all")
VISIBILITIES = rules.VISIBILITIES + ("all",)
TIME_OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte")
# Filters that accept 'in:a,b,c'.
IN_FILTERS = ("id", "name", "status", "container_format", "disk_format")
NOT_FILTERS = ("limit", "marker", "sort_key", "sort_dir", "sort",
               "member_status", "tag")
BOOL_FILTERS = ("protected", "os_hidden")
INT_FILTERS = ("size_min", "size_max")


def parse_limit(params):
    """The page size: the ``limit`` parameter capped by api_limit_max."""
    value = params.get("limit", CONF.limit_param_default)
    try:
        limit = int(value)
    except ValueError:
        raise exception.Invalid(_("limit param must be an integer"))
    if limit < 0:
        raise exception.Invalid(_("limit param must be positive"))
    return min(limit, CONF.api_limit_max)


def parse_sort(params):
    """(sort keys, sort dirs) from sort_key/sort_dir or the ``sort`` form."""
    if "sort" in params:
        if "sort_key" in params or "sort_dir" in params:
            raise exception.Invalid(
                _("Old and new sorting syntax cannot be combined"))
        return _parse_sort_syntax(params["sort"])
    keys = params.getall("sort_key") or ["created_at"]
    dirs = params.getall("sort_dir") or ["desc"]
    for key in keys:
        _check_sort_key(key)
    for direction in dirs:
        _check_sort_dir(direction)
    if len(dirs) == 1:
        dirs = dirs * len(keys)
    elif len(dirs) != len(keys):
        raise exception.Invalid(
            _("Number of sort dirs does not match the number of sort keys"))
    return keys, dirs


def _parse_sort_syntax(value):
    keys, dirs = [], []
    for part in value.split(","):
        key, _sep, direction = part.strip().partition(":")
        direction = direction.strip() or "desc"
        _check_sort_key(key.strip())
        _check_sort_dir(direction)
        keys.append(key.strip())
        dirs.append(direction)
    return keys, dirs


def _check_sort_key(key):
    if key not in SORT_KEYS:
        raise exception.InvalidSortKey(
            _("Invalid sort key: %(key)s. It must be one of the following: "
              "%(keys)s.") % {"key": key, "keys": ", ".join(SORT_KEYS)})


def _check_sort_dir(direction):
    if direction not in SORT_DIRS:
        raise exception.InvalidSortDir(
            _("Invalid sort direction: %s") % direction)


def parse_member_status(params):
    value = params.get("member_status", "accepted")
    if value not in MEMBER_STATUSES:
        raise exception.Invalid(_("Invalid status: %s") % value)
    return value


def parse_filters(params):
    """The filter dict for the database layer."""
    if params.get("changes-since"):
        raise exception.Invalid(
            _('The "changes-since" filter is no longer available on v2.'))
    filters = {}
    for key, value in params.items():
        if key in NOT_FILTERS:
            continue
        filters[key] = _parse_filter(key, value)
    tags = params.getall("tag")
    if tags:
        filters["tags"] = tags
    return filters


def _parse_filter(key, value):
    if key == "visibility":
        if value not in VISIBILITIES:
            raise exception.Invalid(_("Invalid visibility value: %s")
                                    % value)
        return value
    if key in BOOL_FILTERS:
        return _parse_bool(key, value)
    if key in INT_FILTERS:
        return _parse_int(key, value)
    if key in ("created_at", "updated_at"):
        return _parse_time_filter(key, value)
    if value.startswith("in:") and key in IN_FILTERS:
        # an unknown status simply matches nothing, as in Glance
        return split_in_list(value[3:])
    return value


def _parse_bool(key, value):
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise exception.Invalid(
            _("Invalid value '%(value)s' for '%(key)s' filter. Valid "
              "values are 'true' or 'false'.") % {"value": value,
                                                 "key": key})
    return lowered == "true"


def _parse_int(key, value):
    # a negative bound is allowed: it matches nothing (size_max) or all
    try:
        return int(value)
    except ValueError:
        raise exception.Invalid(_("Unable to filter on a range with a "
                                  "non-numeric value."))


def _parse_time_filter(key, value):
    operator, sep, when = value.partition(":")
    if not sep or operator not in TIME_OPERATORS:
        operator, when = "eq", value
    try:
        moment = parse_isotime(when)
    except ValueError:
        raise exception.InvalidFilterOperatorValue(
            _('Bad "%s" query filter format. Use ISO 8601 DateTime '
              'notation.') % key)
    if moment.microsecond or "." in when:
        return [(operator, moment)]
    return _whole_second(operator, moment)


def _whole_second(operator, moment):
    # Timestamps are shown to the second but stored finer: a value given
    # to the second stands for that whole second.
    after = moment + datetime.timedelta(seconds=1)
    return {"eq": [("gte", moment), ("lt", after)],
            "neq": [("neq", moment)],
            "gt": [("gte", after)],
            "gte": [("gte", moment)],
            "lt": [("lt", moment)],
            "lte": [("lt", after)]}[operator]


def parse_isotime(text):
    """A naive UTC datetime from an ISO 8601 string (Z or offset)."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(
            tzinfo=None)
    return moment


def split_in_list(text):
    """Items of an ``in:`` list; double quotes protect commas."""
    items, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted:
        raise exception.Invalid(_("Invalid filter value %s. The quote is "
                                  "not closed.") % text)
    items.append("".join(current))
    return items
