"""The ``inject_image_metadata`` import plugin.

Sets the properties of ``[inject_metadata_properties] inject`` on the
imported image, unless the importing user has one of the
``ignore_user_roles``.
"""
from oslo_config import cfg

from glance.db import api as db
from glance.i18n import _

CONF = cfg.CONF

inject_metadata_opts = [
    cfg.ListOpt("ignore_user_roles", default=["admin"],
                help=_("Users with any of these roles import without the "
                       "injected properties.")),
    cfg.DictOpt("inject", default={},
                help=_("Properties to set on every imported image, e.g. "
                       "'property1:value1,property2:value2'.")),
]

CONF.register_opts(inject_metadata_opts, group="inject_metadata_properties")


def list_opts():
    return [("inject_metadata_properties", inject_metadata_opts)]


def run(context, image, path):
    opts = CONF.inject_metadata_properties
    if not opts.inject:
        return image
    roles = set(getattr(context, "roles", None) or ())
    if roles & set(opts.ignore_user_roles):
        return image
    props = dict(image["properties"])
    props.update(opts.inject)
    return db.image_update(image["id"], {"properties": props})
