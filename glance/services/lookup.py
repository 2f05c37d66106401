"""Finding an image as a caller may see it: the first step of every
service function, below the services that act on images (so that any of
them may use it without importing another)."""
from glance.common import exception
from glance.db import api as db


def is_visible(context, image):
    """Whether ``context`` may see ``image`` at all (Glance's rules)."""
    if context.is_admin or image["visibility"] in ("public", "community"):
        return True
    if context.project_id is None:
        return False
    if image["owner"] == context.project_id:
        return True
    if image["visibility"] == "shared":
        return db.image_member_exists(image["id"], context.project_id)
    return False


def find_image(context, image_id, not_found_msg=None):
    """The image if ``context`` may see it, else ImageNotFound (404)."""
    # the image and, for a caller it is shared with, the membership: one
    # connection (on MySQL one snapshot, one ROLLBACK)
    with db.shared_reads():
        try:
            image = db.image_get(image_id)
        except (exception.NotFound, exception.Invalid):
            image = None  # an id the database cannot even hold
        visible = image is not None and is_visible(context, image)
    if not visible:
        if not_found_msg:
            raise exception.ImageNotFound(not_found_msg % image_id)
        raise exception.ImageNotFound(image_id=image_id)
    return image
