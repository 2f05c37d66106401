"""The HTTP layer: paste factories for the root app and pipelines."""
from oslo_config import cfg
import paste.urlmap

from glance.common import config  # noqa: F401 - [paste_deploy], [profiler]

CONF = cfg.CONF
# the filter Glance's paste file names for osprofiler
PROFILER_FILTER = "osprofiler"


def root_app_factory(loader, global_conf, **local_conf):
    """paste.composite_factory mapping URL prefixes to apps (v2 only)."""
    return paste.urlmap.urlmap_factory(loader, global_conf, **local_conf)


def pipeline_factory(loader, global_conf, **local_conf):
    """paste.composite_factory: one pipeline per deployment flavor.

    As in Glance's paste file, each key of the section is a flavor
    (``default`` when ``[paste_deploy] flavor`` is unset) and its value a
    pipeline: filters outermost first, the app last. The ``osprofiler``
    filter is left out while ``[profiler] enabled`` is false, so that it
    costs nothing.
    """
    flavor = CONF.paste_deploy.flavor or "default"
    if flavor not in local_conf:
        raise LookupError(
            "no pipeline for flavor %r in the pipeline_factory section "
            "(it has: %s)" % (flavor, ", ".join(sorted(local_conf))))
    names = local_conf[flavor].split()
    app = loader.get_app(names.pop())
    for name in reversed(names):
        if name == PROFILER_FILTER and not CONF.profiler.enabled:
            continue
        app = loader.get_filter(name)(app)
    return app
