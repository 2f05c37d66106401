"""image_views.format_time: Glance's timestamp text, the same whether the
value's text was kept or is made anew."""
import datetime

import pytest

from glance.api.v2 import image_views

UTC = datetime.timezone.utc
PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))


@pytest.fixture(autouse=True)
def empty_cache():
    image_views._TIME_TEXT.clear()
    yield
    image_views._TIME_TEXT.clear()


@pytest.mark.parametrize("value,text", [
    (datetime.datetime(2026, 12, 7, 6, 1, 2, 123456), "2026-12-07T06:01:02Z"),
    (datetime.datetime(2026, 12, 7, 6, 1, 2), "2026-12-07T06:01:02Z"),
    (datetime.datetime(999, 1, 2, 3, 4, 5), "999-01-02T03:04:05Z"),
    (datetime.datetime(2026, 12, 7, 6, 1, 2, tzinfo=PLUS_TWO),
     "2026-12-07T06:01:02Z"),
    (None, None)])
def test_the_text_twice(value, text):
    assert image_views.format_time(value) == text
    assert image_views.format_time(value) == text   # kept or not


def test_one_instant_in_two_zones_reads_as_each_zone_shows_it():
    here = datetime.datetime(2026, 12, 7, 8, 0, 0, tzinfo=PLUS_TWO)
    utc = here.astimezone(UTC)
    naive = utc.replace(tzinfo=None)
    assert here == utc
    assert image_views.format_time(naive) == "2026-12-07T06:00:00Z"
    assert image_views.format_time(here) == "2026-12-07T08:00:00Z"
    assert image_views.format_time(utc) == "2026-12-07T06:00:00Z"


def test_a_kept_text_is_returned_for_an_equal_value():
    first = datetime.datetime(2026, 12, 7, 6, 1, 2, 5)
    kept = image_views.format_time(first)
    again = image_views.format_time(datetime.datetime(2026, 12, 7, 6, 1, 2, 5))
    assert again is kept


def test_the_kept_texts_are_bounded(monkeypatch):
    monkeypatch.setattr(image_views, "_TIME_TEXT_MAX", 10)
    start = datetime.datetime(2026, 1, 1)
    for second in range(35):
        value = start + datetime.timedelta(seconds=second)
        assert image_views.format_time(value) == \
            value.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert len(image_views._TIME_TEXT) <= 10
