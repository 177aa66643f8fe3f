"""The benchmark's targets, in one table, and their verdicts.

Each row: the workloads it covers, what is compared (median wall time,
peak RSS, start-up cost, the block-interleave floor or VMAs), the
baseline, and the limit. Both shim configurations are judged."""
from tables import fmt_mib

SMALL = ["larson", "xthread", "cache-scratch", "churn", "realloc", "thread-rounds"]
LARGE = ["large-1M", "large-16M", "large-256M", "large-vary"]
REAL = ["python-objects", "gcc-compile"]
SHIMS = ("amlshim", "amlshim-il")
BI_SHIM = "amlshim block-interleave:2M malloc + touch"
BI_FLOOR = "floor: mmap + touch"

# (workloads, measure, baseline, limit); the order is the report's.
TARGETS = [
    (SMALL, "time", "jemalloc", 1.10),
    (SMALL, "time", "glibc", 1.0),
    (LARGE, "time", "glibc", 1.0),
    (LARGE, "time", "jemalloc", 1.10),
    (LARGE, "rss", "glibc", 1.25),
    (["block-interleave"], "floor", BI_FLOOR, 1.2),
    (["block-interleave"], "vmas", None, 8),
    (["start-true"], "startup", "glibc", 1e-3),
    (REAL, "time", "glibc", 1.05),
]


class Target:
    def __init__(self, what, passed, detail):
        self.what, self.passed, self.detail = what, passed, detail


def evaluate(all_stats, bi_stats):
    """The verdict of every target whose measurements exist."""
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
        limit_text = "<= glibc" if limit == 1.0 and base == "glibc" else "<= %.2fx %s" % (limit, base)
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
        cpu = "; CPU +%.3f ms" % ((ca - cg) * 1e3) if ca and cg else ""
        return Target("start-up /bin/true: %s adds < %g ms" % (name, limit * 1e3), a - g < limit,
                      "+%.3f ms (%.3f vs %.3f ms)%s" % ((a - g) * 1e3, a * 1e3, g * 1e3, cpu))

    def bi_ready():
        return BI_SHIM in bi_stats and "median" in bi_stats[BI_SHIM]

    targets = []
    # Rows of one kind for one workload group are judged workload by
    # workload, both shim configurations, in the order of the table.
    groups = {}
    for workloads, kind, base, limit in TARGETS:
        groups.setdefault(tuple(workloads), []).append((kind, base, limit))
    for workloads, rows in groups.items():
        if workloads == ("block-interleave",):
            if not bi_ready():
                continue
            s = bi_stats[BI_SHIM]
            for kind, base, limit in rows:
                if kind == "floor":
                    floor = bi_stats[base]["median"]
                    targets.append(Target("block-interleave: amlshim <= %gx mmap+touch floor" % limit,
                                          s["median"] <= limit * floor, "%.2fx" % (s["median"] / floor)))
                else:
                    targets.append(Target("block-interleave: amlshim <= %d new VMAs" % limit,
                                          s["vmas"] <= limit, "%d" % s["vmas"]))
            continue
        for wl in workloads:
            if wl not in all_stats:
                continue
            verdicts = []
            for kind, base, limit in rows:
                for name in SHIMS:
                    fn = {"time": time_verdict, "rss": rss_verdict, "startup": startup_verdict}[kind]
                    verdicts.append((name, fn(wl, name, base, limit)))
            # Per workload: each configuration's rows together, as before.
            for name in SHIMS:
                targets.extend(v for n, v in verdicts if n == name and v is not None)
    return targets
