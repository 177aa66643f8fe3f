"""Side by side with another build of the shim (--baseline): the same
workloads, both libraries in the same rounds, new/old per workload and
policy. A refactoring is judged here, never across two runs of the
benchmark: the machines are shared and drift."""
import os

from tables import fmt_ratio, fmt_time, markdown_table, paired_ratio

# (this build's configuration, the baseline's), as catalog.configurations names them
PAIRS = [("amlshim", "base"), ("amlshim-il", "base-il"),
         ("amlshim placed", "base placed"), ("amlshim-il placed", "base-il placed")]
LIMIT = 1.05  # slower than this on both measures: reported as slower


def baseline_configurations(path):
    """The baseline shim under the default policy and under interleave."""
    missing = None if os.path.exists(path) else "%s not found" % path
    return [("base", path, {}, missing), ("base-il", path, {"AMLSHIM_POLICY": "interleave"}, missing)]


def compare(results_by_workload, report):
    """results_by_workload: {workload: {configuration: [runs]}}. Emits the
    table; returns the (workload, configuration) cells slower than LIMIT
    by both the ratio of medians and the median of paired ratios."""
    rows, slower = [], []
    for wl, results in results_by_workload.items():
        for new, old in PAIRS:
            a, b = results.get(new), results.get(old)
            if not a or not b:
                continue
            ta = sorted(r.time_s for r in a if r.time_s)
            tb = sorted(r.time_s for r in b if r.time_s)
            if not ta or not tb:
                rows.append([wl, new, "-", "-", "-", "-", "no runs"])
                continue
            med_a, med_b = ta[len(ta) // 2], tb[len(tb) // 2]
            ratio, paired = med_a / med_b, paired_ratio(a, b)
            worse = ratio > LIMIT and (paired is None or paired > LIMIT)
            if worse:
                slower.append((wl, new))
            rows.append([wl, new, fmt_time(med_b), fmt_time(med_a), fmt_ratio(ratio), fmt_ratio(paired),
                         "SLOWER" if worse else "ok"])
    report.emit("## Side by side with the baseline shim")
    report.emit()
    report.emit("new/old: ratio of median times (below 1: this build is faster); paired: median over "
                "rounds of the ratio of the two runs made back to back. A cell is SLOWER when both "
                "exceed %.2f." % LIMIT)
    report.emit()
    report.emit(markdown_table(["workload", "policy", "old median", "new median", "new/old", "paired", ""],
                               rows))
    report.emit()
    report.emit("%d of %d cells slower than %.0f%%." % (len(slower), len(rows), (LIMIT - 1) * 100))
    report.emit()
    return slower
