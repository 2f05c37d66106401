"""The wrk benchmark's summary line: rate, percentiles, errors, the
clients/rate bound and the server's CPU per request."""
import pytest

from benchmarks import wrk

OUTPUT = """Running 8s test @ http://127.0.0.1:41875/v2/images/x
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    15.21ms    2.70ms  41.55ms   85.68%
    Req/Sec     2.00k   146.46     2.26k    68.50%
  Latency Distribution
     50%   15.08ms
     75%   17.12ms
     90%   19.54ms
     99%    1.02s
  32000 requests in 8.00s, 23.73MB read
  Non-2xx or 3xx responses: 7
Requests/sec:   4000.00
Transfer/sec:      2.97MB
"""


def test_summary_reads_wrk_and_adds_the_bound_and_cpu():
    line, rate = wrk.summary("GET", OUTPUT, 64, cpu=16.0)
    assert rate == 4000.0
    fields = line.split()
    assert fields[:3] == ["GET", "(wrk)", "4000.0"]
    # the percentile rows, not the Req/Sec line's 68.50%
    assert "p50    15.1 ms" in line and "p99  1020.0 ms" in line
    assert "n=32000 errors=7" in line
    # 64 clients at 4,000 requests/s: 16 ms each on average
    assert "clients/rate 16.0 ms" in line
    assert line.endswith("server CPU 0.500 ms/req")


def test_summary_without_errors_or_cpu():
    out = OUTPUT.replace("  Non-2xx or 3xx responses: 7\n", "")
    line, _rate = wrk.summary("GET", out, 16)
    assert "errors=0  clients/rate 4.0 ms" in line
    assert "server CPU" not in line


def test_summary_refuses_a_duration_it_cannot_read():
    with pytest.raises(ValueError):
        wrk.summary("GET", OUTPUT.replace("15.08ms", "15.08fortnights"), 64)
