"""The SQLite index of the image cache.

One small database file under ``image_cache_dir`` (``image_cache_sqlite_db``)
holds a row per cached image: size, hits, last access and modification
times, checksum. It is shared by every glance-api worker and the cron tools
of the node: each call opens its own connection, each statement is its own
transaction, the journal is WAL and writers wait (``timeout``) instead of
failing with "database is locked".
"""
import contextlib
import os
import sqlite3
import time

from oslo_log import log as logging

from glance.common import exception
from glance.i18n import _
from glance.image_cache.drivers import base

LOG = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cached_images (
    image_id TEXT PRIMARY KEY,
    last_accessed REAL DEFAULT 0.0,
    last_modified REAL DEFAULT 0.0,
    size INTEGER DEFAULT 0,
    hits INTEGER DEFAULT 0,
    checksum TEXT
)
"""
_COLUMNS = "image_id, last_accessed, last_modified, size, hits, checksum"
BUSY_TIMEOUT = 30.0


class Driver(base.Driver):
    """Cache files plus an SQLite index."""

    def __init__(self, base_dir, max_size=0, db_name="cache.db"):
        super().__init__(base_dir, max_size)
        self.db_path = os.path.join(base_dir, db_name)
        self.index_files = (db_name,)

    def _index_configure(self):
        try:
            self._create_index()
        except sqlite3.DatabaseError as e:
            raise exception.InvalidConfiguration(
                _("Cannot use the image cache index %(path)s: %(e)s")
                % {"path": self.db_path, "e": e}) from e

    def _create_index(self):
        """WAL mode and the table, retried while another worker or cron
        job does the same on a new file (the WAL switch needs an exclusive
        lock, which SQLite may refuse at once instead of waiting)."""
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                with self._connection() as conn:
                    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                    if mode.lower() != "wal":
                        conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute(_SCHEMA)
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
            time.sleep(0.01)

    @contextlib.contextmanager
    def _connection(self):
        conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT,
                               isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()

    def _execute(self, sql, params=()):
        with self._connection() as conn:
            return [dict(r) for r in conn.execute(sql, params).fetchall()]

    def _index_rows(self):
        return self._execute("SELECT %s FROM cached_images" % _COLUMNS)

    def _index_get(self, image_id):
        rows = self._execute("SELECT %s FROM cached_images WHERE image_id = ?"
                             % _COLUMNS, (image_id,))
        return rows[0] if rows else None

    def _index_add(self, image_id, size, checksum):
        now = time.time()
        self._execute("INSERT OR REPLACE INTO cached_images "
                      "(image_id, last_accessed, last_modified, size, hits, "
                      "checksum) VALUES (?, ?, ?, ?, 0, ?)",
                      (image_id, now, now, size, checksum))

    def _index_hit(self, image_id, when):
        self._execute("UPDATE cached_images SET hits = hits + 1, "
                      "last_accessed = ? WHERE image_id = ?",
                      (when, image_id))

    def _index_delete(self, image_id):
        self._execute("DELETE FROM cached_images WHERE image_id = ?",
                      (image_id,))

    def _index_delete_many(self, image_ids):
        # autocommit connection: one explicit transaction, one commit
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "DELETE FROM cached_images WHERE image_id = ?",
                    [(image_id,) for image_id in image_ids])
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _index_clear(self):
        # rows whose file is gone; a file written meanwhile keeps its row
        present = {name for name, _st in self._entries()}
        for row in self._index_rows():
            if row["image_id"] not in present:
                self._index_delete(row["image_id"])
