"""The benchmark's targets, in one table (issue 15's acceptance), and
their verdicts.

Each row: the workloads it covers, what is compared (median wall time,
peak RSS, start-up cost, the block-interleave floor or VMAs), the
configurations judged, the baseline and the limit. Each MISS carries its
explanation from explained.py, when one was written."""
from catalog import JOB_CONFIG, SITES_CONFIG, judged_against, unplaced
from explained import EXPLAINED
from tables import fmt_mib

SMALL = ["larson", "xthread", "cache-scratch", "churn", "small-mixed", "realloc", "thread-rounds"]
LARGE = ["large-1M", "large-16M", "large-256M", "large-vary"]
REAL = ["start-python", "python-objects", "gcc-compile"]
EVERY = SMALL + LARGE + REAL  # every workload judged by its time
PLACED = ["placed-small", "placed-larson"]
JOB_SMALL = ["larson", "xthread", "churn", "small-mixed"]  # catalog.JOB_WORKLOADS but start-true
STARTUP = ["start-true"]
SHIMS = ("amlshim", "amlshim-il")
PLACED_SHIMS = ("amlshim placed", "amlshim-il placed")
UNPLACED = None  # as a baseline: the same shim configuration without the rule
BI = ["block-interleave"]
BI_SHIM = "amlshim block-interleave:2M malloc + touch"
BI_FLOOR = "floor: mmap + touch"

# (workloads, measure, configurations judged, baseline, limit)
TARGETS = [
    (EVERY, "time", SHIMS, "glibc", 1.0),
    (EVERY, "time", SHIMS, "jemalloc", 1.05),
    (PLACED, "time", PLACED_SHIMS, UNPLACED, 1.2),
    (EVERY + STARTUP, "rss", SHIMS, "glibc", 1.25),
    (PLACED, "rss", PLACED_SHIMS, "glibc", 1.25),
    (STARTUP, "startup", SHIMS, "glibc", 0.2e-3),
    # Issue 11: the job detection is start-up work only.
    (JOB_SMALL, "time", (JOB_CONFIG,), "amlshim", 1.05),
    (STARTUP, "startup", (JOB_CONFIG,), "amlshim", 0.05e-3),
    # Issue 12: site rules set leave the small objects unchanged (no stack
    # is captured under the threshold) and cost little per large allocation.
    (JOB_SMALL + ["large-1M"], "time", (SITES_CONFIG,), "amlshim", 1.05),
    (BI, "floor", (BI_SHIM,), BI_FLOOR, 1.2),
    (BI, "vmas", (BI_SHIM,), None, 8),
]


def unjudged(workload_names):
    """The workloads no row of the table judges (a new one must get a row)."""
    judged = {wl for row in TARGETS for wl in row[0]}
    return [name for name in workload_names if name not in judged]


class Target:
    def __init__(self, what, passed, detail):
        self.what, self.passed, self.detail = what, passed, detail
        self.explained = EXPLAINED.get(what)


def evaluate(all_stats, bi_stats):
    """The verdict of every target whose measurements exist: workload by
    workload in the table's order, each configuration's rows together."""
    def med(wl, name, key="median"):
        return all_stats.get(wl, {}).get(name, {}).get(key)

    def time_verdict(wl, name, base, limit):
        """Wall ratio (the verdict), the paired ratio and the CPU-time ratio."""
        a, b = med(wl, name), med(wl, base)
        if None in (a, b):
            return None
        text = "%.2fx" % (a / b)
        p = all_stats[wl][name].get("paired_" + base)
        if p is not None:
            text += ", paired %.2f" % p
        ca, cb = med(wl, name, "cpu"), med(wl, base, "cpu")
        if ca and cb:
            text += "; CPU %.2fx%s" % (ca / cb, "" if ca <= limit * cb else " (over by CPU)")
        if limit == 1.0 and base == "glibc":
            limit_text = "<= glibc"
        else:
            limit_text = "<= %.2fx %s%s" % (limit, base, " (unplaced)" if base == unplaced(name) else "")
        return Target("%s: %s %s" % (wl, name, limit_text), a <= limit * b, text)

    def rss_verdict(wl, name, base, limit):
        ra, rb = med(wl, name, "rss_kib"), med(wl, base, "rss_kib")
        if not (ra and rb):
            return None
        return Target("%s: %s peak RSS <= %.2fx %s" % (wl, name, limit, base), ra <= limit * rb,
                      "%.2fx (%s vs %s MiB)" % (ra / rb, fmt_mib(ra), fmt_mib(rb)))

    def startup_verdict(wl, name, base, limit):
        a, g = med(wl, name), med(wl, base)
        if a is None or g is None:
            return None
        ca, cg = med(wl, name, "cpu"), med(wl, base, "cpu")
        cpu = "; CPU %+.3f ms" % ((ca - cg) * 1e3) if ca and cg else ""
        over = "" if base == "glibc" else " to %s" % base
        return Target("start-up /bin/true: %s adds <= %g ms%s" % (name, limit * 1e3, over), a - g <= limit,
                      "%+.3f ms (%.3f vs %.3f ms)%s" % ((a - g) * 1e3, a * 1e3, g * 1e3, cpu))

    def bi_verdict(kind, base, limit):
        s = bi_stats.get(BI_SHIM, {})
        if "median" not in s:
            return None
        if kind == "floor":
            floor = bi_stats[base]["median"]
            return Target("block-interleave: amlshim <= %gx mmap+touch floor" % limit,
                          s["median"] <= limit * floor, "%.2fx" % (s["median"] / floor))
        return Target("block-interleave: amlshim <= %d new VMAs" % limit, s["vmas"] <= limit, "%d" % s["vmas"])

    order = []
    for workloads, _, _, _, _ in TARGETS:
        order += [wl for wl in workloads if wl not in order]
    judge = {"time": time_verdict, "rss": rss_verdict, "startup": startup_verdict}
    targets = []
    for wl in order:
        rows = [row for row in TARGETS if wl in row[0]]
        if wl in BI:
            targets += [bi_verdict(kind, base, limit) for _, kind, _, base, limit in rows]
            continue
        names = []
        for row in rows:
            names += [n for n in row[2] if n not in names]
        for name in names:
            targets += [judge[kind](wl, name, base or judged_against(name), limit)
                        for _, kind, configs, base, limit in rows if name in configs]
    return [t for t in targets if t is not None]
