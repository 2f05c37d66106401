"""The HTTP layer: paste factories for the root app and pipelines."""
import paste.urlmap


def root_app_factory(loader, global_conf, **local_conf):
    """paste.composite_factory mapping URL prefixes to apps (v2 only)."""
    return paste.urlmap.urlmap_factory(loader, global_conf, **local_conf)


def pipeline_factory(loader, global_conf, **local_conf):
    """paste.composite_factory building the ``pipeline`` key's filters.

    Filters are listed outermost first and the last name is the app, as in
    a ``[pipeline:...]`` section.
    """
    names = local_conf["pipeline"].split()
    app = loader.get_app(names.pop())
    for name in reversed(names):
        app = loader.get_filter(name)(app)
    return app
