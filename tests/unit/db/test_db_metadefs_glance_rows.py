"""Metadef rows as Glance writes them (its ``load_metadefs`` stores the
files' namespaces and definitions as they are) read the way Glance's API
shows them (on SQLite, PostgreSQL and MariaDB)."""
import json

import sqlalchemy as sa

from glance.db import metadef_items as items
from glance.db import metadefs as md
from glance.db import models
from glance.db import session as db_session


def _raw_insert(conn, table, **values):
    """A row written as Glance writes it: JSON columns as given text."""
    columns = [sa.column(k, sa.DateTime if k == "created_at" else None)
               for k in values]
    conn.execute(sa.insert(sa.table(table, *columns)).values(**values))


def _raw_namespace(conn, name, **values):
    now = models.utcnow()
    conn.execute(sa.insert(md.NS).values(
        namespace=name, owner="admin", created_at=now, **values))
    return conn.execute(sa.select(md.NS.c.id).where(
        md.NS.c.namespace == name)).scalar_one()


def test_null_visibility_and_protected_read_as_glance_does(db):
    with db_session.connection(write=True) as conn:
        _raw_namespace(conn, "Raw")   # no visibility, no protected
    namespace = md.namespace_get("Raw")
    assert (namespace["visibility"], namespace["protected"]) == (
        "private", False)
    listed = md.namespace_list(is_admin=True)
    assert [(n["visibility"], n["protected"]) for n in listed] == [
        ("private", False)]
    # not public: another project does not see it
    assert md.namespace_list(project_id="p1") == []


def test_definitions_stored_as_given_are_shown_normalized(db):
    now = models.utcnow()
    raw = {"title": "Port", "type": "integer", "default": 8, "minimum": 1,
           "unknown": "dropped", "readonly": False}
    with db_session.connection(write=True) as conn:
        ns_id = _raw_namespace(conn, "Raw", visibility="public",
                               protected=True)
        _raw_insert(conn, "metadef_properties", namespace_id=ns_id,
                    name="port", json_schema=json.dumps(raw),
                    created_at=now)
        for name in ("Zeta", "Alpha"):   # written out of name order
            _raw_insert(conn, "metadef_objects", namespace_id=ns_id,
                        name=name, created_at=now,
                        json_schema=json.dumps({"p": raw}))
        # an object file without properties: Glance stores "null"
        _raw_insert(conn, "metadef_objects", namespace_id=ns_id,
                    name="Empty", created_at=now, json_schema="null")
    shown = {"title": "Port", "type": "integer", "default": "8",
             "minimum": 1, "readonly": False}
    [prop] = items.item_list("property", ns_id)
    assert prop["schema"] == shown
    assert items.item_get("property", ns_id, "port")["schema"] == shown
    objects = items.item_list("object", ns_id)
    assert [o["name"] for o in objects] == ["Alpha", "Empty", "Zeta"]
    assert objects[0]["properties"] == {"p": shown}
    assert objects[1]["properties"] == {}
    assert [o["name"] for o in items.item_list_many(
        "object", [ns_id])[ns_id]] == ["Alpha", "Empty", "Zeta"]


def test_a_definition_that_cannot_be_normalized_is_shown_as_stored(db):
    now = models.utcnow()
    odd = {"title": "T", "type": "string", "enum": [1, 2]}
    with db_session.connection(write=True) as conn:
        ns_id = _raw_namespace(conn, "Raw")
        _raw_insert(conn, "metadef_properties", namespace_id=ns_id,
                    name="odd", json_schema=json.dumps(odd), created_at=now)
    assert items.item_get("property", ns_id, "odd")["schema"] == odd
