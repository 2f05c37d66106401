"""The database API: every read and write of image metadata goes here.

Functions take and return plain dicts and raise ``glance.common.exception``
errors; there is no HTTP and no policy at this layer (callers authorize
first). The implementation is split by subject; this module is the one
place callers import from.

Images (``glance.db.images``, ``glance.db.image_query``)
    An image dict has the ``images`` columns plus ``properties`` (name ->
    value), ``tags`` (insertion order) and ``locations`` (``id``, ``url``,
    ``metadata``, ``status``), live rows only. Deletion is soft: the row
    stays, invisible to normal reads, and its id can never be reused.

``image_get_all`` viewer rules (``project_id`` None is anonymous):
    - admin: every live image; a ``visibility`` filter narrows by column.
    - no ``visibility`` filter: own images, public ones, and shared ones
      the project is a member of with ``member_status`` ('all': any) --
      not other projects' community images.
    - ``public``/``community``: every image with that visibility;
      ``private``: own private images; ``shared``: own shared images and
      those shared with the project; ``all``: the default set plus every
      community image.

``image_get_all`` filters
    ``visibility``; ``name``, ``status``, ``owner``, ``disk_format``,
    ``container_format``, ``id``, ``checksum``, ``os_hash_value``,
    ``os_hash_algo`` (a value, or a list for "any of"); ``protected`` and
    ``os_hidden`` (bools; hidden images are left out unless ``os_hidden``
    is given); ``size_min``/``size_max``; ``tags`` (all must be present);
    ``created_at``/``updated_at`` (a list of ``(op, datetime)`` with op in
    eq, neq, gt, gte, lt, lte); any other key is a property that must equal
    the value (or one of a list).

Sorting: ``sort_key`` lists keys (default ``created_at``), ``sort_dir`` is
one direction for all or one per key (default 'desc'); ``created_at`` and
``id`` are appended as tie-breakers so marker pages are stable. NULL sorts
below every value on every backend.

``shared_reads()``: the hot reads in the block share one connection.
"""
from glance.db.direct_read import shared_reads
from glance.db.image_query import image_get_all
from glance.db.images import (
    image_count, image_count_for_owner, image_create, image_destroy,
    image_get, image_location_add, image_location_delete,
    image_location_update, image_tag_create, image_tag_delete,
    image_tag_get_all, image_tag_set_all, image_update,
    user_get_storage_usage)
from glance.db.members import (
    image_member_count, image_member_create, image_member_delete,
    image_member_exists, image_member_find, image_member_update)
from glance.db.pending_delete import (
    image_destroy_delayed, image_restore, image_scrubbed, location_claim,
    location_release, pending_images)
from glance.db.tasks import (
    task_create, task_delete, task_get, task_get_all, task_update,
    tasks_delete_expired, tasks_get_by_image)

__all__ = [
    "image_count", "image_count_for_owner", "image_create", "image_destroy",
    "image_destroy_delayed", "image_restore", "image_scrubbed",
    "location_claim", "location_release", "pending_images",
    "image_get", "image_get_all", "image_location_add",
    "image_location_delete", "image_location_update", "image_member_count",
    "image_member_create", "image_member_delete", "image_member_exists",
    "image_member_find", "image_member_update", "image_tag_create",
    "image_tag_delete", "image_tag_get_all", "image_tag_set_all",
    "image_update", "shared_reads",
    "task_create", "task_delete", "task_get", "task_get_all", "task_update",
    "tasks_delete_expired", "tasks_get_by_image", "user_get_storage_usage",
]
