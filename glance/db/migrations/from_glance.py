"""Adopting a database written by OpenStack Glance.

Glance keeps its alembic history in the same ``alembic_version`` table as
we do, under its own revision names (``2024_1_contract01`` for Glance 29 to
33). Its tables hold the same rows as ours under slightly different
definitions: other index names, an ENUM for ``images.visibility``,
``utf8mb3`` and second-precision DATETIMEs on MySQL, ``tasks.owner NOT
NULL``, CHECK constraints on booleans.

:func:`adopt` reshapes those tables, in place, into exactly the tables of
our revision 0001 (``schema_0001``) and records 0001 as the database's
revision; the ordinary alembic upgrade then goes on from there. No row is
copied out or dropped: PostgreSQL and MySQL tables are altered where they
stand; SQLite tables, which cannot be altered, are rebuilt with every row
(foreign keys are checked before the commit). Glance's other tables
(metadata definitions, the cache's ``node_reference`` and
``cached_images``) are left as they are.

Every step compares what is there with what is wanted, so an adoption that
stopped half-way (MySQL commits each DDL statement) is finished by running
it again.
"""
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
import sqlalchemy as sa

from glance.db.migrations import schema_0001
from glance.i18n import _

# Glance's alembic revisions, oldest first.
GLANCE_REVISIONS = (
    "liberty", "mitaka01", "mitaka02",
    "ocata_expand01", "ocata_contract01", "pike_expand01", "pike_contract01",
    "queens_expand01", "queens_contract01", "rocky_expand01",
    "rocky_expand02", "rocky_contract01", "rocky_contract02",
    "train_expand01", "train_contract01", "ussuri_expand01",
    "ussuri_contract01", "wallaby_expand01", "wallaby_contract01",
    "xena_expand01", "xena_contract01", "yoga_expand01", "yoga_contract01",
    "zed_expand01", "zed_contract01", "2023_1_expand01", "2023_1_contract01",
    "2024_1_expand01", "2024_1_contract01",
)
# The image and task tables have had their present shape since Wallaby
# (Glance 22) added tasks.image_id, request_id and user_id.
ADOPTABLE = GLANCE_REVISIONS[GLANCE_REVISIONS.index("wallaby_expand01"):]


class AdoptionError(RuntimeError):
    """The Glance database cannot be adopted as it is; says why."""


def current_heads(conn):
    """The revisions recorded in ``alembic_version`` (empty if none)."""
    return MigrationContext.configure(conn).get_current_heads()


def is_glance(heads):
    """Whether ``heads`` are revisions of OpenStack Glance."""
    return bool(heads) and all(h in GLANCE_REVISIONS for h in heads)


def adopt(conn):
    """Reshape a Glance database into our revision 0001, in place.

    Returns False (and does nothing) unless the database is at a Glance
    revision; raises AdoptionError if it is one we cannot adopt.
    """
    heads = current_heads(conn)
    if not is_glance(heads):
        return False
    _check_adoptable(conn, heads)
    tables = [schema_0001.metadata().tables[name]
              for name in schema_0001.TABLE_NAMES]
    _RESHAPERS[conn.dialect.name](conn, tables)
    conn.exec_driver_sql("DELETE FROM alembic_version")
    conn.exec_driver_sql("INSERT INTO alembic_version (version_num) "
                         "VALUES ('%s')" % schema_0001.REVISION)
    return True


def _check_adoptable(conn, heads):
    old = [h for h in heads if h not in ADOPTABLE]
    if old:
        raise AdoptionError(
            _("the database is at Glance revision %s, older than Wallaby: "
              "upgrade it with Glance's own 'glance-manage db sync' first")
            % ", ".join(old))
    inspector = sa.inspect(conn)
    target = schema_0001.metadata()
    for name in schema_0001.TABLE_NAMES:
        if not inspector.has_table(name):
            raise AdoptionError(_("the Glance database has no table %s")
                                % name)
        found = {c["name"] for c in inspector.get_columns(name)}
        wanted = set(target.tables[name].columns.keys())
        if found != wanted:
            raise AdoptionError(
                _("table %(table)s is not as Glance left it: columns "
                  "missing %(missing)s, unknown %(unknown)s") % {
                    "table": name, "missing": sorted(wanted - found),
                    "unknown": sorted(found - wanted)})


# -- SQLite: rebuild each table ---------------------------------------------

def _rebuild_sqlite(conn, tables):
    """Copy every row of each table into a new table made as ours, in
    the old one's place (its indexes and CHECK constraints go with it)."""
    operations = Operations(MigrationContext.configure(conn))
    for table in tables:
        with operations.batch_alter_table(table.name, copy_from=table,
                                          recreate="always"):
            pass


# -- PostgreSQL and MySQL: alter in place ----------------------------------

def _index_changes(conn, table):
    """(names to drop, Index objects to create) to get ``table``'s
    indexes; a unique constraint counts as an index of that name, but on
    PostgreSQL it is dropped and remade as an index, as ours are."""
    inspector = sa.inspect(conn)
    found = {}
    for uc in inspector.get_unique_constraints(table.name):
        found[uc["name"]] = (tuple(uc["column_names"]), True, True)
    for ix in inspector.get_indexes(table.name):
        found.setdefault(ix["name"], (tuple(ix["column_names"]),
                                      bool(ix["unique"]), False))
    wanted = {ix.name: ix for ix in table.indexes}
    keep = set()
    for name, (columns, unique, constraint) in found.items():
        ix = wanted.get(name)
        if (ix is not None and (constraint is False
                                or conn.dialect.name != "postgresql")
                and columns == tuple(c.name for c in ix.columns)
                and unique == bool(ix.unique)):
            keep.add(name)
    drop = {name: found[name][2] for name in found if name not in keep}
    create = [ix for name, ix in sorted(wanted.items()) if name not in keep]
    return drop, create


def _quote(conn, name):
    return conn.dialect.identifier_preparer.quote(name)


def _type_sql(conn, type_):
    return type_.compile(dialect=conn.dialect)


def _alter_postgresql(conn, tables):
    """Each table's columns and indexes as ours; Glance's ENUM type of
    ``images.visibility`` goes once no column uses it."""
    for table in tables:
        _alter_postgresql_table(conn, table)
    conn.exec_driver_sql("DROP TYPE IF EXISTS image_visibility")


def _alter_postgresql_table(conn, table):
    """Column types, NOT NULLs and defaults, then indexes, as ours."""
    current = {c["name"]: c for c in sa.inspect(conn).get_columns(table.name)}
    t = _quote(conn, table.name)
    for column in table.columns:
        if column.primary_key:
            continue
        found, c = current[column.name], _quote(conn, column.name)
        if found["default"] is not None and column.server_default is None:
            conn.exec_driver_sql("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT"
                                 % (t, c))
        wanted = _type_sql(conn, column.type)
        if _type_sql(conn, found["type"]) != wanted:
            conn.exec_driver_sql(
                "ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s"
                % (t, c, wanted, c, wanted))
        if found["nullable"] != column.nullable:
            conn.exec_driver_sql(
                "ALTER TABLE %s ALTER COLUMN %s %s NOT NULL"
                % (t, c, "DROP" if column.nullable else "SET"))
    drop, create = _index_changes(conn, table)
    for name, constraint in sorted(drop.items()):
        if constraint:
            conn.exec_driver_sql("ALTER TABLE %s DROP CONSTRAINT %s"
                                 % (t, _quote(conn, name)))
        else:
            conn.exec_driver_sql("DROP INDEX %s" % _quote(conn, name))
    for index in create:
        conn.execute(sa.schema.CreateIndex(index))


def _alter_mysql(conn, tables):
    """Each table as ours. MySQL will not change the character set of a
    column a foreign key uses, so the foreign keys go first and come
    back (checked against every row) at the end."""
    inspector = sa.inspect(conn)
    for table in tables:
        for fk in inspector.get_foreign_keys(table.name):
            conn.exec_driver_sql("ALTER TABLE %s DROP FOREIGN KEY %s" % (
                _quote(conn, table.name), _quote(conn, fk["name"])))
    for table in tables:
        _alter_mysql_table(conn, table)
    for table in tables:
        for fk in table.foreign_keys:
            conn.exec_driver_sql(
                "ALTER TABLE %s ADD FOREIGN KEY (%s) REFERENCES %s (%s)" % (
                    _quote(conn, table.name), _quote(conn, fk.parent.name),
                    _quote(conn, fk.column.table.name),
                    _quote(conn, fk.column.name)))


def _alter_mysql_table(conn, table):
    """utf8mb4, then every column redefined as ours (types, DATETIME(6),
    collations, NULLs, defaults), CHECKs and indexes, in one ALTER."""
    t = _quote(conn, table.name)
    conn.exec_driver_sql("ALTER TABLE %s CHARACTER SET utf8mb4" % t)
    clauses = ["DROP CONSTRAINT %s" % _quote(conn, check["name"])
               for check in sa.inspect(conn).get_check_constraints(
                   table.name)]
    for column in table.columns:
        if column.primary_key and isinstance(column.type, sa.Integer):
            continue  # INT AUTO_INCREMENT, as wanted (MODIFY would drop it)
        clauses.append("MODIFY %s" % _mysql_column_sql(conn, column))
    drop, create = _index_changes(conn, table)
    clauses += ["DROP INDEX %s" % _quote(conn, name) for name in sorted(drop)]
    for index in create:
        clauses.append("ADD %sINDEX %s (%s)" % (
            "UNIQUE " if index.unique else "", _quote(conn, index.name),
            ", ".join(_quote(conn, c.name) for c in index.columns)))
    conn.exec_driver_sql("ALTER TABLE %s %s" % (t, ", ".join(clauses)))


def _mysql_column_sql(conn, column):
    sql = "%s %s %s" % (_quote(conn, column.name),
                        _type_sql(conn, column.type),
                        "NULL" if column.nullable else "NOT NULL")
    if column.server_default is not None:
        sql += " DEFAULT '%s'" % column.server_default.arg
    return sql


_RESHAPERS = {"sqlite": _rebuild_sqlite, "postgresql": _alter_postgresql,
              "mysql": _alter_mysql, "mariadb": _alter_mysql}
