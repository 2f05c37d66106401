"""Step by step comparison of two sides' recorded exchanges.

A difference is a dict: ``scenario``, ``step``, ``aspect`` (``status``,
``header:<name>``, ``body`` or ``body:<json path>``, ``message`` (error
text), ``steps`` (one side made a request the other did not), ``error``
(the scenario itself failed on one side)), ``glance``, ``ours`` and the
``request`` made. When the statuses differ only the status is reported:
everything else then differs too.
"""
import json

MAX_BODY_DIFFS = 12
MAX_SHOWN = 600


def shorten(value):
    text = value if isinstance(value, str) else json.dumps(value,
                                                           sort_keys=True)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def diff_json(a, b, path=""):
    """[(path, a, b)] where two JSON documents differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            sub = "%s/%s" % (path, key)
            if key not in a:
                out.append((sub, "<absent>", b[key]))
            elif key not in b:
                out.append((sub, a[key], "<absent>"))
            else:
                out.extend(diff_json(a[key], b[key], sub))
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) == len(b):
            out = []
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                out.extend(diff_json(x, y, "%s/%d" % (path, i)))
            return out
        if all(isinstance(x, dict) and "id" in x for x in a + b):
            # lists of resources: which ones, by id
            return [(path + "[ids]", [x["id"] for x in a],
                     [x["id"] for x in b])]
    return [] if a == b else [(path or "/", a, b)]


def _diff(scenario, step, aspect, glance, ours, request):
    return {"scenario": scenario, "step": step, "aspect": aspect,
            "glance": shorten(glance), "ours": shorten(ours),
            "request": request}


def compare_exchange(scenario, g, o):
    request = g.request
    if g.status != o.status:
        return [_diff(scenario, g.step, "status",
                      "%s %s" % (g.status, shorten(g.body["value"] or "")),
                      "%s %s" % (o.status, shorten(o.body["value"] or "")),
                      request)]
    out = []
    for name in sorted(set(g.headers) | set(o.headers)):
        gv, ov = g.headers.get(name), o.headers.get(name)
        if gv != ov:
            out.append(_diff(scenario, g.step, "header:" + name,
                             gv if gv is not None else "<absent>",
                             ov if ov is not None else "<absent>", request))
    gb, ob = g.body, o.body
    if gb["kind"] == ob["kind"] == "json":
        for path, gv, ov in diff_json(gb["value"], ob["value"])[
                :MAX_BODY_DIFFS]:
            out.append(_diff(scenario, g.step, "body:" + path, gv, ov,
                             request))
    elif gb != ob:
        aspect = "message" if "text" in (gb["kind"], ob["kind"]) else "body"
        out.append(_diff(scenario, g.step, aspect,
                         "%s: %s" % (gb["kind"], gb["value"]),
                         "%s: %s" % (ob["kind"], ob["value"]), request))
    return out


def compare_run(scenario, glance, ours):
    """Differences between two runs: (exchanges, error) per side."""
    (g_ex, g_err), (o_ex, o_err) = glance, ours
    out = []
    g_by = {e.step: e for e in g_ex}
    o_by = {e.step: e for e in o_ex}
    for e in g_ex:
        if e.step in o_by:
            out.extend(compare_exchange(scenario, e, o_by[e.step]))
        else:
            out.append(_diff(scenario, e.step, "steps", "made",
                             "not made", e.request))
    for e in o_ex:
        if e.step not in g_by:
            out.append(_diff(scenario, e.step, "steps", "not made", "made",
                             e.request))
    if g_err != o_err:
        out.append(_diff(scenario, "-", "error", g_err or "-", o_err or "-",
                         None))
    return out
