"""The scale benchmark's catalog and queries (``benchmarks/scale.py``,
``benchmarks/scale_http.py``) on each backend, at a small N: the builder
still fits the tables, every query it times answers a sorted page, and
the HTTP side asks the same queries as the database side."""
import pytest

from benchmarks import scale
from benchmarks import scale_http
from glance.db import api
from glance.db import common
from glance.db import session as db_session

N = 600


@pytest.fixture
def catalog(db):
    scale.build(N)
    return scale.markers()


def _sort_values(image, keys):
    # NULL sorts lowest, highest on PostgreSQL, as the listing orders it
    high = common.nulls_high(db_session.get_engine().dialect.name)
    return tuple(((image[k] is None) == high, image[k] or "") for k in keys)


def test_every_benchmark_query_answers_a_sorted_page(catalog):
    for label, kwargs in scale.queries(N, catalog):
        kwargs = dict(kwargs)
        limit = kwargs.setdefault("limit", 25)
        page = api.image_get_all(**kwargs)
        assert len(page) <= limit, label
        # a small catalog leaves some filters with nothing to list
        assert page or "=" in label, label
        keys = kwargs.get("sort_key", []) + ["created_at", "id"]
        values = [_sort_values(image, keys) for image in page]
        reverse = kwargs.get("sort_dir") != ["asc"]
        assert values == sorted(values, reverse=reverse), label


def test_default_page_is_the_newest_live_images_with_their_children(
        catalog):
    page = api.image_get_all(limit=25, is_admin=True, project_id="p1")
    live = [image for batch in scale.catalog_rows(N) for image in batch[0]
            if not image["deleted"] and not image["os_hidden"]
            and image["visibility"] != "community"]
    live.sort(key=lambda i: (i["created_at"], i["id"]), reverse=True)
    assert [i["id"] for i in page] == [i["id"] for i in live[:25]]
    for image in page:
        assert image["properties"]["os_distro"].startswith("d")
        assert len(image["tags"]) == 1
        assert len(image["locations"]) == (image["status"] == "active")


def test_http_side_asks_the_same_queries(catalog):
    db_labels = [label for label, _kwargs in scale.queries(N, catalog)]
    http = scale_http.http_queries(N, catalog)
    assert [label for label, _who, _query in http] == db_labels
    assert all(("marker=" in query) == ("marker" in label)
               for label, _who, query in http)


def test_server_databases_are_analyzed_sqlite_is_left_as_the_daemon_has_it(
        catalog, backend):
    stats = {
        "sqlite": "SELECT count(*) FROM sqlite_master "
                  "WHERE name = 'sqlite_stat1'",
        "postgresql": "SELECT count(*) FROM pg_stats "
                      "WHERE tablename = 'images'",
        "mysql": "SELECT count(*) FROM information_schema.statistics "
                 "WHERE table_schema = DATABASE() AND table_name = 'images' "
                 "AND cardinality > 0"}[backend]
    with db_session.connection(write=False) as conn:
        analyzed = conn.exec_driver_sql(stats).scalar()
    assert bool(analyzed) == (backend != "sqlite")


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_glance33_side_gets_an_empty_database_dropped_after(backend):
    import sqlalchemy as sa
    from sqlalchemy import pool

    with scale_http.glance_database(backend) as url:
        engine = sa.create_engine(url, poolclass=pool.NullPool)
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
        assert tables == []
    with pytest.raises(sa.exc.OperationalError):
        with engine.connect():
            pass
    engine.dispose()
