"""The contents of a metadef namespace: objects, properties and tags.

The three tables share their shape (``namespace_id``, a ``name`` unique in
the namespace, timestamps), so one set of functions serves them, chosen by
``kind`` ("object", "property" or "tag"). Dicts in and out:

- object: ``name``, ``description``, ``required`` (list of names),
  ``properties`` ({name: definition});
- property: ``name``, ``schema`` (the definition);
- tag: ``name``;

each with ``id``, ``namespace_id``, ``created_at`` and ``updated_at``.
``namespace`` arguments are namespace dicts (``glance.db.metadefs``).
Rows are deleted for real, as Glance does.
"""
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from glance.common import exception
from glance.db import models
from glance.db import session as db_session
from glance.domain import metadefs as rules

TABLES = {"object": models.MetadefObject.__table__,
          "property": models.MetadefProperty.__table__,
          "tag": models.MetadefTag.__table__}
TAG = TABLES["tag"]


def to_row(kind, values):
    """The column values of an item dict (without ids and timestamps)."""
    row = {"name": values["name"]}
    if kind == "object":
        required = values.get("required") or []
        row["required"] = ",".join(required) if required else None
        row["description"] = values.get("description")
        row["json_schema"] = values.get("properties") or {}
    elif kind == "property":
        row["json_schema"] = values.get("schema") or {}
    return row


def shown_definition(definition):
    """A stored property definition as the API shows it.

    Ours are stored normalized already; Glance's ``load_metadefs`` stores
    the files' definitions as they are (``"default": 8``), which Glance's
    API shows through its property model (``"default": "8"``, unknown keys
    dropped). One that cannot be normalized is shown as stored.
    """
    try:
        return rules.normalize_property(definition)
    except exception.Invalid:
        return definition


def from_row(kind, row):
    """The item dict of a row."""
    item = {"id": row.id, "namespace_id": row.namespace_id,
            "name": row.name, "created_at": row.created_at,
            "updated_at": row.updated_at}
    if kind == "object":
        item["required"] = row.required.split(",") if row.required else []
        item["description"] = row.description
        properties = row.json_schema or {}
        if isinstance(properties, dict):
            properties = {name: shown_definition(value)
                          for name, value in properties.items()}
        item["properties"] = properties
    elif kind == "property":
        item["schema"] = shown_definition(row.json_schema or {})
    return item


def _duplicate(kind, namespace, name):
    return rules.DUPLICATES[kind](name=name,
                                  namespace_name=namespace["namespace"])


def _find(conn, kind, namespace_id, name):
    table = TABLES[kind]
    return conn.execute(sa.select(table).where(
        table.c.namespace_id == namespace_id,
        table.c.name == name)).first()


def insert_items(conn, kind, namespace, items, now):
    """Insert ``items`` into a namespace in the open transaction ``conn``.

    Raises the kind's Duplicate for a name already there (or twice in
    ``items``).
    """
    seen = set()
    for values in items:
        name = values["name"]
        if name in seen or _find(conn, kind, namespace["id"], name):
            raise _duplicate(kind, namespace, name)
        seen.add(name)
    if items:
        rows = [dict(to_row(kind, values), namespace_id=namespace["id"],
                     created_at=now, updated_at=now) for values in items]
        conn.execute(sa.insert(TABLES[kind]), rows)


def item_list(kind, namespace_id):
    """The items of a namespace in name order (the order Glance's
    unordered query yields on SQLite and MySQL, which read them through
    the (namespace_id, name) unique index)."""
    table = TABLES[kind]
    with db_session.connection(write=False) as conn:
        rows = conn.execute(sa.select(table).where(
            table.c.namespace_id == namespace_id).order_by(table.c.name,
                                                           table.c.id))
        return [from_row(kind, row) for row in rows]


def item_list_many(kind, namespace_ids):
    """{namespace_id: [items]} for several namespaces in one query."""
    table = TABLES[kind]
    found = {ns_id: [] for ns_id in namespace_ids}
    if not found:
        return found
    with db_session.connection(write=False) as conn:
        rows = conn.execute(sa.select(table).where(
            table.c.namespace_id.in_(list(found))).order_by(table.c.name,
                                                            table.c.id))
        for row in rows:
            found[row.namespace_id].append(from_row(kind, row))
    return found


def item_get(kind, namespace_id, name):
    """One item by name (the kind's NotFound if absent)."""
    with db_session.connection(write=False) as conn:
        row = _find(conn, kind, namespace_id, name)
    if row is None:
        raise rules.NOT_FOUND[kind](name=name)
    return from_row(kind, row)


def item_create(kind, namespace, values):
    """Add one item to a namespace; its dict (Duplicate on a name clash)."""
    now = models.utcnow()
    try:
        with db_session.connection(write=True) as conn:
            insert_items(conn, kind, namespace, [values], now)
            row = _find(conn, kind, namespace["id"], values["name"])
    except sa_exc.IntegrityError as e:  # created meanwhile
        raise _duplicate(kind, namespace, values["name"]) from e
    return from_row(kind, row)


def item_update(kind, namespace, name, values):
    """Replace an item (it may be renamed); its new dict."""
    table = TABLES[kind]
    new_name = values["name"]
    try:
        with db_session.connection(write=True) as conn:
            row = _find(conn, kind, namespace["id"], name)
            if row is None:
                raise rules.NOT_FOUND[kind](name=name)
            if new_name != name and _find(conn, kind, namespace["id"],
                                          new_name):
                raise _duplicate(kind, namespace, new_name)
            conn.execute(sa.update(table).where(table.c.id == row.id)
                         .values(updated_at=models.utcnow(),
                                 **to_row(kind, values)))
            row = conn.execute(sa.select(table).where(
                table.c.id == row.id)).first()
    except sa_exc.IntegrityError as e:
        raise _duplicate(kind, namespace, new_name) from e
    return from_row(kind, row)


def item_delete(kind, namespace_id, name):
    """Delete one item (the kind's NotFound if absent)."""
    table = TABLES[kind]
    with db_session.connection(write=True) as conn:
        done = conn.execute(sa.delete(table).where(
            table.c.namespace_id == namespace_id, table.c.name == name))
    if done.rowcount == 0:
        raise rules.NOT_FOUND[kind](name=name)


def items_delete_all(conn, kind, namespace_id):
    """Delete every item of a kind of a namespace, in ``conn``."""
    table = TABLES[kind]
    conn.execute(sa.delete(table).where(table.c.namespace_id ==
                                        namespace_id))


def delete_all(kind, namespace_id):
    """Delete every item of a kind of a namespace."""
    with db_session.connection(write=True) as conn:
        items_delete_all(conn, kind, namespace_id)


# Tags: pages and the whole-list replacement -------------------------------

def tag_list(namespace_id, marker=None, limit=None, sort_key="created_at",
             sort_dir="desc"):
    """A page of tags; ``marker`` is the name of the last tag seen."""
    keys = [sort_key] + [k for k in ("created_at", "id") if k != sort_key]
    query = sa.select(TAG).where(TAG.c.namespace_id == namespace_id)
    with db_session.connection(write=False) as conn:
        if marker is not None:
            mark = _find(conn, "tag", namespace_id, marker)
            if mark is None:
                raise rules.TagNotFound(name=marker)
            query = query.where(after_marker(TAG, keys, mark, sort_dir))
        query = query.order_by(*order_by(TAG, keys, sort_dir))
        if limit is not None:
            query = query.limit(limit)
        return [from_row("tag", row) for row in conn.execute(query)]


def tags_create(namespace, names, append=False):
    """Add tags (replacing all existing ones unless ``append``); the new
    tags' dicts. Duplicate if a name is repeated or already there."""
    now = models.utcnow()
    items = [{"name": name} for name in names]
    try:
        with db_session.connection(write=True) as conn:
            if not append:
                items_delete_all(conn, "tag", namespace["id"])
            insert_items(conn, "tag", namespace, items, now)
    except sa_exc.IntegrityError as e:
        raise _duplicate("tag", namespace, names[0] if names else "") from e
    return [dict(item, namespace_id=namespace["id"], created_at=now,
                 updated_at=now) for item in items]


# Keyset paging, shared with the namespace list ----------------------------

def sort_column(table, key):
    """A column to sort on, with NULLs folded so keyset paging works."""
    column = table.c[key]
    if key == "updated_at":
        return sa.func.coalesce(column, table.c.created_at)
    if column.nullable and isinstance(column.type, sa.String):
        return sa.func.coalesce(column, "")
    return column


def _marker_value(row, key):
    value = getattr(row, key)
    if value is None:
        return row.created_at if key == "updated_at" else ""
    return value


def order_by(table, keys, direction):
    """ORDER BY clauses for ``keys``, all in ``direction``."""
    cols = [sort_column(table, key) for key in keys]
    return [c.desc() if direction == "desc" else c.asc() for c in cols]


def after_marker(table, keys, marker_row, direction):
    """The rows that sort after ``marker_row`` in that order."""
    clauses = []
    for i, key in enumerate(keys):
        equal = [sort_column(table, k) == _marker_value(marker_row, k)
                 for k in keys[:i]]
        col, value = sort_column(table, key), _marker_value(marker_row, key)
        beyond = col < value if direction == "desc" else col > value
        clauses.append(sa.and_(*equal, beyond))
    return sa.or_(*clauses)
