"""Summary of a Tempest run (run with the Tempest venv's python).

summarize.py SUBUNIT EXCLUDE_LIST LISTED SERVER_LOG [SERVER_LOG ...]

Prints each failed test with the end of its traceback, each skipped test
with its reason (a class skipped in setUpClass is expanded into its tests,
from LISTED: the output of `tempest run --list-tests` for the same
selection), the tests left out by EXCLUDE_LIST (with the comment above
each), the listed tests that never reported, and the Tracebacks and 5xx
answers found in the server logs. Ends with the line "tempest: N passed, N
failed, N skipped". Exit status 1 when a test failed or did not report, no
test ran, or a server log has a Traceback or a 5xx answer; else 0."""

import re
import sys

import subunit
import testtools

# eventlet.wsgi's access line: ... "GET /v2/images HTTP/1.1" 500 123 0.004
ACCESS_5XX = re.compile(r'"[A-Z]+ [^"]*HTTP/1\.[01]" 5\d\d ')
MAX_EXAMPLES = 10


def text_of(details, key):
    d = details.get(key)
    if d is None:
        return ""
    if hasattr(d, "iter_bytes"):
        return b"".join(bytes(c) for c in d.iter_bytes()).decode(
            "utf-8", "replace"
        )
    return str(d)


def failure_reason(details):
    """The exception line of the traceback, and the 'Details:' line after
    it, if any."""
    text = text_of(details, "traceback") or text_of(details, "reason")
    lines = [ln.rstrip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return "(no traceback)"
    # the last line that does not start with a space is the exception
    # (Details may follow)
    for i in range(len(lines) - 1, -1, -1):
        if not lines[i].startswith((" ", "\t")) and not lines[i].startswith(
            "Details:"
        ):
            return " | ".join(lines[i : i + 3])[:600]
    return lines[-1][:600]


def skip_reason(details):
    text = text_of(details, "reason") or text_of(details, "traceback")
    return " ".join(text.split())[:300] or "(no reason given)"


def read_stream(path):
    tests = {}
    with open(path, "rb") as f:
        stream = subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout")
        res = testtools.StreamToDict(lambda t: tests.__setitem__(t["id"], t))
        res.startTestRun()
        stream.run(res)
        res.stopTestRun()
    return tests


def excluded(path):
    out, why = [], ""
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("#"):
                    why = line.lstrip("# ")
                elif line:
                    out.append((line, why))
    except FileNotFoundError:
        pass
    return out


def scan_logs(paths):
    tracebacks, errors = [], []
    for path in paths:
        try:
            with open(path, errors="replace") as f:
                lines = f.readlines()
        except FileNotFoundError:
            continue
        for n, line in enumerate(lines):
            if (
                line.startswith("Traceback")
                or " Traceback (most recent call last)" in line
            ):
                # the exception line ends the traceback block
                end = n + 1
                while end < len(lines) and lines[end].startswith((" ", "\t")):
                    end += 1
                exc = lines[end].strip() if end < len(lines) else ""
                tracebacks.append("%s:%d: %s" % (path, n + 1, exc[:300]))
            if ACCESS_5XX.search(line):
                errors.append("%s:%d: %s" % (path, n + 1, line.strip()[:300]))
    return tracebacks, errors


CLASS_FIXTURE = re.compile(r"^(setUpClass|tearDownClass) \((\S+)\)$")


def base_id(test_id):
    return test_id.split("[", 1)[0]


def read_listed(path):
    try:
        with open(path) as f:
            return [ln.strip() for ln in f if ln.startswith("tempest.")]
    except FileNotFoundError:
        return []


def main():
    subunit_path, exclude_path, listed_path = sys.argv[1:4]
    logs = sys.argv[4:]
    tests = read_stream(subunit_path)
    listed = read_listed(listed_path)
    failed, skipped, passed = {}, {}, set()
    for tid, t in tests.items():
        fixture = CLASS_FIXTURE.match(tid)
        members = [
            x
            for x in listed
            if fixture and base_id(x).rsplit(".", 1)[0] == fixture.group(2)
        ]
        if t["status"] in ("fail", "uxsuccess"):
            # a failed setUpClass fails each test of its class (they do not
            # report)
            reason = failure_reason(t["details"])
            for x in members or [tid]:
                failed[x] = (
                    reason
                    if not members
                    else "%s: %s" % (fixture.group(1), reason)
                )
        elif t["status"] == "skip":
            for x in members or [tid]:
                skipped[x] = skip_reason(t["details"])
        elif t["status"] in ("success", "xfail") and not fixture:
            passed.add(tid)
    # a test skipped in one run (a class skipped as a whole) and run in
    # another (the second configuration) counts as run
    skipped = {x: why for x, why in skipped.items()
               if x not in passed and x not in failed}
    reported = set(failed) | set(skipped) | passed
    missing = sorted(x for x in listed if x not in reported)

    print("== FAILED (%d)" % len(failed))
    for tid in sorted(failed):
        print("%s\n    %s" % (tid, failed[tid]))
    print("\n== SKIPPED (%d)" % len(skipped))
    for tid in sorted(skipped):
        print("%s\n    %s" % (tid, skipped[tid]))
    if missing:
        print(
            "\n== LISTED BUT NOT REPORTED (%d): the run was cut short?"
            % len(missing)
        )
        for tid in missing:
            print(tid)
    ex = excluded(exclude_path)
    print("\n== EXCLUDED by %s (%d)" % (exclude_path, len(ex)))
    for regex, why in ex:
        print("%s\n    %s" % (regex, why))

    tracebacks, errors = scan_logs(logs)
    print(
        "\n== SERVER LOGS: %d Traceback(s), %d 5xx answer(s)"
        % (len(tracebacks), len(errors))
    )
    for line in tracebacks[:MAX_EXAMPLES] + errors[:MAX_EXAMPLES]:
        print("    " + line)
    print()
    print(
        "tempest: %d passed, %d failed, %d skipped"
        % (len(passed), len(failed), len(skipped))
    )
    bad = (
        bool(failed)
        or bool(missing)
        or not (passed or failed)
        or tracebacks
        or errors
    )
    if not (passed or failed):
        print("tempest: no test ran")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
