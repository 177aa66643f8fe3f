#!/usr/bin/env python3
"""amlshim benchmark runner (python3 standard library only).

Runs every workload under plain glibc, Debian's jemalloc, mimalloc,
tcmalloc and memkind's memtier (LD_PRELOAD), and libamlshim.so with the
default policy and with interleave; the placed workloads also run each
shim configuration with a rule placing small sizes ("amlshim placed").
Runs alternate (round 1: A B C ..., round 2: A B C ...) so the machine's
drift hits all alike. For each workload it prints the median time,
min-max, peak RSS and the ratios to glibc and to jemalloc; then the
block-interleave 4 GiB table against the mmap+touch floor, what each
allocator holds before main, instruction counts from callgrind (a
noise-free view of the small-object workloads), and PASS/MISS per target
(targets.py), each MISS with its explanation (explained.py). It never
fails on a MISS; it fails (exit 1) only when a cell could not be produced.

    bench.py --build build                 # the full benchmark (make bench)
    bench.py --build build --quick         # one tiny run of everything (make check)
    bench.py --build build --only larson,churn --runs 9 --no-callgrind
    bench.py --build build --baseline OLD/libamlshim.so --configs amlshim,amlshim-il,base,base-il
                                           # side by side with another build
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from compare import baseline_configurations, compare
from footprint import before_main_lines, run_before_main
from catalog import (JOB_CONFIG, SHIM_CONFIGS, SITES_CONFIG, WORKLOAD_SRC, base_env, configurations, env_for,
                     judged_against, unplaced, workload_configurations, workloads)
from machine import loadavg, machine_description, package_versions, tree_version
from runner import callgrind_count, log, measure, parse_bench_line
from sites_cost import site_cost_lines
from tables import fmt_mib, fmt_ratio, fmt_time, markdown_table, paired_ratio, summarize, workload_table
from targets import evaluate, unjudged


MIN_RUNS = 5  # the targets are judged on medians of at least this many alternating runs
SECTIONS = ("block-interleave", "before-main", "callgrind")  # --only's names besides workloads


class Report:
    """The report, printed as it is made and kept for --markdown."""

    def __init__(self):
        self.lines = []

    def emit(self, text=""):
        print(text, flush=True)
        self.lines.append(text)


def paired_ratios(stats, results):
    """Each shim configuration's paired ratios to glibc, jemalloc and, when
    placed, to the same configuration unplaced."""
    for name in results:
        if name not in SHIM_CONFIGS and not judged_against(name):
            continue
        for base in ("glibc", "jemalloc", judged_against(name)):
            if base in results:
                stats[name]["paired_" + base] = paired_ratio(results[name], results[base])


def run_workloads(args, bench_dir, work, all_configs, runs, only, report):
    """Every workload under every available configuration, alternating;
    returns (stats per workload, raw runs, whether every cell was made)."""
    columns = []  # every configuration a workload ran under, for the summary
    raw, all_stats, produced_ok = {}, {}, True
    runs_by_workload = {}
    for wl in workloads(bench_dir):
        if only and wl.name not in only:
            continue
        configs = workload_configurations(wl, all_configs)
        names = [c[0] for c in configs]
        columns += [n for n in names if n not in columns]
        available = [c for c in configs if c[3] is None]
        missing = {c[0]: c[3] for c in configs if c[3] is not None}
        argv = wl.quick if args.quick else wl.argv
        if not args.quick:  # page cache, dynamic loader caches, CPU frequency
            measure(argv, env_for(configs[0]), work, wl.outside, args.timeout)
        results = {c[0]: [] for c in available}
        for r in range(runs):
            line = []
            for config in available:
                res = measure(argv, env_for(config), work, wl.outside, args.timeout)
                results[config[0]].append(res)
                line.append("%s %s" % (config[0], res.error or fmt_time(res.time_s)))
            log("  %s round %d/%d: %s" % (wl.name, r + 1, runs, ", ".join(line)))
        runs_by_workload[wl.name] = results
        stats = {name: summarize(rs) for name, rs in results.items()}
        for name in missing:
            stats[name] = {"error": "not installed"}
        paired_ratios(stats, results)
        all_stats[wl.name] = stats
        raw[wl.name] = {n: [vars(x) for x in rs] for n, rs in results.items()}
        for name, rs in results.items():
            if any(x.error for x in rs) and name != "memtier":
                produced_ok = False
            if name == "memtier" and any(x.error and not x.error.startswith("crash") for x in rs):
                produced_ok = False
        report.emit("## %s" % wl.name)
        report.emit()
        if wl.outside:
            how = "Whole process timed by the runner."
        elif os.path.basename(wl.argv[0]) == "spawn":
            how = "Time and CPU time of one run, measured by spawn; peak RSS = the largest run's."
        else:
            how = "Time from the workload's own monotonic clock; peak RSS = VmHWM."
        report.emit("%s. %s" % (wl.what, how))
        report.emit()
        report.emit(workload_table(stats, names, judged_against))
        report.emit()

    # Summary matrix: every workload, time relative to glibc.
    if all_stats:
        report.emit("## Summary: median time relative to glibc (lower is faster)")
        report.emit()
        rows = []
        for wl_name, stats in all_stats.items():
            g = stats.get("glibc", {}).get("median")
            row = [wl_name]
            for name in columns:
                s = stats.get(name, {})
                row.append(s["error"] if "error" in s else fmt_ratio(s["median"] / g if g and s else None))
            rows.append(row)
        report.emit(markdown_table(["workload"] + columns, rows))
        report.emit()
    if any(c[0].startswith("base") and c[3] is None for c in all_configs):
        compare(runs_by_workload, report)
    return all_stats, raw, produced_ok


def run_block_interleave(args, bench_dir, work, shim, runs, raw, report):
    """One big allocation against the mmap+touch floor; returns (stats,
    whether every cell was made)."""
    produced_ok = True
    size = args.bi_size or ("64M" if args.quick else "4G")
    bi = os.path.join(bench_dir, "block_interleave")
    shim_env = dict(base_env(), LD_PRELOAD=shim)
    bi_configs = [
        ("floor: mmap + touch", [bi, "mode=touch"], base_env()),
        ("floor: mmap + MADV_POPULATE_WRITE", [bi, "mode=populate"], base_env()),
        ("glibc malloc + touch", [bi, "mode=malloc"], base_env()),
        ("amlshim block-interleave:2M malloc + touch", [bi, "mode=malloc"],
         dict(shim_env, AMLSHIM_POLICY="block-interleave:2M")),
        ("amlshim interleave malloc + touch", [bi, "mode=malloc"], dict(shim_env, AMLSHIM_POLICY="interleave")),
        ("libaml block area (2M) + touch", [bi, "mode=area"], base_env()),
        ("libaml weighted area 3:1 (user space) + touch", [bi, "mode=weighted", "user=1"], base_env()),
        ("libaml weighted area 3:1 (kernel if it can) + touch", [bi, "mode=weighted"], base_env()),
    ]
    bi_results = {c[0]: [] for c in bi_configs}
    for r in range(runs):
        for name, argv, env in bi_configs:
            bi_results[name].append(measure(argv + ["size=" + size], env, work, False, args.timeout))
        log("  block-interleave round %d/%d: %s" % (r + 1, runs, ", ".join(
            "%s %s" % (n.split()[0], rs[-1].error or fmt_time(rs[-1].time_s)) for n, rs in bi_results.items())))
    floor = summarize(bi_results["floor: mmap + touch"]).get("median")
    rows, bi_stats = [], {}
    for name, rs in bi_results.items():
        s = summarize(rs)
        bi_stats[name] = s
        if "error" in s:
            produced_ok = False
            rows.append([name, s["error"], "-", "-", "-", "-", "-"])
            continue
        vmas = [int(x.extra.get("vmas", -1)) for x in rs]
        alloc = statistics.median(float(x.extra.get("alloc_s", 0)) for x in rs)
        s["vmas"] = max(vmas)
        rows.append([name, fmt_time(s["median"]), "%s-%s" % (fmt_time(s["min"]), fmt_time(s["max"])),
                     fmt_ratio(s["median"] / floor if floor else None), fmt_time(alloc),
                     "%d" % max(vmas), fmt_mib(s["rss_kib"])])
    raw["block-interleave"] = {n: [vars(x) for x in rs] for n, rs in bi_results.items()}
    report.emit("## block-interleave %s" % size)
    report.emit()
    report.emit("One allocation of %s, one byte written in every page; time = allocation + writes, "
                "measured inside the workload; new VMAs counted in /proc/self/maps." % size)
    report.emit()
    report.emit(markdown_table(["configuration", "median", "min-max", "x floor", "allocation alone",
                                "new VMAs", "peak RSS MiB"], rows))
    report.emit()
    return bi_stats, produced_ok


def run_callgrind(bench_dir, work, all_configs, only, report):
    """Instructions per operation (start-up excluded), and whole programs
    (start-up included); only's workloads when it names any."""
    configs = [c for c in all_configs if c[3] is None and c[0] in ("glibc", "jemalloc", "mimalloc", "tcmalloc",
                                                                   "amlshim", "amlshim-il", JOB_CONFIG,
                                                                   SITES_CONFIG)]
    named = only - set(SECTIONS)
    chosen = [wl for wl in workloads(bench_dir) if wl.callgrind and (not named or wl.name in named)]
    entries = [(wl.name + " (per op)", wl) for wl in chosen if wl.callgrind[1]]
    if not named or "start-true" in named:
        entries.append(("/bin/true (whole run)", None))
    entries += [(wl.name + " (whole run, smaller)", wl) for wl in chosen if not wl.callgrind[1]]
    columns, cg = [], {}
    for label, wl in entries:
        argv, zero_argv = wl.callgrind if wl else (["/bin/true"], None)
        counts = {}
        for config in workload_configurations(wl, configs) if wl else configs:
            if config[0] not in columns:
                columns.append(config[0])
            env = env_for(config)
            full, full_out = callgrind_count(argv, env, work, children=zero_argv is None)
            if zero_argv is None:
                counts[config[0]] = full
                continue
            zero, _ = callgrind_count(zero_argv, env, work)
            fields = parse_bench_line(full_out) or {}
            ops = int(fields.get("ops", 0) or 0)
            counts[config[0]] = (full - zero) / ops if full and zero and ops else None
        log("  callgrind %s: %s" % (label, counts))
        cg[label] = counts
    ratios = [(n, b) for n in ("amlshim", "amlshim-il") for b in ("glibc", "jemalloc")]
    ratios += [(n, judged_against(n)) for n in columns if judged_against(n)]
    rows = []
    for label, counts in cg.items():
        row = [label] + ["-" if counts.get(n) is None else "%.0f" % counts[n] for n in columns]
        row += [fmt_ratio(counts[n] / counts[b] if counts.get(n) and counts.get(b) else None) for n, b in ratios]
        rows.append(row)
    report.emit("## Instructions (callgrind)")
    report.emit()
    report.emit("valgrind --tool=callgrind, smaller sizes. \"per op\": (instructions of the run - instructions "
                "of the same program doing no operations) / operations, so start-up and set-up cancel out "
                "(thread-rounds' operations carry its threads' start and exit). "
                "\"whole run\": every instruction of the program and the programs it runs. Repeatable to the "
                "instruction, unlike times on a shared VM; blind to cache misses, false sharing, page faults "
                "and waiting.")
    report.emit()
    report.emit(markdown_table(["workload"] + columns + ["%s x %s" % (n, "unplaced" if unplaced(n) else b)
                                                         for n, b in ratios], rows))
    report.emit()
    return cg


def report_targets(targets, info, runs, report):
    report.emit("## Targets")
    report.emit()
    if runs < MIN_RUNS:
        report.emit("Judged on %d run(s) per cell: the targets ask for medians of at least %d." % (runs, MIN_RUNS))
        report.emit()
    report.emit("Verdicts use ratios of median wall times, as the targets are written. \"paired\" is the "
                "median over rounds of the ratio of two runs made back to back (less sensitive to drift); "
                "\"CPU\" is the ratio of median CPU times (user + system), which waiting for a CPU on a "
                "loaded machine does not inflate. A MISS is followed by its explanation "
                "(scripts/bench/explained.py).")
    report.emit()
    for t in targets:
        report.emit("- %s  %s (%s)" % ("PASS" if t.passed else "MISS", t.what, t.detail))
        if not t.passed:
            report.emit("  - explained: %s" % (t.explained or "not yet"))
    for line in info:
        report.emit("- INFO  %s" % line)
    report.emit()
    missed = [t for t in targets if not t.passed]
    report.emit("%d of %d targets met; %d of the %d misses explained." % (
        len(targets) - len(missed), len(targets), sum(bool(t.explained) for t in missed), len(missed)))
    report.emit()


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="the build directory (workloads in BUILD/bench)")
    ap.add_argument("--runs", type=int, default=MIN_RUNS)
    ap.add_argument("--quick", action="store_true", help="1 run, tiny sizes, no judging, no callgrind")
    ap.add_argument("--only", default="", help="comma-separated workloads (also: %s; callgrind: of the "
                    "workloads named, if any)" % ", ".join(SECTIONS))
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--bi-size", default=None, help="block-interleave size (default 4G, quick 64M)")
    ap.add_argument("--markdown", default=None, help="also write the report here (markdown)")
    ap.add_argument("--json", default=None, help="write every run here (json)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per run")
    ap.add_argument("--shim", default=None, help="the libamlshim.so to measure (default BUILD/lib/libamlshim.so)")
    ap.add_argument("--baseline", default=None,
                    help="another libamlshim.so, measured in the same rounds (configurations base, base-il)")
    ap.add_argument("--configs", default="",
                    help="comma-separated configurations to run (default all; glibc is kept for the ratios)")
    return ap.parse_args()


def report_header(args, shim, runs, missing, report):
    report.emit("# amlshim benchmark%s" % (" (quick: sizes too small to judge)" if args.quick else ""))
    report.emit()
    report.emit("- machine: %s" % machine_description())
    report.emit("- allocators: %s; amlshim: %s (tree %s)" % (package_versions(), shim, tree_version()))
    report.emit("- %d run(s) per cell, allocators alternating within each round; load average at start %s"
                % (runs, loadavg()))
    for name, why in missing.items():
        report.emit("- %s: %s" % (name, why))
    report.emit()


def write_files(args, report, results):
    """--markdown: the report as printed; --json: every run and verdict."""
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(report.lines) + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)


def select_configurations(args, shim):
    """Every allocator, the baseline shim with --baseline, only --configs."""
    configs = configurations(shim)
    if args.baseline:
        configs += baseline_configurations(os.path.abspath(args.baseline))
    if args.configs:
        wanted = set(args.configs.split(",")) | {"glibc"}
        configs = [c for c in configs if c[0] in wanted]
    return configs


def main():
    args = parse_args()
    build = os.path.abspath(args.build)
    bench_dir = os.path.join(build, "bench")
    shim = os.path.abspath(args.shim) if args.shim else os.path.join(build, "lib", "libamlshim.so")
    runs = 1 if args.quick else max(1, args.runs)
    only = set(filter(None, args.only.split(",")))
    configs = select_configurations(args, shim)
    missing = {c[0]: c[3] for c in configs if c[3] is not None}
    if "amlshim" in missing:
        log("bench: %s" % missing["amlshim"])
        return 1
    work = tempfile.mkdtemp(prefix="amlshim-bench-")
    for name, functions in (("gen.c", 40 if args.quick else 250), ("gen-small.c", 24)):
        subprocess.run([sys.executable, os.path.join(WORKLOAD_SRC, "gen_c.py"),
                        os.path.join(bench_dir, name), str(functions)], check=True)

    orphans = unjudged([wl.name for wl in workloads(bench_dir)])
    if orphans:  # judged by nothing: the table in targets.py lacks a row
        log("bench: no target judges %s (targets.py)" % ", ".join(orphans))
        return 1
    report = Report()
    started = time.time()
    report_header(args, shim, runs, missing, report)

    all_stats, raw, produced_ok = run_workloads(args, bench_dir, work, configs, runs, only, report)
    bi_stats = {}
    if not only or "block-interleave" in only:
        bi_stats, bi_ok = run_block_interleave(args, bench_dir, work, shim, runs, raw, report)
        produced_ok = produced_ok and bi_ok
    footprint = {}
    if not only or "before-main" in only:
        footprint, fp_ok = run_before_main(args, bench_dir, work, configs, runs, report)
        produced_ok = produced_ok and fp_ok
    cg = {}
    if not args.quick and not args.no_callgrind and (not only or "callgrind" in only):
        cg = run_callgrind(bench_dir, work, configs, only, report)
    targets = []
    if not args.quick:
        targets = evaluate(all_stats, bi_stats)
        info = before_main_lines(footprint) + site_cost_lines(all_stats, cg, workloads(bench_dir))
        report_targets(targets, info, runs, report)
    report.emit("Finished in %.0f s; load average at the end %s." % (time.time() - started, loadavg()))

    write_files(args, report, {"stats": all_stats, "block_interleave": bi_stats, "callgrind": cg,
                               "before_main": footprint, "runs": raw,
                               "targets": [vars(t) for t in targets]})
    if not produced_ok:
        log("bench: some cells could not be produced (see the tables)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
