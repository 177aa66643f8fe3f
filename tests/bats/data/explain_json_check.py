# Checks `amlshim --explain --json` (argv[2]) against `amlshim --explain`
# (argv[1]) run with the same options: every fact of the JSON must be the
# one the text states, and the text must state nothing the JSON lacks.
import json
import re
import sys

text = open(sys.argv[1]).read().splitlines()
j = json.load(open(sys.argv[2]))
problems = []


def need(line):
    if line not in text:
        problems.append("text lacks the line %r" % line)


def size(n):
    """amlshim_format_size: the largest exact K/M/G/T suffix."""
    for suffix, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n and n % (1 << shift) == 0:
            return "%d%s" % (n >> shift, suffix)
    return str(n)


def human(n):
    """print_bytes: one decimal in the largest unit below 1024."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    value, unit = float(n), 0
    while value >= 1024 and unit < 5:
        value /= 1024
        unit += 1
    return "%d B" % n if unit == 0 else "%.1f %s" % (value, units[unit])


need("amlshim %s" % j["amlshim"])
need("shim library: %s" % j["library"])
if j["topology"]:
    need("NUMA nodes (hwloc: %d):" % len(j["nodes"]))
    for n in j["nodes"]:
        line = "  node %d: cpus %s, memory %s" % (n["node"], n["cpus"] or "none (memory only)", human(n["memory_bytes"]))
        need(line + (", %s" % n["subtype"] if n["subtype"] else ""))
    if j["mems_allowed"] is not None:
        need("  memory nodes this process may use: " + ",".join(map(str, j["mems_allowed"])))
    for r in j["rankings"]:
        need("  from cpus %s (node%s %s):" % (r["cpus"], "s" if len(r["nodes"]) > 1 else "",
                                            ", ".join(map(str, r["nodes"]))))
        for kind in ("bandwidth", "latency", "capacity"):
            k = r[kind]
            prefix = "    %-9s " % kind
            if "error" in k:
                need(prefix + "no ranking: " + k["error"])
                continue
            parts = []
            for e in k["order"]:
                v = e["value"]
                unit = k["unit"]
                shown = ("no value" if v is None else
                         "local" if unit == "local" else
                         human(v) if unit == "bytes" else
                         "distance %d" % v if unit == "distance" else "%d %s" % (v, unit))
                parts.append("node %d (%s)" % (e["node"], shown))
            need(prefix + ", ".join(parts))
            need("    %-9s source: %s" % ("", k["source_text"]))
    ranking_lines = sum(1 for l in text if re.match(r"^    (bandwidth|latency  |capacity ) ", l))
    if ranking_lines != 3 * len(j["rankings"]):
        problems.append("text has %d ranking lines, JSON %d" % (ranking_lines, 3 * len(j["rankings"])))
    node_lines = sum(1 for l in text if re.match(r"^  node \d+: ", l))
    if node_lines != len(j["nodes"]):
        problems.append("text has %d node lines, JSON %d" % (node_lines, len(j["nodes"])))
options = {"AMLSHIM_POLICY": "policy", "AMLSHIM_THRESHOLD": "threshold", "AMLSHIM_RULES": "rules",
           "AMLSHIM_SMALL": "small", "AMLSHIM_MMAP": "mmap", "AMLSHIM_STATS": "stats",
           "AMLSHIM_STATS_FILE": "stats-file", "AMLSHIM_LOG": "log", "AMLSHIM_STRICT": "strict",
           "AMLSHIM_DEEPBIND": "deepbind"}
if [s["name"] for s in j["settings"]] != list(options):
    problems.append("settings: %s" % [s["name"] for s in j["settings"]])
for s in j["settings"]:
    line = [l for l in text if l.startswith("  %-19s " % s["name"])]
    if len(line) != 1:
        problems.append("text has %d lines for %s" % (len(line), s["name"]))
        continue
    if s["value"] is None:
        if line[0] != "  %-19s unset" % s["name"] or s["from"] is not None:
            problems.append("%s: %r vs %r" % (s["name"], line[0], s))
    elif not line[0].endswith("(%s)" % s["from"]) or s["from"] not in ("--" + options[s["name"]], "environment"):
        problems.append("%s: %r vs %r" % (s["name"], line[0], s))
for m in j["messages"]:
    need("  " + m)
if j["bad_values"] != len(j["messages"]):
    problems.append("bad_values %d, messages %d" % (j["bad_values"], len(j["messages"])))
if j["rules_override"]:
    need("  AMLSHIM_RULES is set: AMLSHIM_POLICY and AMLSHIM_THRESHOLD are ignored")
rules = [r for r in j["ranges"] if r["policy"] is not None]
if not rules:
    need("  no placement rule: every allocation takes the kernel default")
for r in j["ranges"]:
    span = "%s and up" % size(r["min"]) if r["max"] is None else "%s up to %s" % (size(r["min"]), size(r["max"]))
    if r["policy"] is None:
        need("  sizes %s: kernel default (no rule)" % span)
        continue
    need("  sizes %s: %s" % (span, r["policy"]))
    for e in r["resolved"]:
        if "fallback" in e:
            start = "      falls back to the kernel default: " + e["fallback"]
            if not any(l.startswith(start) for l in text):
                problems.append("text lacks a line starting %r" % start)
            continue
        line = "      " + ("threads on node %d: " % e["cpu_node"] if e["cpu_node"] is not None else "") + e["area"]
        if e["ranked_by"] and e["ranked_by"] not in e["area"]:
            line += " (ranked by %s)" % e["ranked_by"]
        need(line)
    sh = r.get("share")
    if sh:
        mode = "+share" + (":dynamic" if sh["mode"] == "dynamic" else "")
        if sh["node"] is None:
            need("      +share: no node to budget (not applied)")
        elif sh["local_size"]:
            need("      %s: node %d (%d MiB); budget: %d MiB if all %d local ranks use it (the node's ledger counts them at run time)"
                 % (mode, sh["node"], sh["node_bytes"] >> 20, sh["budget_bytes"] >> 20, sh["local_size"]))
        elif sh["budget_bytes"] is not None:
            need("      %s: node %d (%d MiB); budget: the whole node (not in a job)" % (mode, sh["node"], sh["node_bytes"] >> 20))
        else:
            need("      %s: node %d (%d MiB); budget: the node over the ranks that join its ledger (local size unknown)"
                 % (mode, sh["node"], sh["node_bytes"] >> 20))
        if sh["node"] is not None:
            ns = sh["settle_ns"]
            settle = "0" if ns == 0 else "%ds" % (ns // 10**9) if ns % 10**9 == 0 else "%dms" % (ns // 10**6)
            need("      ledger: " + ("%s (AMLSHIM_LEDGER)" % sh["ledger"] if sh["ledger"] else "the job's own")
                 + ("; a rank's room is lent after %s without growth (AMLSHIM_SHARE_SETTLE)" % settle
                    if sh["mode"] == "dynamic" else ""))
range_lines = sum(1 for l in text if l.startswith("  sizes "))
if range_lines != len(j["ranges"]):
    problems.append("text has %d size ranges, JSON %d" % (range_lines, len(j["ranges"])))
need("  small objects: %s" % j["small"]["policy"])
if j["small"]["fallback"]:
    need("      falls back to the kernel default: %s" % j["small"]["fallback"])
need("  threshold: %s%s" % (size(j["threshold"]), " (ignored: AMLSHIM_RULES)" if j["threshold_ignored"] else ""))
need("  program's own anonymous mmaps: %s" % ("placed by the rules" if j["mmap"] else "left alone"))
need("  RTLD_DEEPBIND: %s" % ("dropped" if j["deepbind"] == "drop" else
                              "kept, the library's malloc family bound to the shim"))
need("  report at exit: %s%s" % (j["stats"], "" if j["stats"] == "none" else ", to %s" % (j["stats_file"] or "stderr")))
need("  log level: %s; strict: %s" % (j["log"], "yes" if j["strict"] else "no"))
if j["strict"] and j["fallbacks"]:
    need("  AMLSHIM_STRICT=1 and %d placement(s) cannot be applied: the program would exit with status 2"
         % j["fallbacks"])
if problems:
    print("\n".join(problems))
    sys.exit(1)
