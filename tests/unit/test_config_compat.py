"""A Glance 33 configuration read here: its option list, its bracketed
lists, its paste pipeline factory and its osprofiler filter."""
import logging
import pathlib
import re
import uuid

import pytest
import webob
from oslo_config import cfg

from glance import api
from glance.common import config
from glance import opts

REPO = pathlib.Path(__file__).resolve().parents[2]
GLANCE_OPTIONS = pathlib.Path(__file__).parent / "data" / \
    "glance33-options.txt"
DOC = REPO / "doc" / "config-differences.rst"


def glance_options():
    """{(group, option)} of Glance 33's glance.api and glance namespaces."""
    lines = GLANCE_OPTIONS.read_text().splitlines()
    return {tuple(line.split()[1:]) for line in lines
            if line and not line.startswith("#")}


def doc_table():
    """{(group, option): 'stops start-up' or 'warning'} from the doc."""
    rows = re.findall(r"^   \* - ``\[(\w+)\] (\w+)``\n     - ([a-z -]+)$",
                      DOC.read_text(), re.M)
    return {(group, name): when for group, name, when in rows}


def listed_options():
    return {(group or "DEFAULT", opt.dest)
            for group, options in opts.list_api_opts() for opt in options}


def test_every_glance_option_is_listed_or_documented():
    listed, documented = listed_options(), set(doc_table())
    missing = glance_options() - listed - documented
    assert not missing, "neither generated nor in the doc: %s" % missing
    assert not listed & documented, "honoured and documented as not"
    assert documented <= glance_options()


def test_doc_table_is_the_code_table():
    in_code = {(group, name): "stops start-up" if fatal else "warning"
               for group, name, fatal, _why
               in config.UNSUPPORTED_GLANCE_OPTS}
    assert doc_table() == in_code


@pytest.mark.parametrize("written, parsed", [
    ("[127.0.0.1]", ["127.0.0.1"]),
    ("[127.0.0.1, example.com]", ["127.0.0.1", "example.com"]),
    ("127.0.0.1,example.com", ["127.0.0.1", "example.com"]),
    ("[]", []),
    ("", []),
])
def test_host_lists(written, parsed):
    assert config.BracketList(cfg.types.HostAddress())(written) == parsed


def test_quoted_items_and_typed_items():
    assert config.BracketList()("['image_conversion', \"no_op\"]") == [
        "image_conversion", "no_op"]
    ports = config.BracketList(cfg.types.Integer(min=1, max=65535))
    assert ports("[80,443,8080]") == [80, 443, 8080]
    assert ports([80, "443"]) == [80, 443]  # set_override's lists
    for bad in ("[80, http]", "[0]", "[80", "[10.0.0.0/8]"):
        with pytest.raises(ValueError):
            (ports if "/" not in bad else
             config.BracketList(cfg.types.HostAddress()))(bad)


def test_import_methods_are_the_implemented_ones(conf):
    opt = {o.dest: o for o in config.common_opts}["enabled_import_methods"]
    assert opt.type("['glance-direct']") == ["glance-direct"]
    assert opt.type("[glance-direct, glance-download]") == [
        "glance-direct", "glance-download"]
    assert opt.default == ["glance-direct", "web-download", "copy-image"]
    with pytest.raises(ValueError, match="glance-upload"):
        opt.type("[glance-direct, glance-upload]")


def test_a_bad_value_is_named_with_its_option(tmp_path):
    conf_file = tmp_path / "glance-api.conf"
    conf_file.write_text("[import_filtering_opts]\nallowed_ports = [x]\n")
    local = cfg.ConfigOpts()
    opt = config.BracketListOpt("allowed_ports",
                                item_type=cfg.types.Integer())
    local.register_opt(opt, group="import_filtering_opts")
    local(["--config-file", str(conf_file)])
    real, config.CONF = config.CONF, local
    try:
        with pytest.raises(config.InvalidOptionValue) as err:
            config.check_values([("import_filtering_opts", [opt])])
    finally:
        config.CONF = real
    assert str(err.value).startswith(
        "[import_filtering_opts] allowed_ports (%s): " % conf_file)
    assert "'x'" in str(err.value)


def test_unsupported_options_warn_or_stop(conf, caplog):
    conf(engine_mode="parallel", group="taskflow_executor")
    with caplog.at_level(logging.WARNING, "glance.common.config"):
        config.check_unsupported()
    assert "[taskflow_executor] engine_mode is set" in caplog.text
    conf(metadata_encryption_key="k" * 32)
    with pytest.raises(config.InvalidOptionValue,
                       match="metadata_encryption_key"):
        config.check_unsupported()


class Loader:
    """paste's loader, as pipeline_factory uses it."""

    def __init__(self, filters):
        self.filters = filters

    def get_app(self, name):
        return webob.Response(body=name.encode())

    def get_filter(self, name):
        return self.filters[name]


def tagging(tag):
    def factory(app):
        def filtered(environ, start_response):
            environ.setdefault("passed", []).append(tag)
            return app(environ, start_response)
        return filtered
    return factory


PIPELINES = {"default": "a osprofiler rootapp",
             "keystone+caching": "b osprofiler rootapp"}


@pytest.mark.parametrize("flavor, tags", [(None, ["a"]),
                                          ("keystone+caching", ["b"])])
def test_pipeline_per_flavor_without_profiler(conf, flavor, tags):
    conf(group="paste_deploy", flavor=flavor)
    filters = {"a": tagging("a"), "b": tagging("b"),
               "osprofiler": tagging("profiler")}
    app = api.pipeline_factory(Loader(filters), {}, **PIPELINES)
    req = webob.Request.blank("/")
    assert req.get_response(app).body == b"rootapp"
    assert req.environ["passed"] == tags


def test_pipeline_of_a_flavor_it_does_not_have(conf):
    conf(group="paste_deploy", flavor="trusted-auth")
    with pytest.raises(LookupError, match="'trusted-auth'.*default, "
                                          "keystone\\+caching"):
        api.pipeline_factory(Loader({}), {}, **PIPELINES)


@pytest.fixture
def profiler_on(conf, monkeypatch):
    """[profiler] enabled with a notifier that records trace points."""
    from osprofiler import notifier, web
    points = []
    monkeypatch.setattr(notifier, "create",
                        lambda *a, **k: points.append)
    conf(group="profiler", enabled=True, hmac_keys="s3cret")
    yield points
    web._ENABLED, web._HMAC_KEYS = None, None
    notifier.set(lambda info, context=None: None)


def test_enabled_profiler_traces_signed_requests(profiler_on):
    from osprofiler import _utils, web
    assert config.setup_profiler() is True
    filters = {"osprofiler": web.WsgiMiddleware.factory({}),
               "a": tagging("a")}
    app = api.pipeline_factory(Loader(filters), {}, **PIPELINES)
    assert webob.Request.blank("/").get_response(app).body == b"rootapp"
    assert profiler_on == []  # unsigned: not traced
    info, hmac = _utils.signed_pack({"base_id": str(uuid.uuid4()),
                                     "parent_id": str(uuid.uuid4())},
                                    "s3cret")
    req = webob.Request.blank("/", headers={"X-Trace-Info": info,
                                            "X-Trace-HMAC": hmac})
    assert req.get_response(app).body == b"rootapp"
    assert [p["name"] for p in profiler_on] == ["wsgi-start", "wsgi-stop"]


def test_profiler_driver_that_cannot_start_is_logged(conf, profiler_on,
                                                     monkeypatch, caplog):
    from osprofiler import notifier
    monkeypatch.undo()  # the real notifier.create
    conf(group="profiler", enabled=True, connection_string="nosuch://")
    with caplog.at_level(logging.ERROR, "osprofiler"):
        assert config.setup_profiler() is True  # as Glance: logged, off
    assert "nosuch://" in caplog.text
    assert notifier.get() is not None


def test_every_factory_of_glance_paste_file_resolves():
    import importlib
    paste = REPO / "tests" / "functional" / "data" / "glance33-api-paste.ini"
    paths = re.findall(r"^paste\.\w+_factory = +(\S+)$", paste.read_text(),
                       re.M)
    assert len(set(paths)) == 15
    for path in paths:
        module_name, attr = path.split(":")
        target = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
        assert callable(target), path
        if module_name.startswith("glance"):
            assert pathlib.Path(importlib.import_module(module_name)
                                .__file__).is_relative_to(REPO), path
