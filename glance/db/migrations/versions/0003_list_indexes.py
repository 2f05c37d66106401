"""Indexes that image listing follows, so a page costs the same at any size.

Each index is one part of what a viewer may list -- all live images, one
owner's, one visibility's -- in a sort order (``created_at`` or ``name``,
then the tie-breakers ``created_at`` and ``id``), after the two columns
every listing fixes by equality (``deleted``, ``os_hidden``). A page then
reads ``limit`` entries of a few of them (``glance.db.image_query``)
instead of sorting every visible image. ``ix_images_owner`` and
``ix_images_visibility`` are prefixes of the new ones and go, and so does
``ix_images_created_at``: listings filter on ``created_at`` through
``ix_images_live_created_at``, and MariaDB, finding its range cheaper,
would not seek to a marker through the listing index.

Revision ID: 0003_list_indexes
Revises: 0002_metadefs
Create Date: 2025-03-01
"""
from alembic import op

revision = "0003_list_indexes"
down_revision = "0002_metadefs"
branch_labels = None
depends_on = None

LIST_INDEXES = (
    ("ix_images_live_created_at",
     ["deleted", "os_hidden", "created_at", "id"]),
    ("ix_images_live_name",
     ["deleted", "os_hidden", "name", "created_at", "id"]),
    ("ix_images_owner_created_at",
     ["owner", "deleted", "os_hidden", "created_at", "id"]),
    ("ix_images_owner_name",
     ["owner", "deleted", "os_hidden", "name", "created_at", "id"]),
    ("ix_images_visibility_created_at",
     ["visibility", "deleted", "os_hidden", "created_at", "id"]),
    ("ix_images_visibility_name",
     ["visibility", "deleted", "os_hidden", "name", "created_at", "id"]),
)
REPLACED = (("ix_images_owner", ["owner"]),
            ("ix_images_visibility", ["visibility"]),
            ("ix_images_created_at", ["created_at"]))


def upgrade():
    for name, columns in LIST_INDEXES:
        op.create_index(name, "images", columns)
    for name, _columns in REPLACED:
        op.drop_index(name, table_name="images")


def downgrade():
    for name, columns in REPLACED:
        op.create_index(name, "images", columns)
    for name, _columns in LIST_INDEXES:
        op.drop_index(name, table_name="images")
