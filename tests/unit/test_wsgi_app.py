"""The request body under each WSGI host, and how glance.wsgi finds config."""
import io
import types
from unittest import mock

import pytest
import webob.exc

from glance.common import request_body
from glance.common import wsgi
from glance.wsgi import loader


class FakeUwsgi(types.ModuleType):
    """``uwsgi.chunked_read`` handing out the given chunks, then b''."""

    def __init__(self, chunks, fail_after=None):
        super().__init__("uwsgi")
        self.chunks = list(chunks)
        self.fail_after = fail_after
        self.calls = 0

    def chunked_read(self, timeout=0):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise OSError("unable to receive chunked part")
        return self.chunks.pop(0) if self.chunks else b""


def _environ(chunked=True, **extra):
    environ = {"wsgi.input": io.BytesIO(b""), "REQUEST_METHOD": "PUT"}
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ.update(extra)
    return environ


def test_uwsgi_chunks_are_split_and_joined_across_reads():
    body = request_body.UwsgiChunkedInput(
        FakeUwsgi([b"abcdefg", b"h", b"ijklmnopq"]))
    buffer = bytearray(5)
    got = []
    while True:
        count = body.readinto(buffer)
        if not count:
            break
        got.append(bytes(buffer[:count]))
    assert got == [b"abcde", b"fghij", b"klmno", b"pq"]
    assert body.read() == b""


def test_uwsgi_read_sizes_and_read_all():
    body = request_body.UwsgiChunkedInput(FakeUwsgi([b"abc", b"defgh"]))
    assert body.read(2) == b"ab"
    assert body.read() == b"cdefgh"
    assert body.read(4) == b""


def test_uwsgi_broken_body_raises_oserror():
    body = request_body.UwsgiChunkedInput(
        FakeUwsgi([b"abc", b"def"], fail_after=1))
    with pytest.raises(OSError):
        body.read(10)


def test_chunked_under_uwsgi_uses_chunked_read():
    fake = FakeUwsgi([b"data"])
    with mock.patch.dict("sys.modules", uwsgi=fake):
        stream = request_body.body_stream(
            _environ(**{"uwsgi.version": b"2.0.31"}))
        assert stream.read() == b"data"


def test_servers_that_dechunk_hand_their_stream_over():
    terminated = _environ(**{"wsgi.input_terminated": True})
    assert request_body.body_stream(terminated) is terminated["wsgi.input"]
    stream = io.BytesIO(b"x")
    stream.chunked_input = True   # eventlet's Input
    assert request_body.body_stream(_environ(**{"wsgi.input": stream})) \
        is stream
    plain = _environ(chunked=False)
    assert request_body.body_stream(plain) is plain["wsgi.input"]


def test_chunked_body_a_server_cannot_read_is_refused():
    with pytest.raises(webob.exc.HTTPLengthRequired) as raised:
        request_body.body_stream(_environ())
    assert "Content-Length" in raised.value.explanation


def test_json_deserializer_leaves_input_terminated_alone():
    # webob's is_body_readable setter would mark the input dechunked
    req = wsgi.Request.blank("/", method="POST",
                             headers={"Transfer-Encoding": "chunked"})
    req.environ.pop("CONTENT_LENGTH", None)
    req.environ.pop("wsgi.input_terminated", None)
    assert wsgi.JSONRequestDeserializer().has_body(req)
    assert "wsgi.input_terminated" not in req.environ
    with pytest.raises(webob.exc.HTTPLengthRequired):
        req.body_file   # noqa: B018


def test_webob_request_sees_uwsgi_chunked_json():
    fake = FakeUwsgi([b'{"a": ', b"1}"])
    req = wsgi.Request.blank("/", method="POST",
                             headers={"Transfer-Encoding": "chunked"})
    req.environ.pop("CONTENT_LENGTH", None)
    req.environ["uwsgi.version"] = b"2.0.31"
    with mock.patch.dict("sys.modules", uwsgi=fake):
        assert wsgi.JSONRequestDeserializer().default(req) == \
            {"body": {"a": 1}}


# --- glance.wsgi.loader ---------------------------------------------------

def test_config_dir_gives_its_files_in_glance_order(tmp_path):
    (tmp_path / "glance-api.conf").write_text("[DEFAULT]\n")
    env = {"OS_GLANCE_CONFIG_DIR": str(tmp_path)}
    assert loader.config_files(env) == [str(tmp_path / "glance-api.conf")]
    (tmp_path / "glance-image-import.conf").write_text("[DEFAULT]\n")
    assert loader.config_files(env) == [
        str(tmp_path / "glance-image-import.conf"),
        str(tmp_path / "glance-api.conf")]


def test_config_dir_without_glance_api_conf_is_refused(tmp_path):
    with pytest.raises(loader.LoadError, match="no glance-api.conf in"):
        loader.config_files({"OS_GLANCE_CONFIG_DIR": str(tmp_path)})


def test_default_config_dir_is_etc_glance():
    with mock.patch("os.path.isfile", return_value=False):
        with pytest.raises(loader.LoadError, match="in /etc/glance"):
            loader.config_files({})


def test_named_config_files_must_exist(tmp_path):
    conf = tmp_path / "a.conf"
    conf.write_text("")
    env = {"GLANCE_CONFIG_FILE": " %s, ,%s" % (conf, conf)}
    assert loader.config_files(env) == [str(conf), str(conf)]
    env = {"GLANCE_CONFIG_FILE": str(tmp_path / "missing.conf")}
    with pytest.raises(loader.LoadError, match="missing.conf"):
        loader.config_files(env)


def test_load_failure_is_one_line_and_app_load_status(capsys):
    with mock.patch.object(loader, "init_application",
                           side_effect=RuntimeError("paste\nbroken")):
        with pytest.raises(SystemExit) as raised:
            loader.load_or_exit()
    assert raised.value.code == loader.APP_LOAD_ERROR
    err = capsys.readouterr().err
    assert err.startswith("glance.wsgi.api: cannot load the application: "
                          "RuntimeError: paste broken\n")


def test_init_application_bootstraps_natively(tmp_path):
    (tmp_path / "glance-api.conf").write_text("[DEFAULT]\n")
    env = {"OS_GLANCE_CONFIG_DIR": str(tmp_path)}
    with mock.patch.object(loader.bootstrap, "bootstrap") as boot, \
            mock.patch.object(loader, "_prepare_database") as database, \
            mock.patch.object(loader.bootstrap, "setup_stores") as stores, \
            mock.patch.object(loader.config, "load_paste_app") as load:
        assert loader.init_application(env) is load.return_value
    boot.assert_called_once_with(
        [], prog="glance-api", thread_model="native",
        default_config_files=[str(tmp_path / "glance-api.conf")])
    database.assert_called_once_with()
    stores.assert_called_once_with()
    load.assert_called_once_with("glance-api")

