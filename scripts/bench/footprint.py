"""Before main: what each allocator has mapped and made resident when a
small program's main starts (workloads/before_main.c), against plain
glibc; the table and the lines the targets section prints."""
import os
import statistics

from catalog import SHIM_CONFIGS, env_for
from runner import log, measure
from tables import markdown_table

FIELDS = ("rss_kib", "anon_kib", "file_kib", "vm_kib", "maps")


def run_before_main(args, bench_dir, work, configs, runs, report):
    """Returns ({configuration: {field: median}}, whether every cell was made)."""
    argv = [os.path.join(bench_dir, "before_main")]
    available = [c for c in configs if c[3] is None]
    results = {c[0]: [] for c in available}
    for r in range(runs):
        for config in available:
            results[config[0]].append(measure(argv, env_for(config), work, False, args.timeout))
    stats, produced_ok, rows = {}, True, []
    for name, rs in results.items():
        errors = [x.error for x in rs if x.error]
        if errors:
            produced_ok = False
            rows.append([name, errors[0]] + ["-"] * 6)
            continue
        stats[name] = {f: statistics.median(int(x.extra[f]) if f in x.extra else x.rss_kib for x in rs)
                       for f in FIELDS}
    log("  before main: %s" % {n: (s["rss_kib"], s["maps"]) for n, s in stats.items()})
    g = stats.get("glibc")
    for name, s in stats.items():
        rows.append([name, "%d" % s["rss_kib"], "%d" % s["anon_kib"], "%d" % s["file_kib"], "%d" % s["vm_kib"],
                     "%d" % s["maps"], "%+d" % (s["rss_kib"] - g["rss_kib"]) if g else "-",
                     "%+d" % (s["maps"] - g["maps"]) if g else "-"])
    report.emit("## before main")
    report.emit()
    report.emit("What a small program holds when its main starts, read from /proc/self/status and "
                "/proc/self/maps before it allocates anything (medians of %d runs): what the allocator, its "
                "libraries and its constructors mapped and touched before main." % runs)
    report.emit()
    report.emit(markdown_table(["configuration", "resident KiB", "anonymous KiB", "file KiB", "virtual KiB",
                                "mappings", "resident vs glibc", "mappings vs glibc"], rows))
    report.emit()
    return stats, produced_ok


def before_main_lines(stats):
    """One line per shim configuration: what it adds to plain glibc."""
    g = stats.get("glibc")
    if not g:
        return []
    return ["before main: %s +%d KiB resident (+%d KiB anonymous), +%d mappings, +%d KiB virtual"
            % (name, s["rss_kib"] - g["rss_kib"], s["anon_kib"] - g["anon_kib"], s["maps"] - g["maps"],
               s["vm_kib"] - g["vm_kib"])
            for name, s in stats.items() if name in SHIM_CONFIGS]
