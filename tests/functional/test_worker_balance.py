"""Keep-alive connections that piled onto one worker spread over both
again, against the real daemon (``Worker.over_share``): the loaded
worker ends some of them after a response (``Connection: close``) and
their clients' next connections go to its sibling."""
import http.client
import os
import signal
import time

from tests.functional.server import holder_of, wait_for

CLIENTS = 8
ROUNDS = 6
PAUSE = 0.15    # between rounds: longer than a worker's balance interval


def _connect(srv):
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
    conn.connect()
    return conn


def _ends_connection(conn):
    """GET /versions on ``conn``; whether the answer ended it."""
    conn.request("GET", "/versions")
    resp = conn.getresponse()
    resp.read()
    assert resp.status in (200, 300), resp.status
    return resp.getheader("Connection", "").lower() == "close"


def test_keepalive_clients_piled_on_one_worker_spread_again(glance_server):
    srv = glance_server(workers=2)
    first, second = srv.wait_for_workers(2)
    # a stopped worker cannot accept: every connection is the first's
    os.kill(second, signal.SIGSTOP)
    try:
        conns = [_connect(srv) for _ in range(CLIENTS)]
        # accepted one by one: the first waits its sibling's turn a moment
        wait_for(lambda: [holder_of([first, second], conn.sock)
                          for conn in conns] == [first] * CLIENTS,
                 message="the first worker holds every connection")
    finally:
        os.kill(second, signal.SIGCONT)
    ended = []
    for _round in range(ROUNDS):
        time.sleep(PAUSE)
        count = 0
        for index, conn in enumerate(conns):
            if _ends_connection(conn):
                conn.close()
                conns[index] = _connect(srv)
                count += 1
        ended.append(count)
    holders = [holder_of([first, second], conn.sock) for conn in conns]
    for conn in conns:
        conn.close()
    # half of them moved (a reconnection that the loaded worker won
    # moves again at its next check), and then they stay where they are
    # -- but for one: on a machine whose CPUs are taken (the suite's
    # other servers) the sibling may not accept within the loaded
    # worker's turn (50 ms), which then takes the reconnection, and it
    # moves again at the next check (seen with two CPU-bound processes
    # running beside it: [4, 1, 1, 1, 1, 1])
    assert 3 <= ended[0] + ended[1] <= 8, ended
    assert max(ended[2:]) <= 1, ended
    assert 3 <= holders.count(second) <= 5, holders
    assert holders.count(first) + holders.count(second) == CLIENTS
