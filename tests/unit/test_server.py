"""glance.common.server, arbiter, worker and connections
without sockets or processes, bootstrap, and the console entry points.

The supervisor's decisions (respawn, halt, reload, drain deadlines, the
watchdog, releasing a dead worker's claims) are tested here with fork,
kill and waitpid replaced; the real processes and signals are exercised
by tests/functional/test_server.py and test_server_faults.py.
"""
import configparser
import errno
import importlib
import os
import pathlib
import signal
import socket
import sys
import time
from unittest import mock

import eventlet.wsgi
import pytest

from oslo_config import cfg

import glance.async_
from glance.common import arbiter
from glance.common import bootstrap
from glance.common import claims
from glance.common import config
from glance.common import connections
from glance.common import eventlet_setup
from glance.common import logging_setup
from glance.common import oslo_policy_adapter
from glance.common import pipes
from glance.common import scoreboard
from glance.common import server
from glance.common import server_opts
from glance.common import sockets as socket_mod
from glance.common import store_setup
from glance.common import worker as worker_mod

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def state(tmp_path, conf):
    conf(state_path=str(tmp_path / "state"))
    return tmp_path / "state"


# --- addresses, workers, TLS ------------------------------------------------

def test_bind_addr(conf):
    assert socket_mod.get_bind_addr(9292) == ("0.0.0.0", 9292)
    conf(bind_host="::1", bind_port=8080)
    assert socket_mod.get_bind_addr(9292) == ("::1", 8080)
    conf(bind_port=0)
    assert socket_mod.get_bind_addr(9292) == ("::1", 0)


def test_option_defaults():
    conf = server.CONF
    assert (conf.backlog, conf.tcp_keepidle, conf.max_header_line) == (
        4096, 600, 16384)
    assert conf.http_keepalive is True and conf.client_socket_timeout == 900
    assert conf.graceful_shutdown_timeout == 60 and conf.workers is None
    assert conf.wsgi.task_pool_threads == 16
    assert conf.wsgi.python_interpreter == sys.executable
    names = {o.name for _g, opts in server_opts.list_opts() for o in opts}
    assert {"bind_host", "bind_port", "cert_file", "workers",
            "graceful_shutdown_timeout", "task_pool_threads"} <= names


@pytest.mark.parametrize("cpus,expected", [(1, 1), (4, 4), (32, 8)])
def test_default_workers_are_cpus_capped(cpus, expected):
    with mock.patch("os.sched_getaffinity", return_value=set(range(cpus))):
        assert server_opts.get_num_workers() == expected


def test_configured_workers(conf):
    conf(workers=0)
    assert server_opts.get_num_workers() == 0
    conf(workers=17)
    assert server_opts.get_num_workers() == 17


def test_format_addr():
    assert socket_mod.format_addr(("127.0.0.1", 80)) == "127.0.0.1:80"
    assert socket_mod.format_addr(("::1", 80, 0, 0)) == "[::1]:80"


def _touch(path):
    path.write_text("x")
    return str(path)


def test_ssl_configuration_checks(conf, tmp_path):
    assert socket_mod.is_ssl_enabled() is False
    cert, key = _touch(tmp_path / "c"), _touch(tmp_path / "k")
    conf(cert_file=cert)
    with pytest.raises(RuntimeError, match="both cert_file and key_file"):
        socket_mod.is_ssl_enabled()
    conf(key_file=str(tmp_path / "missing"))
    with pytest.raises(RuntimeError, match="key_file"):
        socket_mod.is_ssl_enabled()
    conf(key_file=key)
    assert socket_mod.is_ssl_enabled() is True
    conf(cert_file=None, key_file=None, ca_file=cert)
    with pytest.raises(RuntimeError):
        socket_mod.is_ssl_enabled()


def test_unusable_certificate_is_a_clear_error(conf, tmp_path):
    conf(cert_file=_touch(tmp_path / "c"), key_file=_touch(tmp_path / "k"))
    with pytest.raises(RuntimeError, match="TLS certificate or key"):
        socket_mod.make_ssl_context()


def test_ssl_context_with_client_certificates(conf, tmp_path):
    from tests.functional.server import make_self_signed_cert
    cert, key = make_self_signed_cert(tmp_path)
    conf(cert_file=cert, key_file=key)
    ctx = socket_mod.make_ssl_context()
    assert ctx.verify_mode == socket_mod.green_ssl.CERT_NONE
    conf(ca_file=cert)
    ctx = socket_mod.make_ssl_context()
    assert ctx.verify_mode == socket_mod.green_ssl.CERT_REQUIRED
    raw = mock.Mock()
    ctx = mock.Mock()
    assert socket_mod.ssl_wrap_socket(raw, ctx) is ctx.wrap_socket.return_value
    ctx.wrap_socket.assert_called_once_with(raw, server_side=True)


# --- get_socket (socket objects replaced) -----------------------------------

def _addrinfo(family, addr):
    return [(family, socket.SOCK_STREAM, 6, "", addr)]


def test_get_socket_ipv6_options(conf):
    conf(bind_host="::1", bind_port=9999, backlog=7, tcp_keepidle=33)
    sock = mock.Mock()
    with mock.patch.object(socket_mod.green_socket, "socket",
                           return_value=sock) as make, \
            mock.patch("socket.getaddrinfo", return_value=_addrinfo(
                socket.AF_INET6, ("::1", 9999, 0, 0))) as resolve:
        assert socket_mod.get_socket(9292) is sock
    resolve.assert_called_once_with("::1", 9999, socket.AF_UNSPEC,
                                    socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    make.assert_called_once_with(socket.AF_INET6, socket.SOCK_STREAM)
    sock.bind.assert_called_once_with(("::1", 9999, 0, 0))
    sock.listen.assert_called_once_with(7)
    opts = [c.args for c in sock.setsockopt.call_args_list]
    assert (socket.SOL_SOCKET, socket.SO_REUSEADDR, 1) in opts
    assert (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1) in opts
    assert (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 33) in opts
    assert not [o for o in opts if getattr(socket, "SO_REUSEPORT", -1)
                == o[1] and o[0] == socket.SOL_SOCKET]


def test_connections_are_not_delayed_by_nagle(conf):
    """A head and a body written apart must not wait for the client's
    delayed ACK: accepted connections have TCP_NODELAY (inherited from
    the listening socket)."""
    conf(bind_host="127.0.0.1", bind_port=0)
    listener = socket_mod.get_socket(9292)
    try:
        client = socket.create_connection(listener.getsockname()[:2])
        conn, _addr = listener.accept()
        with client, conn:
            assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        listener.close()


def test_get_socket_retries_while_in_use_then_fails(conf):
    sock = mock.Mock()
    sock.bind.side_effect = OSError(errno.EADDRINUSE, "in use")
    with mock.patch.object(socket_mod.green_socket, "socket",
                           return_value=sock), \
            mock.patch("socket.getaddrinfo", return_value=_addrinfo(
                socket.AF_INET, ("0.0.0.0", 9292))), \
            mock.patch.object(socket_mod, "_BIND_RETRY_SECONDS", 0.25), \
            mock.patch.object(socket_mod._time, "sleep") as sleep:
        with pytest.raises(RuntimeError, match="Could not bind to"):
            socket_mod.get_socket(9292)
    assert sleep.called and sock.close.called


def test_get_socket_other_errors_fail_at_once():
    sock = mock.Mock()
    sock.bind.side_effect = OSError(errno.EACCES, "denied")
    with mock.patch.object(socket_mod.green_socket, "socket",
                           return_value=sock), \
            mock.patch("socket.getaddrinfo", return_value=_addrinfo(
                socket.AF_INET, ("0.0.0.0", 80))):
        with pytest.raises(RuntimeError, match="denied"):
            socket_mod.get_socket(80)
    assert sock.bind.call_count == 1


def test_get_socket_unresolvable_host(conf):
    conf(bind_host="no.such.host.invalid")
    with mock.patch("socket.getaddrinfo",
                    side_effect=socket.gaierror("nope")):
        with pytest.raises(RuntimeError, match="Cannot resolve"):
            socket_mod.get_socket(9292)


# --- process-wide helpers ----------------------------------------------------

def test_async_pools_are_tracked_and_waited():
    pool = worker_mod.get_asynchronous_eventlet_pool(size=3)
    assert pool.size == 3 and pool in worker_mod._ASYNC_POOLS
    with mock.patch.object(pool, "waitall") as waitall:
        worker_mod.wait_for_asynchronous_pools()
    waitall.assert_called_once_with()


def test_set_eventlet_hub_prefers_poll():
    with mock.patch("eventlet.hubs.use_hub") as use_hub, \
            mock.patch.object(eventlet_setup, "_HUB", None):
        eventlet_setup.set_eventlet_hub()
        assert eventlet_setup._HUB == "poll"
    use_hub.assert_called_once_with("poll")


def test_set_eventlet_hub_falls_back_then_fails():
    with mock.patch("eventlet.hubs.use_hub",
                    side_effect=[ImportError, None]) as use_hub, \
            mock.patch.object(eventlet_setup, "_HUB", None):
        eventlet_setup.set_eventlet_hub()
        assert eventlet_setup._HUB == "selects"
    assert [c.args for c in use_hub.call_args_list] == [("poll",),
                                                        ("selects",)]
    with mock.patch("eventlet.hubs.use_hub", side_effect=ImportError), \
            pytest.raises(RuntimeError):
        eventlet_setup.set_eventlet_hub()


def test_single_store(state):
    gs = store_setup.glance_store
    with mock.patch.object(gs, "register_opts",
                           wraps=gs.register_opts) as register, \
            mock.patch.object(gs, "create_stores") as create, \
            mock.patch.object(gs, "verify_default_store") as verify, \
            mock.patch.object(gs, "create_multi_stores") as multi, \
            mock.patch.object(server.CONF, "set_default") as set_default:
        store_setup.initialize_stores()
    register.assert_called_once_with(server.CONF)
    create.assert_called_once_with(server.CONF)
    verify.assert_called_once_with()
    assert not multi.called
    set_default.assert_called_once_with(
        "filesystem_store_datadir", str(state / "images"),
        group="glance_store")


def test_multi_store(state, conf):
    conf(enabled_backends={"fast": "file", "cheap": "http", "kept": "file"})
    gs = store_setup.glance_store
    reserved = {"os_glance_staging_store": "file",
                "os_glance_tasks_store": "file"}
    with mock.patch.object(gs, "register_store_opts",
                           wraps=gs.register_store_opts) as register, \
            mock.patch.object(gs, "create_multi_stores") as create, \
            mock.patch.object(gs, "verify_store") as verify, \
            mock.patch.object(gs, "create_stores") as single:
        gs.register_store_opts(server.CONF, reserved_stores=reserved)
        conf(filesystem_store_datadir="/srv/kept", group="kept")
        store_setup.initialize_stores()
    register.assert_called_with(server.CONF, reserved_stores=reserved)
    create.assert_called_once_with(server.CONF, reserved_stores=reserved)
    verify.assert_called_once_with()
    assert not single.called
    datadir = {group: server.CONF[group].filesystem_store_datadir
               for group in ("os_glance_staging_store",
                             "os_glance_tasks_store", "fast", "kept")}
    assert datadir == {
        "os_glance_staging_store": str(state / "staging"),
        "os_glance_tasks_store": str(state / "tasks"),
        "fast": str(state / "images" / "fast"),
        "kept": "/srv/kept",  # configured: left alone
    }
    for group in ("os_glance_staging_store", "os_glance_tasks_store",
                  "fast"):
        server.CONF.clear_override("filesystem_store_datadir", group=group)


def test_multi_store_refuses_reserved_names(conf):
    conf(enabled_backends={"os_glance_tasks_store": "file"})
    with mock.patch.object(store_setup, "glance_store"), \
            pytest.raises(RuntimeError, match="reserved"):
        store_setup.initialize_stores()


def test_app_loader_runs_checks_then_loads():
    calls = []
    loader = worker_mod.AppLoader("glance-api", flavor="x",
                              checks=[lambda: calls.append("check")])
    with mock.patch.object(config, "load_paste_app",
                           side_effect=lambda *a: calls.append(a)):
        loader.load()
    assert calls == ["check", ("glance-api", "x", None)]


def test_signal_queue_records_and_wakes():
    queue = pipes.SignalQueue()
    try:
        queue.record(signal.SIGHUP)
        queue.record(signal.SIGTERM)
        queue.wait(5)   # returns at once: there is something pending
        assert list(queue.pop_all()) == [signal.SIGHUP, signal.SIGTERM]
        assert list(queue.pop_all()) == []
    finally:
        queue.close()


def test_set_signal_handler_by_name_or_number():
    handler = mock.Mock()
    with mock.patch("signal.signal") as install:
        server.BaseServer.set_signal_handler(
            ["SIGHUP", signal.SIGTERM, "SIGNOSUCH"], handler)
        server.BaseServer.set_signal_handler("SIGINT", handler)
    assert [c.args for c in install.call_args_list] == [
        (signal.SIGHUP, handler), (signal.SIGTERM, handler),
        (signal.SIGINT, handler)]


# --- the drain-safe protocol ------------------------------------------------

def _protocol(cls, waiting_since=None, has_input=False):
    proto = object.__new__(cls)
    proto.conn_state = [("127.0.0.1", 1), mock.Mock(), "idle"]
    proto.waiting_since = waiting_since
    proto.has_input = lambda: has_input
    cls.connections.add(proto)
    return proto


def test_draining_closes_only_connections_silent_for_the_grace():
    cls = connections.make_protocol()
    now = connections.time.monotonic()
    old_idle = _protocol(cls, waiting_since=now - 100)
    _protocol(cls, waiting_since=now - 1)            # idle, not for long
    _protocol(cls, waiting_since=None)               # in a request
    _protocol(cls, waiting_since=now - 100, has_input=True)  # sending
    with mock.patch("eventlet.greenio.shutdown_safe") as shutdown:
        assert cls.close_idle(5) == 0                # not draining
        cls.start_draining()
        assert cls.close_idle(5) == 0                # the grace starts now
        cls.drain_started -= 10
        assert cls.close_idle(5) == 1
    shutdown.assert_called_once_with(old_idle.conn_state[1])


def test_answers_while_draining_end_the_connection():
    cls = connections.make_protocol()
    proto = object.__new__(cls)
    proto.close_connection = 0
    proto.response_starting()
    assert proto.close_connection == 0
    cls.start_draining()
    proto.response_starting()
    assert proto.close_connection == 1


def test_a_keepalive_answer_is_followed_by_the_next_request():
    """A response that promised keep-alive is never followed by a close
    from the server, draining or not: the next request is read."""
    cls = connections.make_protocol()
    proto = object.__new__(cls)
    proto.tls_failed = False
    proto.conn_state = [("127.0.0.1", 1), mock.Mock(), "idle"]
    answers = iter([0, 1])   # keep-alive, then close

    def one_request():
        cls.start_draining()   # the drain starts during the first
        proto.close_connection = next(answers)

    with mock.patch.object(proto, "handle_one_request",
                           side_effect=one_request) as handled:
        proto.handle()
    assert handled.call_count == 2


def test_the_meter_tells_the_protocol_the_answer_starts():
    started = mock.Mock()
    meter = connections.ResponseMeter(started)
    meter.started("200 OK")
    started.assert_called_once_with()


def test_protocol_classes_do_not_share_state():
    one, two = connections.make_protocol(), connections.make_protocol("ctx")
    assert one.connections is not two.connections
    assert two.ssl_context == "ctx"
    one.start_draining()
    assert two.draining is False and two.drain_started is None
    assert connections.HttpProtocol.draining is False


# --- the scoreboard and the claim records ----------------------------------

def test_scoreboard_slots():
    board = scoreboard.Scoreboard(slots=2)
    try:
        one, two = board.allocate(), board.allocate()
        assert board.allocate() is None
        one.claim(100)
        two.claim(101)
        assert one.silent_for() is None          # no beat yet
        one.beat()
        assert 0 <= one.silent_for() < 1
        one.set_state(scoreboard.SERVING)
        one.set_connections(3)
        one.count_request()
        assert (one.state, one.connections, one.requests) == (
            scoreboard.SERVING, 3, 1)
        assert board.serving_loads() == [3]    # the only serving one
        two.set_state(scoreboard.SERVING)
        assert board.serving_loads() == [3, 0]
        board.free(two)
        again = board.allocate()
        assert again.index == two.index and again.connections == 0
        assert again.silent_for() is None
    finally:
        board.close()


def test_claims_are_recorded_per_process(tmp_path):
    registry = claims.ClaimRegistry(str(tmp_path / "claims"))
    assert claims.hold("upload", "x").path is None   # none active
    try:
        claims.activate(registry)
        upload = claims.hold("upload", "img", "saving")
        with claims.hold("import", "img", "task"):
            assert registry.claims_of(os.getpid()) == [
                ("import", ["img", "task"]), ("upload", ["img", "saving"])]
        upload.end()
        upload.end()
        assert registry.claims_of(os.getpid()) == []
        claims.hold("stage", "img2", "uploading")
        registry.forget(os.getpid())
        assert registry.claims_of(os.getpid()) == []
        with pytest.raises(ValueError):
            registry.record("a/b")
    finally:
        claims.activate(None)


# --- BaseServer ------------------------------------------------------------

@pytest.fixture
def sockets():
    made = []

    def new_socket(default_port):
        sock = mock.Mock(name="socket%d" % len(made))
        sock.getsockname.return_value = ("127.0.0.1", 1000 + len(made))
        made.append(sock)
        return sock

    with mock.patch.object(server, "get_socket", side_effect=new_socket), \
            mock.patch.object(server, "tune_socket") as tune:
        yield made, tune


def test_socket_is_made_once_and_kept_on_reload(sockets):
    made, tune = sockets
    srv = server.BaseServer()
    srv.configure()
    old = srv.conf_snapshot()
    srv.configure(old, lambda name: False)
    assert len(made) == 1 and srv.sock is made[0]
    tune.assert_called_once_with(made[0])


def test_socket_is_rebound_when_the_address_changes(sockets):
    made, _tune = sockets
    srv = server.BaseServer()
    srv.configure()
    srv.configure({}, lambda name: name == "bind_port")
    assert len(made) == 2 and srv.sock is made[1]
    made[0].close.assert_called_once_with()


def test_single_process_server_keeps_its_socket(sockets):
    made, _tune = sockets
    srv = server.BaseServer()
    srv.configure()
    srv.rebind_allowed = False
    srv.configure({}, lambda name: True)
    assert len(made) == 1 and not made[0].close.called


def test_configure_applies_limits(sockets, conf):
    conf(max_header_line=1234, client_socket_timeout=0)
    stores = mock.Mock()
    srv = server.BaseServer(initialize_glance_store=stores)
    with mock.patch.object(eventlet.wsgi, "MAX_HEADER_LINE", 8192), \
            mock.patch.object(eventlet.wsgi, "format_date_time", None):
        srv.configure()
        assert eventlet.wsgi.MAX_HEADER_LINE == 1234
        assert eventlet.wsgi.format_date_time is connections.http_date
    stores.assert_called_once_with()
    assert srv.client_socket_timeout is None and srv.ssl_context is None
    conf(client_socket_timeout=30)
    srv.configure()
    assert srv.client_socket_timeout == 30


def test_server_options(conf):
    conf(http_keepalive=False)
    srv = server.BaseServer(threads=7)
    srv.client_socket_timeout = 12
    worker = srv.make_worker()
    opts = worker.server_options()
    assert opts["debug"] is False and opts["keepalive"] is False
    assert opts["socket_timeout"] == 12 and worker.threads == 7
    assert opts["protocol"] is worker.protocol and "environ" not in opts
    worker.protocol.ssl_context = mock.Mock()
    assert worker.server_options()["environ"]["wsgi.url_scheme"] == "https"


def test_reload_keeps_everything_when_files_are_unreadable():
    srv = server.BaseServer()
    with mock.patch.object(server.CONF, "reload_config_files",
                           return_value=False), \
            mock.patch.object(srv, "configure") as configure:
        assert srv.reload() is False
    assert not configure.called


def test_reload_reconfigures_with_what_changed(conf):
    srv = server.BaseServer()

    def reread():
        conf(bind_port=1234)
        return True

    with mock.patch.object(server.CONF, "reload_config_files",
                           side_effect=reread), \
            mock.patch.object(server, "_setup_logging"), \
            mock.patch.object(srv, "configure") as configure:
        assert srv.reload() is True
    old_conf, has_changed = configure.call_args.args
    assert old_conf["bind_port"] is None
    assert has_changed("bind_port") and not has_changed("bind_host")


def test_reload_survives_a_configuration_that_cannot_apply():
    srv = server.BaseServer()
    with mock.patch.object(server.CONF, "reload_config_files",
                           return_value=True), \
            mock.patch.object(server, "_setup_logging"), \
            mock.patch.object(srv, "configure",
                              side_effect=RuntimeError("bad cert")):
        assert srv.reload() is False


def test_hup_records_a_reload():
    srv = server.BaseServer()
    srv._signals = mock.Mock()
    srv.hup(signal.SIGHUP, None)
    srv._signals.record.assert_called_once_with(signal.SIGHUP)


def test_boot_loads_the_app_and_the_prefetcher():
    app = object()
    srv = server.BaseServer(initialize_prefetcher=True)
    srv.application = app
    with mock.patch.object(srv, "cache_images") as cache_images:
        srv.boot()
    assert srv.app is app and cache_images.called
    loader = mock.Mock(spec=worker_mod.AppLoader)
    srv.application = loader
    srv.boot()
    assert srv.app is loader.load.return_value
    assert server.BaseServer().cache_images() is None


def test_the_prefetcher_is_what_the_entry_point_passes():
    # the server imports no service: glance-api hands it the starter
    start = mock.Mock()
    server.BaseServer(initialize_prefetcher=start).boot()
    start.assert_called_once_with()


def _worker(slot=None):
    return worker_mod.Worker(mock.Mock(), None, slot=slot)


def test_stop_accepting_starts_a_bounded_drain(conf):
    conf(graceful_shutdown_timeout=7)
    worker = _worker()
    worker._acceptor = mock.Mock()
    with mock.patch("eventlet.spawn_after") as later, \
            mock.patch("eventlet.spawn_n") as spawn:
        worker.stop_accepting()
        worker.stop_accepting()   # once only
    assert worker.draining and worker.protocol.draining
    worker._acceptor.kill.assert_called_once_with()
    assert [c.args[0] for c in later.call_args_list] == [7]
    spawn.assert_called_once_with(worker._close_idle_connections)


def _watch(worker, *batches, on_hup=None):
    worker._signals = mock.Mock()
    worker._signals.green_wait.side_effect = [None] * len(batches) + [_Stop]
    worker._signals.pop_all.side_effect = [list(b) for b in batches]

    def drain():
        worker.draining = True

    with mock.patch.object(worker, "stop_accepting",
                           side_effect=drain) as stop, \
            mock.patch.object(worker_mod, "exit_now") as exit_now, \
            pytest.raises(_Stop):
        worker.watch_signals(on_hup)
    return stop, exit_now


def test_worker_drains_once_whatever_the_signals():
    stop, exit_now = _watch(_worker(), [signal.SIGINT], [signal.SIGTERM],
                            [signal.SIGHUP])
    stop.assert_called_once_with()
    assert not exit_now.called


def test_single_process_reloads_on_hup_and_exits_on_a_second_term():
    on_hup = mock.Mock()
    stop, exit_now = _watch(_worker(), [signal.SIGHUP], [signal.SIGTERM],
                            [signal.SIGHUP, signal.SIGINT], on_hup=on_hup)
    assert on_hup.call_count == 2
    stop.assert_called_once_with()
    exit_now.assert_called_once_with(1)


def test_stop_accepting_without_timeout_waits_forever(conf):
    conf(graceful_shutdown_timeout=0)
    worker = _worker()
    with mock.patch("eventlet.spawn_after") as later, \
            mock.patch("eventlet.spawn_n"):
        worker.stop_accepting()
    assert not later.called


def test_a_worker_leaves_connections_to_a_less_loaded_sibling():
    board = scoreboard.Scoreboard(slots=2)
    try:
        mine, other = board.allocate(), board.allocate()
        for pid, slot in enumerate((mine, other), 100):
            slot.claim(pid)
            slot.set_state(scoreboard.SERVING)
        worker = _worker(mine)
        worker._opened(3)
        other.set_connections(1)
        with mock.patch("eventlet.sleep") as sleep:
            worker.wait_for_turn()    # waits, bounded
        assert sleep.call_count == worker_mod._TURN_STEPS
        other.set_connections(3)
        with mock.patch("eventlet.sleep") as sleep:
            worker.wait_for_turn()
        assert not sleep.called
        other.set_state(scoreboard.DRAINING)   # a draining one is no help
        other.set_connections(0)
        with mock.patch("eventlet.sleep") as sleep:
            worker.wait_for_turn()
        assert not sleep.called
    finally:
        board.close()


def _two_serving(board):
    mine, other = board.allocate(), board.allocate()
    for pid, slot in enumerate((mine, other), 100):
        slot.claim(pid)
        slot.set_state(scoreboard.SERVING)
    return mine, other


def test_a_worker_over_its_share_ends_keepalive_connections(monkeypatch):
    monkeypatch.setattr(worker_mod, "_BALANCE_INTERVAL", 0)  # every time
    board = scoreboard.Scoreboard(slots=2)
    try:
        mine, other = _two_serving(board)
        worker = _worker(mine)
        assert worker.protocol.balancer is worker
        worker._opened(16)
        # 16 against 0: its share is 8, so 8 end (counted as ending)
        assert [worker.over_share(ending) for ending in range(10)] == \
            [True] * 8 + [False] * 2
        worker._opened(-7)
        other.set_connections(7)
        assert worker.over_share(0)          # 9 against 7: one
        assert not worker.over_share(1)
        worker._opened(-1)
        other.set_connections(8)
        assert not worker.over_share(0)      # 8 against 8
        worker._opened(1)
        assert not worker.over_share(0)      # 9 against 8: one is no reason
        other.set_connections(0)
        other.set_state(scoreboard.DRAINING)  # no serving sibling
        assert not worker.over_share(0)
        other.set_state(scoreboard.SERVING)
        worker.draining = True
        assert not worker.over_share(0)
    finally:
        board.close()
    alone = _worker()
    alone._opened(5)
    assert alone.protocol.balancer is None and not alone.over_share(0)


def test_the_balance_is_checked_at_most_so_often():
    board = scoreboard.Scoreboard(slots=2)
    try:
        mine, other = _two_serving(board)
        worker = _worker(mine)
        worker._opened(8)
        other.set_connections(8)
        assert not worker.over_share(0)
        other.set_connections(0)         # not looked at yet
        assert not worker.over_share(0)
        worker._next_balance -= worker_mod._BALANCE_INTERVAL + 1
        assert worker.over_share(0)      # looked at: 8 against 0, 4 end
        assert [worker.over_share(n) for n in (1, 2, 3)] == [True] * 3
        assert not worker.over_share(4)
    finally:
        board.close()


def test_the_protocol_ends_the_connections_its_worker_sheds():
    cls = connections.make_protocol()
    cls.balancer = mock.Mock()
    cls.balancer.over_share.side_effect = lambda ending: ending < 2
    protos = [object.__new__(cls) for _ in range(4)]
    for proto in protos:
        proto.close_connection = 0
        proto.tls_failed = True     # finish() without a socket
    protos[3].close_connection = 1  # ending anyway: not asked, not counted
    for proto in protos:
        proto.response_starting()
    assert [p.close_connection for p in protos] == [1, 1, 0, 1]
    assert [p.shed for p in protos] == [True, True, False, False]
    assert cls.shedding == 2
    assert [c.args for c in cls.balancer.over_share.call_args_list] == [
        (0,), (1,), (2,)]
    protos[0].finish()
    protos[3].finish()
    assert cls.shedding == 1
    assert connections.HttpProtocol.shedding == 0   # per server


def _listener_with_waiting(count):
    """A listening socket with ``count`` connections in its accept queue
    (and the clients, to be closed)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    clients = [socket.create_connection(listener.getsockname())
               for _ in range(count)]
    deadline = time.monotonic() + 5
    while socket_mod.accept_queue_length(listener) != count:
        assert time.monotonic() < deadline, "%d not queued" % count
        time.sleep(0.01)
    return listener, clients


def test_the_accept_queue_length_of_a_listening_socket():
    listener, clients = _listener_with_waiting(3)
    try:
        listener.accept()[0].close()
        assert socket_mod.accept_queue_length(listener) == 2
        assert socket_mod.accept_queue_length(mock.Mock()) == 0
    finally:
        for sock in clients + [listener]:
            sock.close()


def test_a_burst_of_new_clients_is_accepted_without_waiting():
    # more than one waiting: up to its share of the open and waiting
    # connections, without waiting for the siblings' turn; one: theirs
    board = scoreboard.Scoreboard(slots=2)
    listener, clients = _listener_with_waiting(2)
    try:
        mine, other = board.allocate(), board.allocate()
        for pid, slot in enumerate((mine, other), 100):
            slot.claim(pid)
            slot.set_state(scoreboard.SERVING)
        worker = worker_mod.Worker(listener, mock.Mock(), slot=mine)
        worker._opened(3)
        other.set_connections(1)   # share of 3 + 1 + 2 waiting: 3
        with mock.patch("eventlet.sleep") as sleep:
            worker.wait_for_turn()
        assert sleep.call_count == worker_mod._TURN_STEPS
        worker._opened(-1)         # 2 open: below its share, it takes one
        with mock.patch("eventlet.sleep") as sleep:
            worker.wait_for_turn()
        assert not sleep.called
        listener.accept()[0].close()   # one left: the sibling's
        with mock.patch("eventlet.sleep") as sleep:
            worker.wait_for_turn()
        assert sleep.call_count == worker_mod._TURN_STEPS
    finally:
        for sock in clients + [listener]:
            sock.close()
        board.close()


def test_a_draining_worker_waits_for_its_claims(tmp_path):
    registry = claims.ClaimRegistry(str(tmp_path))
    try:
        claims.activate(registry)
        claim = claims.hold("import", "img", "task")
        with mock.patch("eventlet.sleep", side_effect=lambda s:
                        claim.end()) as sleep:
            _worker()._wait_for_claims()
        sleep.assert_called_once_with(worker_mod._CLAIMS_INTERVAL)
    finally:
        claims.activate(None)


# --- PosixServer: the supervisor's decisions --------------------------------

@pytest.fixture
def posix(conf):
    conf(graceful_shutdown_timeout=10)
    srv = arbiter.PosixServer()
    srv.workers = 2
    srv.generation = 1
    srv.sock = mock.Mock()
    pids = iter(range(100, 200))

    def spawn():
        pid = next(pids)
        srv.children[pid] = arbiter.WorkerRecord(pid, srv.generation)
        return pid

    with mock.patch.object(srv, "spawn_worker", side_effect=spawn), \
            mock.patch("os.kill") as kill:
        srv.kill = kill
        yield srv


def test_manage_workers_fills_the_generation(posix):
    posix.manage_workers()
    assert sorted(posix.children) == [100, 101]
    posix.manage_workers()
    assert len(posix.children) == 2


def test_a_dead_worker_is_replaced(posix):
    posix.manage_workers()
    worker = posix.children.pop(100)
    worker.started -= 60
    posix.worker_exited(worker, -signal.SIGKILL)
    assert not posix.stopping
    posix.manage_workers()
    assert sorted(posix.children) == [101, 102]


def test_a_worker_dying_young_slows_respawns(posix):
    posix.manage_workers()
    posix.worker_exited(posix.children.pop(100), 1)
    posix.manage_workers()
    assert sorted(posix.children) == [101]
    posix._respawn_after = 0
    posix.manage_workers()
    assert sorted(posix.children) == [101, 102]


def test_boot_error_halts_instead_of_respawning(posix):
    posix.manage_workers()
    posix.worker_exited(posix.children.pop(100), server.WORKER_BOOT_ERROR)
    assert posix.stopping and posix.exit_status == server.WORKER_BOOT_ERROR
    assert posix.sock is None
    posix.kill.assert_called_once_with(101, signal.SIGTERM)
    posix.manage_workers()
    assert sorted(posix.children) == [101]


def test_boot_error_reason_comes_from_the_worker(posix):
    posix._boot_errors = pipes.BootErrors()
    try:
        posix.manage_workers()
        with mock.patch("os.getpid", return_value=100):
            posix._boot_errors.report("no paste file")
        with mock.patch("os.getpid", return_value=101):
            posix._boot_errors.report("line one")
        with mock.patch.object(arbiter.LOG, "error") as error:
            posix.worker_exited(posix.children.pop(100),
                                server.WORKER_BOOT_ERROR)
        assert posix.boot_error == "no paste file"
        assert error.call_args.args[1]["reason"] == "no paste file"
        posix.worker_exited(posix.children.pop(101),
                            server.WORKER_BOOT_ERROR)
        assert posix.boot_error == "no paste file"   # the first one
        assert posix._boot_errors.reasons == {}
    finally:
        posix._boot_errors.close()


def test_boot_error_without_a_reason(posix):
    posix._boot_errors = pipes.BootErrors()
    posix.manage_workers()
    posix.worker_exited(posix.children.pop(100), server.WORKER_BOOT_ERROR)
    assert "log" in posix.boot_error
    posix._boot_errors.close()


def test_describe_error_is_one_line():
    assert worker_mod.describe_error(RuntimeError("a\n\tb\n")) == "a"
    assert worker_mod.describe_error(RuntimeError("\n  x  ")) == "x"
    assert worker_mod.describe_error(KeyError()) == "KeyError"
    assert worker_mod.describe_error(SystemExit(2)) == "2"


def test_long_boot_errors_are_cut_to_one_write():
    errors = pipes.BootErrors()
    try:
        errors.report("x" * 5000)
        reason = errors.reason(os.getpid())
        assert reason.startswith("xxx") and len(reason) < 1000
    finally:
        errors.close()


def test_term_drains_then_second_term_kills(posix):
    posix.manage_workers()
    posix.handle_term(signal.SIGTERM)
    assert posix.stopping and posix.exit_status == 0
    assert sorted(c.args for c in posix.kill.call_args_list) == [
        (100, signal.SIGTERM), (101, signal.SIGTERM)]
    assert all(w.retiring and w.deadline for w in posix.children.values())
    posix.kill.reset_mock()
    posix.handle_term(signal.SIGINT)
    assert sorted(c.args for c in posix.kill.call_args_list) == [
        (100, signal.SIGKILL), (101, signal.SIGKILL)]


def test_overdue_workers_are_killed(posix):
    posix.manage_workers()
    posix.stop_workers([posix.children[100]])
    posix.kill.reset_mock()
    posix.kill_overdue()
    assert not posix.kill.called
    posix.children[100].deadline -= 100
    posix.kill_overdue()
    posix.kill_overdue()
    posix.kill.assert_called_once_with(100, signal.SIGKILL)


def test_retired_workers_are_not_replaced(posix):
    posix.manage_workers()
    posix.stop_workers([posix.children[100]])
    posix.worker_exited(posix.children.pop(100), 0)
    posix.generation += 1
    posix.workers = 1
    posix.manage_workers()
    assert sorted(posix.children) == [101, 102]


def test_reload_starts_a_new_generation_and_retires_the_old(posix):
    posix.manage_workers()
    with mock.patch.object(server.BaseServer, "reload", return_value=True):
        assert posix.reload() is True
    assert posix.generation == 2
    assert sorted(posix.children) == [100, 101, 102, 103]
    assert [w.retiring for _p, w in sorted(posix.children.items())] == [
        True, True, False, False]
    assert sorted(c.args for c in posix.kill.call_args_list) == [
        (100, signal.SIGTERM), (101, signal.SIGTERM)]


def test_reload_retires_the_old_once_the_new_serve(posix):
    posix.board = scoreboard.Scoreboard(slots=8)
    spawn = posix.spawn_worker.side_effect

    def spawn_with_a_slot():
        pid = spawn()
        posix.children[pid].slot = posix.board.allocate()   # booting
        return pid

    posix.spawn_worker.side_effect = spawn_with_a_slot
    try:
        posix.manage_workers()
        for worker in posix.children.values():
            worker.slot.set_state(scoreboard.SERVING)
        with mock.patch.object(server.BaseServer, "reload",
                               return_value=True):
            posix.reload()
        new = [w for w in posix.children.values() if w.generation == 2]
        posix.retire_replaced()
        assert not posix.kill.called                 # the old ones serve on
        new[0].slot.set_state(scoreboard.SERVING)
        posix.retire_replaced()
        assert not posix.kill.called
        new[1].slot.set_state(scoreboard.SERVING)
        posix.retire_replaced()
        assert sorted(c.args for c in posix.kill.call_args_list) == [
            (100, signal.SIGTERM), (101, signal.SIGTERM)]
        # a new generation that never serves: the old one drains anyway
        posix.kill.reset_mock()
        with mock.patch.object(server.BaseServer, "reload",
                               return_value=True):
            posix.reload()
        posix.retire_replaced()
        assert not posix.kill.called
        posix._replaced_deadline -= arbiter._READY_TIMEOUT + 1
        posix.retire_replaced()
        assert sorted(c.args for c in posix.kill.call_args_list) == [
            (102, signal.SIGTERM), (103, signal.SIGTERM)]
    finally:
        posix.board.close()
        posix.board = None


def test_failed_reload_changes_nothing(posix):
    posix.manage_workers()
    with mock.patch.object(server.BaseServer, "reload", return_value=False):
        assert posix.reload() is False
    assert posix.generation == 1 and not posix.kill.called


def test_reload_to_zero_workers_keeps_the_workers(posix, conf):
    posix.manage_workers()
    conf(workers=0)
    with mock.patch.object(server.BaseServer, "reload", return_value=True):
        posix.reload()
    assert posix.workers == 2
    assert len([w for w in posix.children.values() if not w.retiring]) == 2


def test_hup_while_stopping_is_ignored(posix):
    posix.stopping = True
    with mock.patch.object(posix, "reload") as reload:
        posix.handle_hup()
    assert not reload.called


def test_handle_chld_reaps_every_exited_worker(posix):
    posix.manage_workers()
    statuses = [(100, 9), (555, 0), (0, 0)]   # 555 is not ours
    with mock.patch.object(arbiter._os, "waitpid", side_effect=statuses), \
            mock.patch.object(posix, "worker_exited") as exited:
        posix.handle_chld()
    exited.assert_called_once_with(mock.ANY, -9)
    assert list(posix.children) == [101]
    with mock.patch.object(arbiter._os, "waitpid",
                           side_effect=ChildProcessError):
        posix.handle_chld()


def test_watchdog_kills_a_silent_worker_once(posix, conf):
    conf(worker_timeout=5)
    posix.board = scoreboard.Scoreboard(slots=4)
    try:
        posix.manage_workers()
        for pid, worker in posix.children.items():
            worker.slot = posix.board.allocate()
            worker.slot.claim(pid)
        posix.kill_silent()                   # booting: no beat yet
        assert not posix.kill.called
        for worker in posix.children.values():
            worker.slot.beat()
        posix.kill_silent()
        assert not posix.kill.called
        stuck = posix.children[100]
        stuck.slot._put(scoreboard._BEAT, stuck.slot._get(
            scoreboard._BEAT) - 6 * 10**9)
        posix.kill_silent()
        posix.kill_silent()
        posix.kill.assert_called_once_with(100, signal.SIGKILL)
        assert stuck.timed_out
        stuck.started = time.monotonic()   # young, yet replaced
        posix.worker_exited(posix.children.pop(100), -signal.SIGKILL)
        assert posix._respawn_after == 0.0
        posix.manage_workers()
        assert sorted(posix.children) == [101, 102]
        conf(worker_timeout=0)
        posix.children[101].slot._put(scoreboard._BEAT, 1)
        posix.kill.reset_mock()
        posix.kill_silent()
        assert not posix.kill.called
    finally:
        posix.board.close()
        posix.board = None


def test_a_dead_workers_claims_are_released_by_a_janitor(posix, tmp_path):
    posix.claims = claims.ClaimRegistry(str(tmp_path))
    posix.release_claims = mock.Mock()
    posix.manage_workers()
    forks = []

    def fork(child):
        forks.append(child)
        return 900 + len(forks)

    with mock.patch.object(posix, "_fork", side_effect=fork):
        posix.worker_exited(posix.children.pop(100), -signal.SIGKILL)
        assert forks == [] and posix.janitors == {}    # it held nothing
        (tmp_path / "101").mkdir()
        (tmp_path / "101" / "upload.img.saving").touch()
        posix.worker_exited(posix.children.pop(101), -signal.SIGKILL)
    assert list(posix.janitors) == [901]
    assert posix.janitors[901][0] == 101
    # the janitor is reaped as a janitor, not as a worker
    with mock.patch.object(arbiter._os, "waitpid",
                           side_effect=[(901, 0), (0, 0)]), \
            mock.patch.object(posix, "worker_exited") as exited:
        posix.handle_chld()
    assert posix.janitors == {} and not exited.called
    # in the janitor
    with mock.patch.object(posix, "_enter_child"), \
            mock.patch("eventlet.hubs.use_hub"), \
            mock.patch.object(arbiter, "exit_now") as exit_now:
        posix._run_janitor(101)
    posix.release_claims.assert_called_once_with(posix.claims, 101)
    exit_now.assert_called_once_with(0)


def test_a_janitor_taking_too_long_is_killed(posix):
    posix.janitors[901] = (100, time.monotonic() - 1)
    posix.kill_overdue()
    posix.kill_overdue()
    posix.kill.assert_called_once_with(901, signal.SIGKILL)
    posix.janitor_exited(901, -signal.SIGKILL)
    assert posix.janitors == {}


def test_the_supervisor_waits_for_its_janitors(posix):
    posix._signals = mock.Mock()
    posix._signals.pop_all.side_effect = [[signal.SIGTERM], [], []]
    posix.janitors[901] = (100, None)

    def reap():
        if posix._signals.pop_all.call_count == 3:
            posix.janitors.clear()

    with mock.patch.object(posix, "handle_chld", side_effect=reap), \
            mock.patch.object(posix, "set_signal_handler"):
        assert posix.run_forever() == 0
    assert posix._signals.pop_all.call_count == 3


def test_signals_are_dispatched_by_the_loop(posix):
    posix._signals = pipes.SignalQueue()
    try:
        for sig in (signal.SIGHUP, signal.SIGCHLD, signal.SIGINT):
            posix._signals.record(sig)
        with mock.patch.object(posix, "handle_hup") as hup, \
                mock.patch.object(posix, "handle_chld") as chld, \
                mock.patch.object(posix, "handle_term") as term:
            posix.dispatch_signals()
        hup.assert_called_once_with()
        assert not chld.called      # SIGCHLD only wakes the loop up
        term.assert_called_once_with(signal.SIGINT)
    finally:
        posix._signals.close()


def test_handle_chld_runs_once_per_sigchld(posix):
    posix.manage_workers()
    posix._signals = mock.Mock()
    # a SIGCHLD wake-up, then SIGTERM, then nothing
    posix._signals.pop_all.side_effect = [[signal.SIGCHLD],
                                          [signal.SIGTERM], []]

    def reap():
        if posix.stopping:
            posix.children.clear()

    with mock.patch.object(posix, "handle_chld", side_effect=reap) as chld, \
            mock.patch.object(posix, "set_signal_handler"):
        assert posix.run_forever() == 0
    # one reap per wake-up: the loop woke up twice
    assert chld.call_count == posix._signals.pop_all.call_count == 2


def test_run_forever_returns_when_stopped_and_reaped(posix):
    posix.manage_workers()
    posix._signals = mock.Mock()
    posix._signals.pop_all.side_effect = [[signal.SIGTERM], [], []]

    def reap():
        if posix.stopping:
            posix.children.clear()

    with mock.patch.object(posix, "handle_chld", side_effect=reap), \
            mock.patch.object(posix, "set_signal_handler"):
        assert posix.run_forever() == 0
    assert posix.sock is None


def test_spawn_worker_records_the_child():
    srv = arbiter.PosixServer()
    srv.generation = 3
    with mock.patch("os.fork", return_value=4242), \
            mock.patch("signal.pthread_sigmask") as mask:
        assert srv.spawn_worker() == 4242
    assert srv.children[4242].generation == 3
    assert mask.call_args_list[0].args[0] == signal.SIG_BLOCK
    assert mask.call_args_list[-1].args[0] == signal.SIG_SETMASK


def test_spawn_worker_survives_a_failed_fork():
    srv = arbiter.PosixServer()
    with mock.patch("os.fork", side_effect=OSError(errno.EAGAIN, "no")):
        assert srv.spawn_worker() is None
    assert srv.children == {} and srv._respawn_after > 0


def test_worker_boot_failure_is_its_exit_status():
    srv = arbiter.PosixServer()
    with mock.patch("eventlet.hubs.use_hub"), \
            mock.patch.object(srv, "boot", side_effect=RuntimeError("x")):
        assert srv.run_child() == server.WORKER_BOOT_ERROR
    srv._boot_errors = pipes.BootErrors()
    try:
        with mock.patch("eventlet.hubs.use_hub"), \
                mock.patch.object(srv, "boot",
                                  side_effect=RuntimeError("no\ndb")), \
                mock.patch.object(arbiter.LOG, "error") as error:
            assert srv.run_child() == server.WORKER_BOOT_ERROR
        assert srv._boot_errors.reason(os.getpid()) == "no"
        assert error.call_args.args[1]["reason"] == "no"
    finally:
        srv._boot_errors.close()
    with mock.patch("eventlet.hubs.use_hub"), \
            mock.patch.object(srv, "boot", side_effect=SystemExit(1)):
        assert srv.run_child() == server.WORKER_BOOT_ERROR


def test_start_with_workers_zero_boots_in_process(sockets, conf):
    conf(workers=0)
    srv = arbiter.PosixServer()
    with mock.patch.object(srv, "start_workers") as start_workers:
        srv.start(lambda env, start: [], default_port=9292)
    assert srv.workers == 0 and srv.app is not None
    assert not start_workers.called


def test_start_forks_the_workers(sockets, conf):
    conf(workers=3)
    srv = arbiter.PosixServer()
    with mock.patch.object(srv, "start_workers") as start_workers:
        srv.start(object(), default_port=9292)
    assert srv.workers == 3 and srv.app is None
    start_workers.assert_called_once_with()


# --- bootstrap and the entry points -----------------------------------------

@pytest.fixture
def quiet_bootstrap():
    with mock.patch.object(bootstrap, "CONF") as conf, \
            mock.patch.object(bootstrap, "logging") as logging, \
            mock.patch.object(logging_setup, "setup") as log_setup, \
            mock.patch.object(config, "parse_args") as parse, \
            mock.patch.object(server_opts, "register_cli_opts") as cli, \
            mock.patch.object(eventlet_setup, "set_eventlet_hub") as hub, \
            mock.patch.object(glance.async_, "set_threadpool_model") as tp:
        yield mock.Mock(conf=conf, logging=logging, log_setup=log_setup,
                        parse=parse, cli=cli, hub=hub, threadpool=tp)


def test_bootstrap_for_the_daemon(quiet_bootstrap):
    b = quiet_bootstrap
    bootstrap.bootstrap(["--config-file", "x"], "glance-api", "eventlet")
    b.parse.assert_called_once_with(args=["--config-file", "x"],
                                    prog="glance-api",
                                    default_config_files=None)
    b.logging.register_options.assert_called_once_with(b.conf)
    b.log_setup.assert_called_once_with(b.conf)
    b.cli.assert_called_once_with()
    b.threadpool.assert_called_once_with("eventlet")
    b.hub.assert_called_once_with()


def test_bootstrap_for_tools(quiet_bootstrap):
    b = quiet_bootstrap
    bootstrap.bootstrap([], "glance-cache-pruner", "native")
    b.threadpool.assert_called_once_with("native")
    assert not b.hub.called and not b.cli.called


def test_bootstrap_refuses_unknown_models(quiet_bootstrap):
    with pytest.raises(ValueError):
        bootstrap.bootstrap([], "x", "threads")


def test_bootstrap_without_a_threadpool_module(quiet_bootstrap):
    with mock.patch.object(bootstrap, "glance") as fake:
        fake.async_ = object()
        bootstrap.bootstrap([], "x", "native")


def test_bootstrap_records_its_steps(quiet_bootstrap):
    bootstrap.bootstrap([], "glance-api", "eventlet")
    assert bootstrap.STATE == {
        "prog": "glance-api", "thread_model": "eventlet",
        "steps": ["config", "threadpool", "library-patches",
                  "eventlet-hub"]}
    with mock.patch.object(store_setup, "initialize_stores") as stores:
        bootstrap.setup_stores()
    stores.assert_called_once_with()
    assert bootstrap.STATE["steps"][-1] == "stores"
    bootstrap.bootstrap([], "glance-cache-pruner", "native")
    assert bootstrap.STATE["steps"] == ["config", "threadpool",
                                        "library-patches"]


def test_oslo_policy_is_what_the_adapter_relies_on():
    # fails when an oslo.policy upgrade changes its private _check: the
    # adapter then leaves it alone, and this says what changed
    oslo_policy_adapter.check_internals()
    assert oslo_policy_adapter.install_check_arity_cache() is True
    from oslo_policy import _checks
    assert hasattr(_checks._check, "__wrapped__")
    assert oslo_policy_adapter.install_check_arity_cache() is True


def test_the_adapter_leaves_a_changed_oslo_policy_alone():
    from oslo_policy import _checks

    def _check(rule, target, creds):
        return True
    with mock.patch.object(_checks, "_check", _check):
        with pytest.raises(RuntimeError, match="takes"):
            oslo_policy_adapter.check_internals()
        assert oslo_policy_adapter.install_check_arity_cache() is False
        assert _checks._check is _check


def test_the_arity_cache_calls_checks_as_oslo_policy_does():
    from oslo_policy import _checks
    original = getattr(_checks._check, "__wrapped__", _checks._check)
    with mock.patch.object(_checks, "_check", original):
        assert oslo_policy_adapter.install_check_arity_cache()

        class Three:
            def __call__(self, target, creds, enforcer):
                return ("three", target)

        class Four:
            def __call__(self, target, creds, enforcer, current_rule=None):
                return ("four", current_rule)
        for _i in range(2):   # the second call is answered from the cache
            assert _checks._check(Three(), "t", {}, None, "r") == (
                "three", "t")
            assert _checks._check(Four(), "t", {}, None, "r") == (
                "four", "r")


def _console_scripts():
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    lines = parser["options.entry_points"]["console_scripts"].splitlines()
    return [tuple(p.strip() for p in line.split("="))
            for line in lines if line.strip()]


class _Stop(Exception):
    pass


def _import_entry_point(module_name):
    """Import a cmd module; glance.cmd.api without monkey-patching us."""
    with mock.patch("eventlet.patcher.monkey_patch") as patch:
        module = importlib.import_module(module_name)
    return module, patch


def _entry_points():
    for script, target in _console_scripts():
        yield pytest.param(script, target, id=script)


@pytest.mark.parametrize("script,target", _entry_points())
def test_every_entry_point_bootstraps_first(script, target):
    module_name, func = target.split(":")
    module, _patch = _import_entry_point(module_name)
    with mock.patch.object(bootstrap, "bootstrap",
                           side_effect=_Stop) as boot, \
            pytest.raises(_Stop):
        getattr(module, func)([])
    assert boot.call_args.kwargs.get("prog", boot.call_args.args[1:2]
                                     and boot.call_args.args[1]) == script


def test_api_entry_point_monkey_patches():
    sys.modules.pop("glance.cmd.api", None)
    _module, patch = _import_entry_point("glance.cmd.api")
    patch.assert_called_once_with()


@pytest.fixture
def api_cmd():
    module, _patch = _import_entry_point("glance.cmd.api")
    with mock.patch.object(bootstrap, "bootstrap"), \
            mock.patch.object(module, "prepare_data"), \
            mock.patch.object(module.arbiter, "PosixServer") as srv_cls:
        yield module, srv_cls.return_value


def test_api_main_runs_the_server(api_cmd):
    module, srv = api_cmd
    srv.wait.return_value = 0
    assert module.main([]) == 0
    loader = srv.start.call_args.args[0]
    assert isinstance(loader, worker_mod.AppLoader)
    assert loader.app_name == "glance-api"
    assert loader.checks == (module.check_database, module.clean_staging)
    assert srv.start.call_args.kwargs == {"default_port": 9292}


def test_api_main_has_dead_workers_claims_released(api_cmd, conf,
                                                   tmp_path):
    module, _srv = api_cmd
    conf(state_path=str(tmp_path))
    module.main([])
    kwargs = module.arbiter.PosixServer.call_args.kwargs
    assert kwargs["release_claims"] is module.release_claims
    assert kwargs["claims"].directory == str(tmp_path / "claims")
    from glance.services import recovery
    with mock.patch.object(recovery, "release_claims") as release:
        module.release_claims(kwargs["claims"], 42)
    release.assert_called_once_with(kwargs["claims"], 42)


def test_api_main_reports_failures(api_cmd, capsys):
    module, srv = api_cmd
    srv.start.side_effect = RuntimeError("Could not bind to x")
    assert module.main([]) == 1
    assert "glance-api: Could not bind to x" in capsys.readouterr().err
    srv.start.side_effect = None
    srv.wait.return_value = server.WORKER_BOOT_ERROR
    srv.boot_error = "Unable to locate paste config file x"
    assert module.main([]) == server.WORKER_BOOT_ERROR
    assert capsys.readouterr().err == (
        "glance-api: a worker failed to boot: Unable to locate paste "
        "config file x\n")


def test_api_main_reports_one_line(api_cmd, capsys):
    module, srv = api_cmd
    srv.start.side_effect = RuntimeError("first line\n  detail")
    # (the log may still hold a handler on an earlier test's stderr)
    with mock.patch.object(module, "LOG"):
        assert module.main([]) == 1
    assert capsys.readouterr().err == "glance-api: first line\n"


def test_api_database_check_names_the_database(api_cmd):
    module, _srv = api_cmd
    session = mock.Mock()
    session.connection.side_effect = OSError("refused\n(Background)")
    session.connection_url.return_value = "postgresql://u:pw@db:5432/g"
    with mock.patch.object(module, "_db_session", return_value=session), \
            pytest.raises(RuntimeError) as info:
        module.check_database()
    assert str(info.value) == ("cannot use the database "
                               "postgresql://u:***@db:5432/g: refused")


def test_api_main_reports_config_errors(api_cmd, capsys):
    module, _srv = api_cmd
    with mock.patch.object(bootstrap, "bootstrap",
                           side_effect=cfg.ConfigFileParseError(
                               "f", "bad")):
        assert module.main([]) == 2
    assert "configuration error" in capsys.readouterr().err


def test_api_prefetcher_follows_the_flavor(api_cmd, conf):
    module, _srv = api_cmd
    assert not module.prefetcher_wanted()
    conf(flavor="keystone+cachemanagement", group="paste_deploy")
    assert module.prefetcher_wanted()


def test_api_hands_the_server_its_prefetcher(api_cmd, conf, tmp_path):
    module, _srv = api_cmd
    conf(state_path=str(tmp_path))
    module.main([])
    kwargs = module.arbiter.PosixServer.call_args.kwargs
    assert kwargs["initialize_prefetcher"] is False
    conf(flavor="keystone+cachemanagement", group="paste_deploy")
    module.main([])
    kwargs = module.arbiter.PosixServer.call_args.kwargs
    assert kwargs["initialize_prefetcher"] is module.start_prefetcher


# --- request bodies read into a buffer ---

def test_request_body_reads_into_a_buffer():
    import io
    data = bytes(range(256)) * 40
    body = connections.RequestBody(
        io.BufferedReader(io.BytesIO(data + b"next")), len(data), None)
    buffer = bytearray(4000)
    got = []
    while True:
        count = body.readinto(buffer)
        if not count:
            break
        got.append(bytes(buffer[:count]))
    assert b"".join(got) == data   # stops at Content-Length
    assert body.position == len(data)


def test_chunked_request_body_reads_into_a_buffer():
    import io
    raw = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    body = connections.RequestBody(io.BufferedReader(io.BytesIO(raw)),
                                   None, None, chunked_input=True)
    buffer = bytearray(100)
    count = body.readinto(buffer)
    assert bytes(buffer[:count]) == b"hello world"
    assert body.readinto(buffer) == 0


def test_a_child_inherits_a_frozen_heap_the_supervisor_does_not(posix):
    """The child's collector leaves what it inherits alone (the pages
    stay shared with the supervisor); the supervisor's is unfrozen."""
    import gc
    read_end, write_end = os.pipe()

    def child():
        os.write(write_end, b"%d" % gc.get_freeze_count())
        os._exit(0)

    pid = posix._fork(child)
    os.close(write_end)
    try:
        inherited = int(os.read(read_end, 64))
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    assert inherited > 1000
    assert gc.get_freeze_count() == 0
