"""Load, unload and export the metadefs catalog as JSON files.

The logic of ``glance-manage db load_metadefs / unload_metadefs /
export_metadefs``. One file holds one namespace, in the format operators
keep in ``/etc/glance/metadefs``::

    {"namespace": "OS::Compute::Example", "display_name": "...",
     "description": "...", "visibility": "public", "protected": true,
     "owner": "admin",
     "resource_type_associations": [{"name": "OS::Glance::Image",
                                     "prefix": "hw_"}],
     "properties": {"name": {"title": "...", "type": "string"}},
     "objects": [{"name": "...", "required": [], "properties": {...}}],
     "tags": [{"name": "..."}]}

Loading a namespace already in the database skips it, unless ``merge``:
then what is missing is added, and with ``prefer_new`` what is there is
replaced by the file's version too; ``overwrite`` (with ``merge``) deletes
the namespace first. Each namespace is written in one transaction.
"""
import json
import os
import re

import sqlalchemy as sa

from glance.common import exception
from glance.db import metadef_items as items
from glance.db import metadefs as db
from glance.db import models
from glance.db import session as db_session
from glance.domain import metadefs as rules
from glance.i18n import _

DEFAULT_PATH = "/etc/glance/metadefs/"
NS, RT, ASSOC = db.NS, db.RT, db.ASSOC


def check_options(merge=False, prefer_new=False, overwrite=False):
    """Glance's rules on the load options (Invalid when broken)."""
    if not merge and (prefer_new or overwrite):
        raise exception.Invalid(_("Please provide no merge option with "
                                  "--prefer_new or --overwrite; use them "
                                  "with --merge."))
    if prefer_new and overwrite:
        raise exception.Invalid(_("Please provide only one of the options "
                                  "--prefer_new and --overwrite."))


def json_files(path):
    """The .json files at ``path`` (a file or a directory), sorted."""
    if os.path.isfile(path):
        return [path]
    return sorted(os.path.join(path, name) for name in os.listdir(path)
                  if name.endswith(".json") and
                  os.path.isfile(os.path.join(path, name)))


def read_file(path):
    """The namespace document of one file, normalized and checked."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc, dict):
        raise exception.Invalid(_("%s does not hold a JSON object") % path)
    values = {"namespace": rules.check_name("namespace",
                                            doc.get("namespace")),
              "display_name": doc.get("display_name"),
              "description": doc.get("description"),
              "visibility": doc.get("visibility") or "private",
              "protected": bool(doc.get("protected")),
              "owner": doc.get("owner") or "admin"}
    contents = rules.normalize_contents({
        "associations": doc.get("resource_type_associations"),
        "objects": doc.get("objects"), "properties": doc.get("properties"),
        "tags": doc.get("tags")})
    return values, contents


def load(path=None, merge=False, prefer_new=False, overwrite=False):
    """Load every namespace file at ``path``; a report
    ``{"loaded": [names], "skipped": [names], "errors": [(file, why)]}``.
    """
    check_options(merge, prefer_new, overwrite)
    report = {"loaded": [], "skipped": [], "errors": []}
    for filename in json_files(path or DEFAULT_PATH):
        try:
            values, contents = read_file(filename)
        except (OSError, ValueError, exception.Invalid) as e:
            report["errors"].append((filename, str(e)))
            continue
        try:
            with db_session.connection(write=True) as conn:
                done = _load_namespace(conn, values, contents, merge,
                                       prefer_new, overwrite)
        except (exception.Duplicate, exception.Invalid,
                sa.exc.IntegrityError, sa.exc.DataError) as e:
            # that namespace is not loaded (its transaction rolled back);
            # the other files still are
            report["errors"].append((filename, str(e)))
            continue
        report["loaded" if done else "skipped"].append(values["namespace"])
    return report


def _load_namespace(conn, values, contents, merge, prefer_new, overwrite):
    now = models.utcnow()
    row = conn.execute(sa.select(NS).where(
        NS.c.namespace == values["namespace"])).first()
    if row is not None and overwrite:
        _delete_namespace(conn, row.id)
        row = None
    if row is None:
        conn.execute(sa.insert(NS).values(created_at=now, updated_at=now,
                                          **values))
    elif not merge:
        return False
    elif prefer_new:
        conn.execute(sa.update(NS).where(NS.c.id == row.id)
                     .values(updated_at=now, **values))
    namespace = {"id": conn.execute(sa.select(NS.c.id).where(
        NS.c.namespace == values["namespace"])).scalar_one(),
        "namespace": values["namespace"]}
    for assoc in contents["associations"]:
        _load_association(conn, namespace["id"], assoc, prefer_new, now)
    props = [{"name": k, "schema": v}
             for k, v in contents["properties"].items()]
    for kind, entries in (("property", props),
                          ("object", contents["objects"]),
                          ("tag", contents["tags"])):
        _load_items(conn, kind, namespace, entries, prefer_new, now)
    return True


def _delete_namespace(conn, namespace_id):
    for kind in ("tag", "object", "property"):
        items.items_delete_all(conn, kind, namespace_id)
    conn.execute(sa.delete(ASSOC).where(ASSOC.c.namespace_id ==
                                        namespace_id))
    conn.execute(sa.delete(NS).where(NS.c.id == namespace_id))


def _load_association(conn, namespace_id, assoc, prefer_new, now):
    rt_id = conn.execute(sa.select(RT.c.id).where(
        RT.c.name == assoc["name"])).scalar()
    if rt_id is None:  # the loader's resource types are protected
        rt_id = conn.execute(sa.insert(RT).values(
            name=assoc["name"], protected=True, created_at=now,
            updated_at=now)).inserted_primary_key[0]
    where = sa.and_(ASSOC.c.namespace_id == namespace_id,
                    ASSOC.c.resource_type_id == rt_id)
    values = {"prefix": assoc["prefix"],
              "properties_target": assoc["properties_target"]}
    if conn.execute(sa.select(ASSOC.c.namespace_id).where(where)).first():
        if prefer_new:
            conn.execute(sa.update(ASSOC).where(where)
                         .values(updated_at=now, **values))
        return
    conn.execute(sa.insert(ASSOC).values(
        namespace_id=namespace_id, resource_type_id=rt_id, created_at=now,
        updated_at=now, **values))


def _load_items(conn, kind, namespace, entries, prefer_new, now):
    # A name twice in one file: as Glance, the first is loaded and the
    # second skipped, or with prefer_new written over it.
    by_name = {}
    for entry in entries:
        if entry["name"] not in by_name or prefer_new:
            by_name[entry["name"]] = entry
    entries = list(by_name.values())
    table = items.TABLES[kind]
    existing = dict(conn.execute(sa.select(table.c.name, table.c.id).where(
        table.c.namespace_id == namespace["id"])).all())
    new = [e for e in entries if e["name"] not in existing]
    items.insert_items(conn, kind, namespace, new, now)
    for entry in entries if prefer_new else ():
        if entry["name"] in existing:
            conn.execute(sa.update(table)
                         .where(table.c.id == existing[entry["name"]])
                         .values(updated_at=now, **items.to_row(kind,
                                                                entry)))


def unload():
    """Delete the whole catalog, resource types included."""
    with db_session.connection(write=True) as conn:
        for table in (items.TABLES["property"], items.TABLES["object"],
                      items.TABLES["tag"], ASSOC, NS, RT):
            conn.execute(sa.delete(table))


def export(path=None):
    """Write one file per namespace into directory ``path``; the list of
    files written (an existing file of the same name is replaced)."""
    path = path or DEFAULT_PATH
    written = []
    for doc in export_documents():
        stem = re.sub(r"[\W_]+", "", doc["display_name"] or "") or \
            re.sub(r"[\W_]+", "", doc["namespace"])
        filename = os.path.join(path, stem + ".json")
        with open(filename, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=4, sort_keys=False)
            f.write("\n")
        written.append(filename)
    return written


def export_documents():
    """The file document of every namespace, in namespace order."""
    namespaces = db.namespace_list(sort_key="namespace", sort_dir="asc",
                                   is_admin=True)
    ids = [ns["id"] for ns in namespaces]
    assocs = db.associations(ids)
    contents = {kind: items.item_list_many(kind, ids)
                for kind in ("object", "property", "tag")}
    return [_document(ns, assocs[ns["id"]],
                      {k: v[ns["id"]] for k, v in contents.items()})
            for ns in namespaces]


def _document(ns, assocs, contents):
    return {
        "namespace": ns["namespace"], "display_name": ns["display_name"],
        "description": ns["description"], "visibility": ns["visibility"],
        "protected": bool(ns["protected"]), "owner": ns["owner"],
        "resource_type_associations": [
            {"name": a["name"], "prefix": a["prefix"],
             "properties_target": a["properties_target"]} for a in assocs],
        "properties": {p["name"]: p["schema"]
                       for p in contents["property"]},
        "objects": [{"name": o["name"], "description": o["description"],
                     "required": o["required"],
                     "properties": o["properties"]}
                    for o in contents["object"]],
        "tags": [{"name": t["name"]} for t in contents["tag"]],
    }
