"""glance.opts lists every module's options for oslo-config-generator."""
from glance import opts


def _names(groups):
    return {(group or "DEFAULT", opt.name) for group, options in groups
            for opt in options}


def test_api_opts_cover_every_area():
    names = _names(opts.list_api_opts())
    for expected in [("DEFAULT", "bind_port"), ("DEFAULT", "workers"),
                     ("DEFAULT", "cert_file"), ("DEFAULT", "state_path"),
                     ("DEFAULT", "image_size_cap"),
                     ("DEFAULT", "enabled_import_methods"),
                     ("database", "connection"),
                     ("paste_deploy", "flavor"), ("task", "task_time_to_live"),
                     ("import_filtering_opts", "allowed_ports"),
                     ("image_format", "disk_formats"), ("wsgi",
                                                        "task_pool_threads")]:
        assert expected in names, expected


def test_cache_and_manage_opts():
    assert ("DEFAULT", "image_cache_dir") in _names(opts.list_cache_opts())
    assert ("database", "connection") in _names(opts.list_manage_opts())


def test_no_option_listed_twice_in_a_group():
    for group, options in opts.list_api_opts():
        names = [o.name for o in options]
        assert len(names) == len(set(names)), group
