"""``python -m tools.differential [--scenarios PATTERN,...] [--report FILE]``

Runs the scenarios against Glance 33 and our glance-api side by side and
prints every difference not documented in doc/differences.rst (with
``--all``, the documented ones too). ``--report FILE`` writes the whole
result as JSON (``.json``) or text. The exit status is 1 when an
undocumented difference was found.
"""
import argparse
import json
import sys

from tools.differential import runner
from tools.differential.scenarios import SCENARIOS


def _print_diff(diff, out):
    out.write("* %s | %s | %s\n" % (diff["scenario"], diff["step"],
                                    diff["aspect"]))
    if diff.get("request"):
        req = diff["request"]
        out.write("    request: %s as %s%s\n" % (
            req["line"], req["as"],
            (" body %s" % json.dumps(req["body"]))[:400]
            if req.get("body") is not None else ""))
    out.write("    glance:  %s\n    ours:    %s\n" % (diff["glance"],
                                                     diff["ours"]))
    if diff.get("reason"):
        out.write("    reason:  %s\n" % diff["reason"])


def text_report(results, unexplained, documented, out, show_all=False):
    total = sum(len(r["differences"]) for r in results.values())
    steps = sum(r["steps"] for r in results.values())
    out.write("%d scenarios, %d steps: %d differences, %d documented, %d "
              "undocumented\n" % (len(results), steps, total,
                                  len(documented), len(unexplained)))
    for diff in unexplained:
        _print_diff(diff, out)
    if show_all and documented:
        out.write("\ndocumented:\n")
        for diff in documented:
            _print_diff(diff, out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.differential",
                                     description=__doc__.splitlines()[2])
    parser.add_argument("--scenarios", help="comma-separated name patterns "
                        "(shell-style, e.g. 'images.*,listing.sort*')")
    parser.add_argument("--short", action="store_true",
                        help="only the test suite's subset")
    parser.add_argument("--report", help="write the full report here")
    parser.add_argument("--venv", help="Glance 33 virtualenv to use "
                        "(default $GLANCE_DIFFERENTIAL_VENV, else a cached "
                        "one built on first use)")
    parser.add_argument("--work-dir", help="keep servers' state and logs here")
    parser.add_argument("--all", action="store_true",
                        help="print documented differences too")
    parser.add_argument("--list", action="store_true",
                        help="list the scenarios and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, sc in SCENARIOS.items():
            print("%-36s %s%s" % (name, "[short] " if sc.short else "",
                                  " ".join(sc.doc)))
        return 0
    patterns = args.scenarios.split(",") if args.scenarios else None

    def log(message):
        print(message, file=sys.stderr, flush=True)

    results, unexplained, documented = runner.run(
        patterns, short=args.short, venv=args.venv, work_dir=args.work_dir,
        log=log, keep=bool(args.work_dir))
    text_report(results, unexplained, documented, sys.stdout, args.all)
    if args.report:
        with open(args.report, "w") as out:
            if args.report.endswith(".json"):
                json.dump({"results": results, "undocumented": unexplained,
                           "documented": documented}, out, indent=1,
                          sort_keys=True)
            else:
                text_report(results, unexplained, documented, out, True)
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
