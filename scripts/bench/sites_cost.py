"""What call sites cost (issue 12), as lines under the targets: site
capture and rule matching per large allocation (amlshim-sites against
amlshim on large-1M: time and callgrind instructions per operation), and
profile mode's overhead on the large-block loop (amlshim-profile against
amlshim on large-1M and large-16M)."""
from catalog import PROFILE_CONFIG, PROFILE_WORKLOADS, SITES_CONFIG

BASE = "amlshim"
SITES_LARGE = "large-1M"


def iterations(wl):
    """The allocations of one run of a large_loop workload (its argv)."""
    for arg in wl.argv:
        if arg.startswith("iterations="):
            return int(arg.split("=", 1)[1])
    return None


def per_op_line(what, stats, name, ops):
    """name's median time against amlshim's: ratio and difference per operation."""
    a, b = stats.get(name, {}).get("median"), stats.get(BASE, {}).get("median")
    if a is None or b is None or not ops:
        return None
    return "%s: %.3f vs %.3f s (%.2fx, %+.1f%%), %+.2f us per allocation" % (
        what, a, b, a / b, (a / b - 1) * 100, (a - b) / ops * 1e6)


def site_cost_lines(all_stats, cg, workload_list):
    by_name = {wl.name: wl for wl in workload_list}
    lines = []
    if SITES_LARGE in all_stats and SITES_LARGE in by_name:
        line = per_op_line("site capture per large allocation (%s, %s vs %s)" % (SITES_LARGE, SITES_CONFIG, BASE),
                           all_stats[SITES_LARGE], SITES_CONFIG, iterations(by_name[SITES_LARGE]))
        counts = cg.get(SITES_LARGE + " (per op)", {})
        if counts.get(SITES_CONFIG) and counts.get(BASE):
            extra = "callgrind %.0f vs %.0f instructions per malloc+free (%+.0f)" % (
                counts[SITES_CONFIG], counts[BASE], counts[SITES_CONFIG] - counts[BASE])
            line = "%s; %s" % (line, extra) if line else "site capture per large allocation: " + extra
        if line:
            lines.append(line)
    for wl_name in PROFILE_WORKLOADS:
        if wl_name in all_stats and wl_name in by_name:
            line = per_op_line("profiling overhead (%s, %s vs %s)" % (wl_name, PROFILE_CONFIG, BASE),
                               all_stats[wl_name], PROFILE_CONFIG, iterations(by_name[wl_name]))
            if line:
                lines.append(line)
    return lines
