"""The documented differences: the table of ``doc/differences.rst``.

Each row of its ``list-table`` names a scenario, a step and an aspect
(shell-style patterns, in double back-quotes), what Glance 33 answers,
what we answer and why. The Glance and ours cells, when they hold a
pattern in double back-quotes, must match too; in plain words they only
describe. A difference matching a row is deliberate; any other is a bug.
"""
import fnmatch
import pathlib
import re

DOC = pathlib.Path(__file__).resolve().parents[2] / "doc" / "differences.rst"
LITERAL_RE = re.compile(r"``(.+?)``")


def _rows(text):
    rows, cells, in_table = [], None, False
    for line in text.splitlines():
        if line.startswith(".. list-table::"):
            in_table = True
            continue
        if not in_table:
            continue
        stripped = line.strip()
        if stripped.startswith("* - "):
            cells = [stripped[4:]]
            rows.append(cells)
        elif stripped.startswith("- ") and cells is not None:
            cells.append(stripped[2:])
        elif stripped and cells is not None and line.startswith("     "):
            cells[-1] += " " + stripped
        elif stripped and not line.startswith(" "):
            in_table = False
            cells = None
    return rows


def load(path=DOC):
    """[(scenario, step, aspect, glance, ours, reason)] patterns, header
    row excluded."""
    try:
        text = pathlib.Path(path).read_text()
    except OSError:
        return []
    known = []
    for cells in _rows(text)[1:]:
        if len(cells) < 6:
            continue
        patterns = []
        for cell in cells[:3]:
            found = LITERAL_RE.search(cell)
            patterns.append(found.group(1) if found else cell.strip())
        for cell in cells[3:5]:
            found = LITERAL_RE.fullmatch(cell.strip())
            patterns.append(found.group(1) if found else "*")
        known.append((*patterns, cells[5]))
    return known


def explained(diff, known):
    """The reason documented for ``diff``, or None."""
    for scenario, step, aspect, glance, ours, reason in known:
        if (fnmatch.fnmatchcase(diff["scenario"], scenario)
                and fnmatch.fnmatchcase(diff["step"], step)
                and fnmatch.fnmatchcase(diff["aspect"], aspect)
                and fnmatch.fnmatchcase(str(diff["glance"]), glance)
                and fnmatch.fnmatchcase(str(diff["ours"]), ours)):
            return reason
    return None
