"""Parsing of image list query parameters."""
import datetime

import pytest
import webob.multidict

from glance.api.v2 import list_params
from glance.common import exception


def params(*pairs):
    return webob.multidict.MultiDict(pairs)


def test_limit_default_and_cap():
    assert list_params.parse_limit(params()) == 25
    assert list_params.parse_limit(params(("limit", "5000"))) == 1000
    assert list_params.parse_limit(params(("limit", "0"))) == 0


@pytest.mark.parametrize("value,reason", [("x", "integer"),
                                          ("-1", "positive"),
                                          ("1.5", "integer")])
def test_limit_bad(value, reason):
    with pytest.raises(exception.Invalid) as err:
        list_params.parse_limit(params(("limit", value)))
    assert reason in str(err.value)


def test_sort_defaults():
    assert list_params.parse_sort(params()) == (["created_at"], ["desc"])


def test_sort_keys_and_single_dir_applies_to_all():
    keys, dirs = list_params.parse_sort(params(
        ("sort_key", "name"), ("sort_key", "size"), ("sort_dir", "asc")))
    assert keys == ["name", "size"]
    assert dirs == ["asc", "asc"]


def test_sort_new_syntax():
    assert list_params.parse_sort(params(("sort", "name:asc,status"))) == \
        (["name", "status"], ["asc", "desc"])


@pytest.mark.parametrize("pairs", [
    [("sort_key", "bogus")], [("sort_dir", "up")],
    [("sort", "name:sideways")], [("sort", "name"), ("sort_key", "id")],
    [("sort_key", "name"), ("sort_key", "id"), ("sort_dir", "asc"),
     ("sort_dir", "desc"), ("sort_dir", "asc")],
])
def test_sort_bad(pairs):
    with pytest.raises(exception.Invalid):
        list_params.parse_sort(params(*pairs))


def test_filters():
    filters = list_params.parse_filters(params(
        ("name", "in:a,\"b,c\""), ("tag", "x"), ("tag", "y"),
        ("protected", "True"), ("size_min", "10"), ("limit", "3"),
        ("hw_disk_bus", "scsi"), ("created_at", "gt:2020-01-02T03:04:05Z"),
        ("visibility", "all")))
    assert filters["name"] == ["a", "b,c"]
    assert filters["tags"] == ["x", "y"]
    assert filters["protected"] is True
    assert filters["size_min"] == 10
    assert filters["hw_disk_bus"] == "scsi"
    assert filters["visibility"] == "all"
    assert filters["created_at"] == [
        ("gte", datetime.datetime(2020, 1, 2, 3, 4, 6))]
    assert "limit" not in filters


@pytest.mark.parametrize("pair", [
    ("visibility", "bogus"), ("protected", "maybe"), ("os_hidden", "1"),
    ("size_min", "big"), ("created_at", "gt:yesterday"),
    ("name", "in:\"unclosed"), ("changes-since", "2020-01-01T00:00:00Z"),
])
def test_filters_bad(pair):
    with pytest.raises(exception.Invalid):
        list_params.parse_filters(params(pair))


def test_filters_glance_lets_through():
    # Glance 33 answers these with an (empty) list, not a 400
    filters = list_params.parse_filters(params(
        ("size_max", "-3"), ("status", "sleeping")))
    assert filters == {"size_max": -3, "status": "sleeping"}
    assert list_params.parse_filters(params(
        ("status", "in:active,sleeping"))) == {"status": ["active",
                                                          "sleeping"]}


def test_member_status():
    assert list_params.parse_member_status(params()) == "accepted"
    assert list_params.parse_member_status(
        params(("member_status", "all"))) == "all"
    with pytest.raises(exception.Invalid):
        list_params.parse_member_status(params(("member_status", "x")))


def test_isotime_offsets_become_utc():
    assert list_params.parse_isotime("2020-01-01T05:00:00+02:00") == \
        datetime.datetime(2020, 1, 1, 3, 0, 0)


def test_time_filters_to_the_second_cover_the_whole_second():
    moment = datetime.datetime(2020, 1, 2, 3, 4, 5)
    after = moment + datetime.timedelta(seconds=1)
    parse = list_params.parse_filters
    assert parse(params(("created_at", "lte:2020-01-02T03:04:05Z"))) == \
        {"created_at": [("lt", after)]}
    assert parse(params(("updated_at", "2020-01-02T03:04:05Z"))) == \
        {"updated_at": [("gte", moment), ("lt", after)]}
    assert parse(params(("created_at", "lt:2020-01-02T03:04:05.5"))) == \
        {"created_at": [("lt", moment.replace(microsecond=500000))]}


@pytest.mark.parametrize("written", ["glance-direct,web-download",
                                     "[glance-direct,web-download]",
                                     "[ glance-direct, web-download ]"])
def test_import_methods_with_or_without_brackets(written):
    from glance.common import config
    assert config.OptionalBracketsList()(written) == ["glance-direct",
                                                      "web-download"]
