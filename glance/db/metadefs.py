"""Metadef namespaces, resource types and their associations.

A namespace dict has the ``metadef_namespaces`` columns (``id``,
``namespace``, ``display_name``, ``description``, ``visibility``,
``protected``, ``owner``, ``created_at``, ``updated_at``). An association
dict has ``name`` (the resource type's), ``prefix``,
``properties_target``, ``namespace_id`` and the timestamps. No policy
here: ``namespace_list`` takes the viewer (``project_id``, ``is_admin``)
the way ``image_get_all`` does; callers check visibility of single
namespaces. The contents (objects, properties, tags) are in
``glance.db.metadef_items``.
"""
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from glance.common import exception
from glance.db import metadef_items as items
from glance.db import models
from glance.db import session as db_session
from glance.domain import metadefs as rules
from glance.i18n import _

NS = models.MetadefNamespace.__table__
RT = models.MetadefResourceType.__table__
ASSOC = models.MetadefNamespaceResourceType.__table__
NS_COLUMNS = tuple(c.name for c in NS.columns)
_WRITABLE = ("namespace", "display_name", "description", "visibility",
             "protected", "owner")


def _namespace(row):
    """A namespace's dict; a NULL visibility or protected (Glance's
    load_metadefs writes them for files without them) reads as Glance's
    domain model reads it: private, not protected."""
    namespace = {name: getattr(row, name) for name in NS_COLUMNS}
    namespace["visibility"] = namespace["visibility"] or "private"
    namespace["protected"] = bool(namespace["protected"])
    return namespace


def _find(conn, name):
    return conn.execute(sa.select(NS).where(NS.c.namespace == name)).first()


def namespace_get(name):
    """A namespace by name (NamespaceNotFound if there is none)."""
    with db_session.connection(write=False) as conn:
        row = _find(conn, name)
    if row is None:
        raise rules.NamespaceNotFound(namespace_name=name)
    return _namespace(row)


def _visible(query, project_id, is_admin):
    if is_admin:
        return query
    public = NS.c.visibility == "public"
    if project_id is None:
        return query.where(public)
    return query.where(sa.or_(public, NS.c.owner == project_id))


def namespace_list(filters=None, marker=None, limit=None,
                   sort_key="created_at", sort_dir="desc", project_id=None,
                   is_admin=False):
    """A page of the namespaces the viewer may see.

    ``filters``: ``visibility`` and ``resource_types`` (names; namespaces
    associated with any of them). ``marker`` is the name of the last
    namespace of the previous page (NamespaceNotFound when the viewer
    cannot see it).
    """
    filters = filters or {}
    keys = [sort_key] + [k for k in ("created_at", "id") if k != sort_key]
    query = _visible(sa.select(NS), project_id, is_admin)
    if filters.get("visibility"):
        query = query.where(NS.c.visibility == filters["visibility"])
    if filters.get("resource_types"):
        query = query.where(NS.c.id.in_(
            sa.select(ASSOC.c.namespace_id).join(
                RT, RT.c.id == ASSOC.c.resource_type_id)
            .where(RT.c.name.in_(filters["resource_types"]))))
    with db_session.connection(write=False) as conn:
        if marker is not None:
            mark = _find(conn, marker)
            if mark is None:
                raise rules.NamespaceNotFound(namespace_name=marker)
            if conn.execute(_visible(sa.select(NS.c.id).where(
                    NS.c.id == mark.id), project_id, is_admin)).first() \
                    is None:
                # as Glance: a marker one may not see is forbidden (403)
                raise exception.Forbidden(
                    _("Forbidding request, metadata definition "
                      "namespace=%s is not visible.") % marker)
            query = query.where(items.after_marker(NS, keys, mark,
                                                   sort_dir))
        query = query.order_by(*items.order_by(NS, keys, sort_dir))
        if limit is not None:
            query = query.limit(limit)
        return [_namespace(row) for row in conn.execute(query)]


def namespace_create(values, objects=(), properties=None, tags=(),
                     associations=()):
    """Create a namespace with its contents, all or nothing; its dict.

    ``objects``, ``tags`` and ``associations`` are lists of dicts,
    ``properties`` a {name: definition} dict. Duplicate names (of the
    namespace or within its contents) raise the matching Duplicate.
    """
    name = values["namespace"]
    now = models.utcnow()
    row = {k: values.get(k) for k in _WRITABLE}
    row.update(created_at=now, updated_at=now)
    props = [{"name": k, "schema": v} for k, v in (properties or {}).items()]
    try:
        with db_session.connection(write=True) as conn:
            if _find(conn, name) is not None:
                raise rules.DuplicateNamespace(namespace_name=name)
            conn.execute(sa.insert(NS).values(**row))
            namespace = _namespace(_find(conn, name))
            for assoc in associations:
                _associate(conn, namespace, assoc, now)
            items.insert_items(conn, "object", namespace, list(objects), now)
            items.insert_items(conn, "tag", namespace, list(tags), now)
            items.insert_items(conn, "property", namespace, props, now)
    except sa_exc.IntegrityError as e:  # a race with another writer
        raise rules.DuplicateNamespace(namespace_name=name) from e
    return namespace


def namespace_update(namespace_id, values):
    """Change a namespace's attributes; its new dict."""
    changes = {k: values[k] for k in _WRITABLE if k in values}
    changes["updated_at"] = models.utcnow()
    name = values.get("namespace")
    try:
        with db_session.connection(write=True) as conn:
            if name is not None:
                clash = _find(conn, name)
                if clash is not None and clash.id != namespace_id:
                    raise rules.DuplicateNamespace(
                        _duplicate_update_message(name))
            conn.execute(sa.update(NS).where(NS.c.id == namespace_id)
                         .values(**changes))
            row = conn.execute(sa.select(NS).where(
                NS.c.id == namespace_id)).first()
    except sa_exc.IntegrityError as e:
        raise rules.DuplicateNamespace(_duplicate_update_message(name)) \
            from e
    if row is None:
        raise rules.NamespaceNotFound(namespace_name=name)
    return _namespace(row)


def _duplicate_update_message(name):
    return ("Invalid update. It would result in a duplicate metadata "
            "definition namespace with the same name of %s" % name)


def namespace_delete(namespace_id):
    """Delete a namespace and everything in it."""
    with db_session.connection(write=True) as conn:
        for kind in ("tag", "object", "property"):
            items.items_delete_all(conn, kind, namespace_id)
        conn.execute(sa.delete(ASSOC).where(ASSOC.c.namespace_id ==
                                            namespace_id))
        conn.execute(sa.delete(NS).where(NS.c.id == namespace_id))


def namespace_delete_all():
    """Delete every namespace (``glance-manage db unload_metadefs``)."""
    with db_session.connection(write=True) as conn:
        for table in (items.TABLES["tag"], items.TABLES["object"],
                      items.TABLES["property"], ASSOC, NS):
            conn.execute(sa.delete(table))


# Resource types and associations ------------------------------------------

def _association(row):
    return {"name": row.name, "prefix": row.prefix,
            "properties_target": row.properties_target,
            "namespace_id": row.namespace_id,
            "created_at": row.created_at, "updated_at": row.updated_at}


_ASSOC_QUERY = (sa.select(RT.c.name, ASSOC.c.prefix,
                          ASSOC.c.properties_target, ASSOC.c.namespace_id,
                          ASSOC.c.created_at, ASSOC.c.updated_at)
                .join(RT, RT.c.id == ASSOC.c.resource_type_id))


def associations(namespace_ids):
    """{namespace_id: [association dicts]} for those namespaces."""
    found = {ns_id: [] for ns_id in namespace_ids}
    if not found:
        return found
    with db_session.connection(write=False) as conn:
        rows = conn.execute(_ASSOC_QUERY.where(
            ASSOC.c.namespace_id.in_(list(found)))
            .order_by(ASSOC.c.created_at, RT.c.id))
        for row in rows:
            found[row.namespace_id].append(_association(row))
    return found


def resource_type_list():
    """Every resource type: ``name``, ``protected`` and timestamps."""
    with db_session.connection(write=False) as conn:
        rows = conn.execute(sa.select(RT).order_by(RT.c.id))
        return [{"name": r.name, "protected": bool(r.protected),
                 "created_at": r.created_at, "updated_at": r.updated_at}
                for r in rows]


def _resource_type_id(conn, name, now):
    """The id of resource type ``name``, created on first use (as
    Glance)."""
    found = conn.execute(sa.select(RT.c.id).where(RT.c.name == name))
    rt_id = found.scalar()
    if rt_id is None:
        result = conn.execute(sa.insert(RT).values(
            name=name, protected=False, created_at=now, updated_at=now))
        rt_id = result.inserted_primary_key[0]
    return rt_id


def _associate(conn, namespace, values, now):
    rt_id = _resource_type_id(conn, values["name"], now)
    there = conn.execute(sa.select(ASSOC.c.namespace_id).where(
        ASSOC.c.namespace_id == namespace["id"],
        ASSOC.c.resource_type_id == rt_id)).first()
    if there is not None:
        raise rules.DuplicateAssociation(
            name=values["name"], namespace_name=namespace["namespace"])
    conn.execute(sa.insert(ASSOC).values(
        namespace_id=namespace["id"], resource_type_id=rt_id,
        prefix=values.get("prefix"),
        properties_target=values.get("properties_target"),
        created_at=now, updated_at=now))


def association_create(namespace, values):
    """Associate a namespace with a resource type; the association."""
    now = models.utcnow()
    try:
        with db_session.connection(write=True) as conn:
            _associate(conn, namespace, values, now)
    except sa_exc.IntegrityError as e:
        raise rules.DuplicateAssociation(
            name=values["name"], namespace_name=namespace["namespace"]) \
            from e
    return {"name": values["name"], "prefix": values.get("prefix"),
            "properties_target": values.get("properties_target"),
            "namespace_id": namespace["id"], "created_at": now,
            "updated_at": now}


def association_delete(namespace_id, name):
    """Remove an association (ResourceTypeNotFound if there is none)."""
    rt_ids = sa.select(RT.c.id).where(RT.c.name == name)
    with db_session.connection(write=True) as conn:
        done = conn.execute(sa.delete(ASSOC).where(
            ASSOC.c.namespace_id == namespace_id,
            ASSOC.c.resource_type_id.in_(rt_ids)))
    if done.rowcount == 0:
        raise rules.ResourceTypeNotFound(name=name)
