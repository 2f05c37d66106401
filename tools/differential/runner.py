"""Start both servers, run scenarios on both at once, collect differences."""
import concurrent.futures
import contextlib
import fnmatch
import pathlib
import tempfile
import time
import traceback

from tools.differential import compare, known, oracle, servers
from tools.differential.client import Session, new_token
from tools.differential.scenarios import SCENARIOS


class Side:
    """What a session needs of a server."""

    def __init__(self, server):
        self.name = server.name
        self.url = server.url
        self.state_dirs = [server.state, server.base_dir]


def select(patterns=None, short=False):
    """Scenarios whose names match one of ``patterns`` (all if none)."""
    chosen = []
    for name, sc in SCENARIOS.items():
        if short and not sc.short:
            continue
        if patterns and not any(fnmatch.fnmatchcase(name, p)
                                for p in patterns):
            continue
        chosen.append(sc)
    return chosen


@contextlib.contextmanager
def both_servers(work_dir, venv=None, log=print, overrides=None):
    """(glance, ours) started, stopped on exit."""
    venv = oracle.ensure_venv(venv, log=log)
    uwsgi = oracle.find_uwsgi(venv, log=log)
    paste = servers.trusted_paste(oracle.paste_file(venv).read_text())
    work_dir = pathlib.Path(work_dir)
    glance = servers.GlanceOracle(work_dir / "glance", venv, uwsgi, paste,
                                  overrides)
    ours = servers.OurServer(work_dir / "ours", paste, overrides)
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            started = [pool.submit(glance.start), pool.submit(ours.start)]
            for future in started:
                future.result()
        yield glance, ours
    finally:
        glance.stop()
        ours.stop()


def _run_side(scenario, side, token):
    session = Session(side, token)
    error = None
    try:
        scenario.fn(session)
    except Exception as e:  # noqa: BLE001 - a scenario failing is a result
        frames = traceback.extract_tb(e.__traceback__)
        where = frames[-1] if frames else None
        error = session.norm.text("%s: %s (%s:%s)" % (
            type(e).__name__, e, where and pathlib.Path(where.filename).name,
            where and where.lineno))
    return session.exchanges, error


def run_scenarios(scenarios, glance, ours, log=print):
    """{scenario name: {"differences": [...], "steps": n}}"""
    sides = Side(glance), Side(ours)
    results = {}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for sc in scenarios:
            token = new_token()
            started = time.monotonic()
            futures = [pool.submit(_run_side, sc, side, token)
                       for side in sides]
            g, o = (f.result() for f in futures)
            diffs = compare.compare_run(sc.name, g, o)
            results[sc.name] = {"differences": diffs, "steps": len(g[0]),
                                "seconds": round(time.monotonic() - started,
                                                 2)}
            log("%-40s %3d steps %3d differences" % (sc.name, len(g[0]),
                                                     len(diffs)))
    return results


def classify(results, table=None):
    """(unexplained, explained) differences, the latter with a reason."""
    table = known.load() if table is None else table
    unexplained, documented = [], []
    for result in results.values():
        for diff in result["differences"]:
            reason = known.explained(diff, table)
            if reason is None:
                unexplained.append(diff)
            else:
                documented.append(dict(diff, reason=reason))
    return unexplained, documented


def run(patterns=None, short=False, venv=None, work_dir=None, log=print,
        keep=False):
    """Everything: the results, unexplained and documented differences."""
    scenarios = select(patterns, short)
    if not scenarios:
        raise SystemExit("no scenario matches %s" % (patterns,))
    tmp = None
    if work_dir is None:
        tmp = tempfile.mkdtemp(prefix="glance-differential-")
        work_dir = tmp
    with both_servers(work_dir, venv=venv, log=log) as (glance, ours):
        log("glance %s, ours %s (work dir %s)" % (glance.url, ours.url,
                                                   work_dir))
        results = run_scenarios(scenarios, glance, ours, log=log)
    if tmp and not keep:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    unexplained, documented = classify(results)
    return results, unexplained, documented
