"""Every option of the service, for ``oslo-config-generator``.

Each module registers its own options; this list only gathers them so a
sample configuration can be written (``tox -e genconfig``).
"""
import importlib

# (module, attribute holding a list of options or a list_opts function)
_SOURCES = {
    "glance.api": [
        ("glance.common.config", "common_opts", None),
        ("glance.common.config", "paste_deploy_opts", "paste_deploy"),
        ("glance.common.config", "image_format_opts", "image_format"),
        ("glance.common.config", "list_profiler_opts", None),
        ("glance.common.wsgi", "list_opts", None),
        ("glance.api.middleware.context", "list_opts", None),
        ("glance.common.server_opts", "list_opts", None),
        ("glance.db.session", "list_opts", None),
        ("glance.common.utils", "list_opts", None),
        ("glance.common.filewriter", "list_opts", None),
        ("glance.store", "list_opts", None),
        ("glance.image_format", "list_opts", None),
        ("glance.services.image_data", "list_opts", None),
        ("glance.services.image_locations", "list_opts", None),
        ("glance.task_records", "list_opts", None),
        ("glance.notifier", "list_opts", None),
        ("glance.services.scrubber", "list_opts", None),
        ("glance.async_.flows.web_download", "list_opts", None),
        ("glance.async_.flows.glance_download", "list_opts", None),
        ("glance.async_.flows.plugins", "list_opts", None),
        ("glance.async_.flows.plugins.image_conversion", "list_opts", None),
        ("glance.async_.flows.plugins.inject_image_metadata", "list_opts",
         None),
        # glance-api runs the cache (caching flavors, cache API)
        ("glance.image_cache", "list_opts", None),
    ],
    "glance.manage": [
        ("glance.db.session", "list_opts", None),
        ("glance.cmd.manage", "list_opts", None),
    ],
    "glance.scrubber": [
        ("glance.common.config", "common_opts", None),
        ("glance.services.scrubber", "list_scrubber_opts", None),
        ("glance.db.session", "list_opts", None),
        ("glance.store", "list_opts", None),
    ],
    "glance.cache": [
        ("glance.common.config", "common_opts", None),
        ("glance.image_cache", "list_opts", None),
        ("glance.common.filewriter", "list_opts", None),
    ],
}


# the namespace whose values each program reads, checked at its start
PROGRAM_NAMESPACES = {
    "glance-api": "glance.api",
    "glance-cache-pruner": "glance.cache",
    "glance-cache-cleaner": "glance.cache",
    "glance-cache-prefetcher": "glance.cache",
    "glance-scrubber": "glance.scrubber",
}


def _gather(namespace):
    groups = {}
    for module_name, attr, group in _SOURCES[namespace]:
        source = getattr(importlib.import_module(module_name), attr)
        pairs = source() if callable(source) else [(group, source)]
        for group_name, opts in pairs:
            group_name = getattr(group_name, "name", group_name)
            bucket = groups.setdefault(group_name, [])
            bucket.extend(o for o in opts if o not in bucket)
    return sorted(groups.items(), key=lambda kv: kv[0] or "")


def check_program_config(prog):
    """Stop ``prog``'s start-up on a value it cannot interpret.

    Every option of the program's namespace is read once (see
    :func:`glance.common.config.check_values`), and glance-api checks
    for Glance options it does not support; other programs pass.
    """
    namespace = PROGRAM_NAMESPACES.get(prog)
    if namespace is None:
        return
    from glance.common import config
    config.check_values(_gather(namespace))
    if namespace == "glance.api":
        config.check_unsupported()


def list_api_opts():
    return _gather("glance.api")


def list_manage_opts():
    return _gather("glance.manage")


def list_scrubber_opts():
    return _gather("glance.scrubber")


def list_cache_opts():
    return _gather("glance.cache")
