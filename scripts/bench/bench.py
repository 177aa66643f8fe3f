#!/usr/bin/env python3
"""amlshim benchmark runner (python3 standard library only).

Runs every workload under plain glibc, Debian's jemalloc, mimalloc,
tcmalloc and memkind's memtier (LD_PRELOAD), and libamlshim.so with the
default policy and with interleave. Runs alternate (round 1: A B C ...,
round 2: A B C ...) so the machine's drift hits all alike. For each
workload it prints the median time, min-max, peak RSS and the ratios to
glibc and to jemalloc; then the block-interleave 4 GiB table against the
mmap+touch floor, instruction counts from callgrind (a noise-free view of
the small-object workloads), and PASS/MISS per target. It never fails on
a MISS; it fails (exit 1) only when a cell could not be produced.

    bench.py --build build                 # the full benchmark (make bench)
    bench.py --build build --quick         # one tiny run of everything (make check)
    bench.py --build build --only larson,churn --runs 9 --no-callgrind
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOAD_SRC = os.path.join(HERE, "workloads")
MEMTIER_TIERS = "KIND:DRAM,RATIO:1;POLICY:STATIC_RATIO"

# name, Debian package, file name of the library (found with dpkg -L), extra env
PEERS = [
    ("jemalloc", "libjemalloc2", r"libjemalloc\.so\.2", {}),
    ("mimalloc", "libmimalloc2.0", r"libmimalloc\.so\.2", {}),
    ("tcmalloc", "libtcmalloc-minimal4", r"libtcmalloc_minimal\.so\.4", {}),
    ("memtier", "libmemkind0", r"libmemtier\.so\.0", {"MEMKIND_MEM_TIERS": MEMTIER_TIERS}),
]
SMALL = ["larson", "xthread", "cache-scratch", "churn", "realloc"]
LARGE = ["large-1M", "large-16M", "large-256M"]
STARTUP = ["start-true", "start-python"]
REAL = ["python-objects", "gcc-compile"]


class Workload:
    def __init__(self, name, what, argv, quick, callgrind=None, outside=False):
        self.name, self.what, self.argv, self.quick = name, what, argv, quick
        # (argv, the same doing no operations) for instructions per operation;
        # (argv, None) for a whole program's instructions; or None
        self.callgrind = callgrind
        self.outside = outside      # time the whole process, not the workload's own clock


def system_program(name):
    """The distribution's program (/usr/bin/NAME), not a wrapper earlier in
    PATH (pyenv's python3 is a bash script that runs more programs)."""
    path = os.path.join("/usr/bin", name)
    return path if os.access(path, os.X_OK) else (shutil.which(name) or name)


def workloads(bench_dir):
    def w(binary):
        return os.path.join(bench_dir, binary)
    python = system_program("python3")
    gcc = system_program("gcc")
    py = os.path.join(WORKLOAD_SRC, "objects.py")
    gen_c = os.path.join(bench_dir, "gen.c")
    gen_o = os.path.join(bench_dir, "gen.o")
    return [
        Workload("larson", "server simulation: 2 threads x 3M replacements of random 8-1000 B objects "
                 "in a shared pool of 20k, fresh threads every 1/20 of the run",
                 [w("larson")], [w("larson"), "ops=30000", "slots=2000"],
                 ([w("larson"), "ops=60000"], [w("larson"), "ops=0"])),
        Workload("xthread", "producer-consumer: 1 producer allocates 8M 16-256 B objects, "
                 "1 consumer frees them (batches of 256)",
                 [w("xthread")], [w("xthread"), "objects=50000"],
                 ([w("xthread"), "objects=200000"], [w("xthread"), "objects=0"])),
        Workload("cache-scratch", "false sharing: 2 threads, 1000 x (malloc 8 B, write it 20000 times, free), "
                 "first objects allocated side by side by the main thread",
                 [w("cache_scratch")], [w("cache_scratch"), "iterations=20", "repetitions=100"],
                 ([w("cache_scratch"), "iterations=1000", "repetitions=10"],
                  [w("cache_scratch"), "iterations=0"])),
        Workload("churn", "single-thread churn: 10M random replacements in a 100k working set "
                 "(60% 16-64 B, 30% -256 B, 9% -1 KiB, 1% -4 KiB) + LIFO bursts",
                 [w("churn"), "ops=10000000"], [w("churn"), "ops=50000", "slots=5000"],
                 ([w("churn"), "ops=300000"], [w("churn"), "ops=0"])),
        Workload("realloc", "realloc growth: 8 buffers appended to 4 MiB in 1-1024 B steps side by side, "
                 "1 buffer doubled to 64 MiB, filled as they grow; 10 rounds",
                 [w("realloc_grow")], [w("realloc_grow"), "rounds=1", "target=256K", "vector=4M"],
                 ([w("realloc_grow"), "rounds=1", "target=1M", "vector=4M"],
                  [w("realloc_grow"), "rounds=0"])),
        Workload("large-1M", "malloc 1 MiB, write every page, free; 20000 times",
                 [w("large_loop"), "size=1M", "iterations=20000"],
                 [w("large_loop"), "size=1M", "iterations=20"]),
        Workload("large-16M", "malloc 16 MiB, write every page, free; 200 times",
                 [w("large_loop"), "size=16M", "iterations=200"],
                 [w("large_loop"), "size=16M", "iterations=4"]),
        Workload("large-256M", "malloc 256 MiB, write every page, free; 8 times",
                 [w("large_loop"), "size=256M", "iterations=8"],
                 [w("large_loop"), "size=256M", "iterations=1"]),
        Workload("start-true", "start-up: /bin/true, 200 runs (posix_spawn + wait); time per run",
                 [w("spawn"), "count=200", "/bin/true"], [w("spawn"), "count=5", "/bin/true"]),
        Workload("start-python", "start-up: python3 -c pass, 20 runs; time per run",
                 [w("spawn"), "count=20", python, "-c", "pass"],
                 [w("spawn"), "count=2", python, "-c", "pass"]),
        Workload("python-objects", "real program: python3 builds 400k records (~2M objects), sorts them "
                 "three ways, groups them; whole process (spawn + exit) timed",
                 [w("spawn"), "count=1", python, py, "400000"],
                 [w("spawn"), "count=1", python, py, "5000"],
                 ([python, py, "20000"], None)),
        Workload("gcc-compile", "real program: gcc -O2 -c of a generated 4700-line C file "
                 "(gcc, cc1, as all under the allocator); whole process timed",
                 [w("spawn"), "count=1", gcc, "-O2", "-c", gen_c, "-o", gen_o],
                 [w("spawn"), "count=1", gcc, "-O0", "-c", gen_c, "-o", gen_o],
                 ([gcc, "-O2", "-c", os.path.join(bench_dir, "gen-small.c"), "-o", gen_o], None)),
    ]


# ---------------------------------------------------------------------------
# Configurations

def dpkg_library(package, pattern):
    try:
        files = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True).stdout.split()
    except OSError:
        return None
    for path in files:
        if re.fullmatch(pattern, os.path.basename(path)) and os.path.exists(path):
            return path
    return None


def base_env():
    env = {k: v for k, v in os.environ.items()
           if k != "LD_PRELOAD" and not k.startswith(("AMLSHIM_", "MEMKIND_", "MALLOC_", "GLIBC_TUNABLES"))}
    env["LC_ALL"] = "C"
    return env


def configurations(shim):
    """(name, LD_PRELOAD or None, extra env, why missing or None)"""
    configs = [("glibc", None, {}, None)]
    for name, package, pattern, extra in PEERS:
        path = dpkg_library(package, pattern)
        configs.append((name, path, extra, None if path else
                        "%s not installed (scripts/install-deps.sh --bench)" % package))
    shim_missing = None if os.path.exists(shim) else "%s not built" % shim
    configs.append(("amlshim", shim, {}, shim_missing))
    configs.append(("amlshim-il", shim, {"AMLSHIM_POLICY": "interleave"}, shim_missing))
    return configs


def env_for(config):
    name, preload, extra, _ = config
    env = base_env()
    if preload:
        env["LD_PRELOAD"] = preload
    env.update(extra)
    return env


# ---------------------------------------------------------------------------
# Running

class Result:
    def __init__(self, time_s=None, rss_kib=None, extra=None, error=None, cpu_s=None):
        self.time_s, self.rss_kib, self.extra, self.error = time_s, rss_kib, extra or {}, error
        self.cpu_s = cpu_s  # user + system, the process and the children it waited for


def run_once(argv, env, cwd, timeout):
    """Runs argv; returns (wall seconds, exit status, rusage, stdout, stderr)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err, start_new_session=True)
        except OSError as e:
            return None, None, None, "", str(e)
        timed_out = []

        def kill():
            timed_out.append(True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        if timed_out:
            stderr += "\n(timed out after %ds)" % timeout
            return wall, "timeout", usage, stdout, stderr
        return wall, proc.returncode, usage, stdout, stderr


def parse_bench_line(stdout):
    """The last BENCH line (a program run by spawn may print its own first)."""
    fields = None
    for line in stdout.splitlines():
        if line.startswith("BENCH "):
            fields = dict(item.split("=", 1) for item in line.split()[1:] if "=" in item)
    return fields


def measure(argv, env, cwd, outside, timeout):
    wall, status, usage, stdout, stderr = run_once(argv, env, cwd, timeout)
    rss = usage.ru_maxrss if usage else None
    # wait4 counts the children the workload waited for (spawn's runs) too.
    cpu = usage.ru_utime + usage.ru_stime if usage else None
    if status != 0:
        if status == "timeout":
            error = "timeout"
        elif status is None:
            error = "cannot run"
        elif status < 0:
            error = "crash (%s)" % signal.Signals(-status).name
        else:
            error = "fail (exit %d)" % status
        tail = " | ".join(stderr.strip().splitlines()[-3:])
        return Result(rss_kib=rss, error=error, extra={"stderr": tail})
    fields = parse_bench_line(stdout)
    if fields is None and not outside:
        return Result(rss_kib=rss, error="no result", extra={"stderr": stderr.strip()[-200:]})
    time_s = wall if outside else float(fields["time_s"])
    extra = {k: v for k, v in (fields or {}).items() if k != "time_s"}
    # The workload's own figure: wait4's would include the pages of this
    # runner, which the child shares until it execs.
    if int(extra.get("rss_kib", -1)) > 0:
        rss = int(extra["rss_kib"])
    if "cpu_s" in extra:  # spawn: one run's CPU time, as its time is one run's
        cpu = float(extra["cpu_s"])
    return Result(time_s, rss, extra, cpu_s=cpu)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Statistics and tables

def summarize(results):
    times = [r.time_s for r in results if r.time_s is not None]
    errors = [r.error for r in results if r.error]
    if errors or not times:
        return {"error": errors[0] if errors else "no runs", "runs": len(results)}
    rss = [r.rss_kib for r in results if r.rss_kib]
    cpu = [r.cpu_s for r in results if r.cpu_s is not None]
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "cpu": statistics.median(cpu) if cpu else None,
            "rss_kib": max(rss) if rss else None, "runs": len(times), "times": times}


def paired_ratio(a_results, b_results):
    """Median over rounds of a/b (each round runs a and b back to back)."""
    ratios = [a.time_s / b.time_s for a, b in zip(a_results, b_results)
              if a.time_s and b.time_s]
    return statistics.median(ratios) if ratios else None


def fmt_time(seconds):
    if seconds is None:
        return "-"
    if seconds >= 10:
        return "%.1f s" % seconds
    if seconds >= 0.1:
        return "%.3f s" % seconds
    if seconds >= 1e-3:
        return "%.2f ms" % (seconds * 1e3)
    return "%.1f us" % (seconds * 1e6)


def fmt_ratio(value):
    return "-" if value is None else "%.2f" % value


def fmt_mib(kib):
    return "-" if kib is None else "%.1f" % (kib / 1024.0)


def markdown_table(header, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep] + [line(r) for r in rows])


def workload_table(stats, names):
    base_g, base_j = stats.get("glibc", {}), stats.get("jemalloc", {})
    header = ["allocator", "median", "min-max", "x glibc", "x jemalloc", "CPU median",
              "CPU x glibc", "CPU x jemalloc", "peak RSS MiB", "RSS x glibc", "RSS x jemalloc"]
    rows = []
    for name in names:
        s = stats.get(name, {})
        if "error" in s:
            rows.append([name, s["error"]] + ["-"] * (len(header) - 2))
            continue
        def ratio(base, key):
            if base and "error" not in base and base.get(key) and s.get(key):
                return s[key] / base[key]
            return None
        rows.append([name, fmt_time(s["median"]), "%s-%s" % (fmt_time(s["min"]), fmt_time(s["max"])),
                     fmt_ratio(ratio(base_g, "median")), fmt_ratio(ratio(base_j, "median")),
                     fmt_time(s["cpu"]), fmt_ratio(ratio(base_g, "cpu")), fmt_ratio(ratio(base_j, "cpu")),
                     fmt_mib(s["rss_kib"]), fmt_ratio(ratio(base_g, "rss_kib")),
                     fmt_ratio(ratio(base_j, "rss_kib"))])
    return markdown_table(header, rows)


# ---------------------------------------------------------------------------
# Callgrind: instruction counts, repeatable run to run

def callgrind_count(argv, env, cwd, children=False):
    """Instructions executed by argv (and, with children, by every program
    it runs: one "Collected" line each)."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    if children:
        cmd.append("--trace-children=yes")
    _, status, _, stdout, stderr = run_once(cmd + argv, env, cwd, 900)
    counts = re.findall(r"Collected\s*:\s*(\d+)", stderr)
    if status != 0 or not counts:
        return None, stdout
    return sum(int(c) for c in counts), stdout


# ---------------------------------------------------------------------------

def machine_description():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_gib = int(f.readline().split()[1]) / 1048576.0
    except OSError:
        mem_gib = 0
    hyper = ""
    try:
        with open("/proc/cpuinfo") as f:
            if " hypervisor" in f.read():
                hyper = ", virtual machine"
    except OSError:
        pass
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            thp = re.search(r"\[(\w+)\]", f.read()).group(1)
    except (OSError, AttributeError):
        thp = "?"
    glibc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else "?"
    return "%s, %d CPUs%s, %.0f GiB RAM, Linux %s, %s, THP %s" % (
        model, os.cpu_count() or 0, hyper, mem_gib, platform.release(), glibc, thp)


def package_versions():
    out = []
    for pkg in ["libjemalloc2", "libmimalloc2.0", "libtcmalloc-minimal4", "libmemkind0"]:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
        out.append("%s %s" % (pkg, r.stdout.strip() if r.returncode == 0 else "(not installed)"))
    return ", ".join(out)


def tree_version():
    """The commit of the tree the benchmark came from, and whether it had changes."""
    repo = os.path.dirname(os.path.dirname(HERE))
    try:
        head = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"
    return (head or "?") + (" with uncommitted changes" if dirty else "")


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


class Target:
    def __init__(self, what, passed, detail):
        self.what, self.passed, self.detail = what, passed, detail


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="the build directory (workloads in BUILD/bench)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="1 run, tiny sizes, no judging, no callgrind")
    ap.add_argument("--only", default="", help="comma-separated workloads (also: block-interleave, callgrind)")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--bi-size", default=None, help="block-interleave size (default 4G, quick 64M)")
    ap.add_argument("--markdown", default=None, help="also write the report here (markdown)")
    ap.add_argument("--json", default=None, help="write every run here (json)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per run")
    ap.add_argument("--shim", default=None, help="the libamlshim.so to measure (default BUILD/lib/libamlshim.so)")
    args = ap.parse_args()

    build = os.path.abspath(args.build)
    bench_dir = os.path.join(build, "bench")
    shim = os.path.abspath(args.shim) if args.shim else os.path.join(build, "lib", "libamlshim.so")
    runs = 1 if args.quick else max(1, args.runs)
    only = set(filter(None, args.only.split(",")))
    configs = configurations(shim)
    names = [c[0] for c in configs]
    available = [c for c in configs if c[3] is None]
    missing = {c[0]: c[3] for c in configs if c[3] is not None}
    if "amlshim" in missing:
        log("bench: %s" % missing["amlshim"])
        return 1
    work = tempfile.mkdtemp(prefix="amlshim-bench-")
    for name, functions in (("gen.c", 40 if args.quick else 250), ("gen-small.c", 24)):
        subprocess.run([sys.executable, os.path.join(WORKLOAD_SRC, "gen_c.py"),
                        os.path.join(bench_dir, name), str(functions)], check=True)

    out_lines = []

    def emit(text=""):
        print(text, flush=True)
        out_lines.append(text)

    started = time.time()
    emit("# amlshim benchmark%s" % (" (quick: sizes too small to judge)" if args.quick else ""))
    emit()
    emit("- machine: %s" % machine_description())
    emit("- allocators: %s; amlshim: %s (tree %s)" % (package_versions(), shim, tree_version()))
    emit("- %d run(s) per cell, allocators alternating within each round; load average at start %s"
         % (runs, loadavg()))
    for name, why in missing.items():
        emit("- %s: %s" % (name, why))
    emit()

    raw = {}
    all_stats = {}
    produced_ok = True
    for wl in workloads(bench_dir):
        if only and wl.name not in only:
            continue
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
        stats = {name: summarize(rs) for name, rs in results.items()}
        for name, why in missing.items():
            stats[name] = {"error": "not installed"}
        for name in ("amlshim", "amlshim-il"):
            for base in ("glibc", "jemalloc"):
                if base in results and name in results:
                    stats[name]["paired_" + base] = paired_ratio(results[name], results[base])
        all_stats[wl.name] = stats
        raw[wl.name] = {n: [vars(x) for x in rs] for n, rs in results.items()}
        for name, rs in results.items():
            if any(x.error for x in rs) and name != "memtier":
                produced_ok = False
            if name == "memtier" and any(x.error and not x.error.startswith("crash") for x in rs):
                produced_ok = False
        emit("## %s" % wl.name)
        emit()
        if wl.outside:
            how = "Whole process timed by the runner."
        elif os.path.basename(wl.argv[0]) == "spawn":
            how = "Time and CPU time of one run, measured by spawn; peak RSS = the largest run's."
        else:
            how = "Time from the workload's own monotonic clock; peak RSS = VmHWM."
        emit("%s. %s" % (wl.what, how))
        emit()
        emit(workload_table(stats, names))
        emit()

    # Summary matrix: every workload, time relative to glibc.
    if all_stats:
        emit("## Summary: median time relative to glibc (lower is faster)")
        emit()
        rows = []
        for wl_name, stats in all_stats.items():
            g = stats.get("glibc", {}).get("median")
            row = [wl_name]
            for name in names:
                s = stats.get(name, {})
                row.append(s["error"] if "error" in s else fmt_ratio(s["median"] / g if g else None))
            rows.append(row)
        emit(markdown_table(["workload"] + names, rows))
        emit()

    # Block-interleave: one big allocation against the mmap+touch floor.
    bi_stats = {}
    if not only or "block-interleave" in only:
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
        ]
        bi_results = {c[0]: [] for c in bi_configs}
        for r in range(runs):
            for name, argv, env in bi_configs:
                bi_results[name].append(measure(argv + ["size=" + size], env, work, False, args.timeout))
            log("  block-interleave round %d/%d: %s" % (r + 1, runs, ", ".join(
                "%s %s" % (n.split()[0], rs[-1].error or fmt_time(rs[-1].time_s)) for n, rs in bi_results.items())))
        floor = summarize(bi_results["floor: mmap + touch"]).get("median")
        rows = []
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
        emit("## block-interleave %s" % size)
        emit()
        emit("One allocation of %s, one byte written in every page; time = allocation + writes, "
             "measured inside the workload; new VMAs counted in /proc/self/maps." % size)
        emit()
        emit(markdown_table(["configuration", "median", "min-max", "x floor", "allocation alone",
                             "new VMAs", "peak RSS MiB"], rows))
        emit()

    # Callgrind: instructions per operation (start-up excluded), and whole
    # programs (start-up included).
    cg = {}
    if not args.quick and not args.no_callgrind and (not only or "callgrind" in only):
        cg_configs = [c for c in available if c[0] in ("glibc", "jemalloc", "mimalloc", "tcmalloc",
                                                        "amlshim", "amlshim-il")]
        entries = [(wl.name + " (per op)", wl.callgrind) for wl in workloads(bench_dir)
                   if wl.callgrind and wl.callgrind[1]]
        entries.append(("/bin/true (whole run)", (["/bin/true"], None)))
        entries += [(wl.name + " (whole run, smaller)", wl.callgrind) for wl in workloads(bench_dir)
                     if wl.callgrind and not wl.callgrind[1]]
        rows = []
        for label, (argv, zero_argv) in entries:
            counts = {}
            for config in cg_configs:
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
            g, j = counts.get("glibc"), counts.get("jemalloc")
            row = [label]
            for config in cg_configs:
                v = counts[config[0]]
                row.append("-" if v is None else "%.0f" % v)
            for name in ("amlshim", "amlshim-il"):
                v = counts.get(name)
                row.append(fmt_ratio(v / g if v and g else None))
                row.append(fmt_ratio(v / j if v and j else None))
            rows.append(row)
        emit("## Instructions (callgrind)")
        emit()
        emit("valgrind --tool=callgrind, smaller sizes. \"per op\": (instructions of the run - instructions "
             "of the same program doing no operations) / operations, so start-up and set-up cancel out. "
             "\"whole run\": every instruction of the program and the programs it runs. Repeatable to the "
             "instruction, unlike times on a shared VM; blind to cache misses, false sharing, page faults "
             "and waiting.")
        emit()
        emit(markdown_table(["workload"] + [c[0] for c in cg_configs] +
                            ["amlshim x glibc", "amlshim x jemalloc", "amlshim-il x glibc", "amlshim-il x jemalloc"],
                            rows))
        emit()

    # Targets.
    targets = []
    if not args.quick:
        def med(wl, name, key="median"):
            return all_stats.get(wl, {}).get(name, {}).get(key)

        def detail(wl, name, base, limit):
            """Wall ratio (the verdict), the paired ratio and the CPU-time ratio."""
            a, b = med(wl, name), med(wl, base)
            text = "%.2fx" % (a / b)
            p = all_stats[wl][name].get("paired_" + base)
            if p is not None:
                text += ", paired %.2f" % p
            ca, cb = med(wl, name, "cpu"), med(wl, base, "cpu")
            if ca and cb:
                text += "; CPU %.2fx%s" % (ca / cb, "" if ca <= limit * cb else " (over by CPU)")
            return a <= limit * b, text

        def time_target(wl, name, base, limit, what):
            if None in (med(wl, name), med(wl, base)):
                return
            ok, text = detail(wl, name, base, limit)
            targets.append(Target("%s: %s %s" % (wl, name, what), ok, text))

        for wl in SMALL:
            if wl not in all_stats:
                continue
            for name in ("amlshim", "amlshim-il"):
                time_target(wl, name, "jemalloc", 1.10, "<= 1.10x jemalloc")
                time_target(wl, name, "glibc", 1.0, "<= glibc")
        for wl in LARGE:
            if wl not in all_stats:
                continue
            for name in ("amlshim", "amlshim-il"):
                time_target(wl, name, "glibc", 1.0, "<= glibc")
                time_target(wl, name, "jemalloc", 1.10, "<= 1.10x jemalloc")
                ra, rg = med(wl, name, "rss_kib"), med(wl, "glibc", "rss_kib")
                if ra and rg:
                    targets.append(Target("%s: %s peak RSS <= 1.25x glibc" % (wl, name), ra <= 1.25 * rg,
                                          "%.2fx (%s vs %s MiB)" % (ra / rg, fmt_mib(ra), fmt_mib(rg))))
        bi_name = "amlshim block-interleave:2M malloc + touch"
        if bi_name in bi_stats and "median" in bi_stats[bi_name]:
            floor = bi_stats["floor: mmap + touch"]["median"]
            s = bi_stats[bi_name]
            targets.append(Target("block-interleave: amlshim <= 1.2x mmap+touch floor", s["median"] <= 1.2 * floor,
                                  "%.2fx" % (s["median"] / floor)))
            targets.append(Target("block-interleave: amlshim <= 8 new VMAs", s["vmas"] <= 8, "%d" % s["vmas"]))
        if "start-true" in all_stats:
            g = med("start-true", "glibc")
            for name in ("amlshim", "amlshim-il"):
                a = med("start-true", name)
                if a is not None and g is not None:
                    ca, cg_ = med("start-true", name, "cpu"), med("start-true", "glibc", "cpu")
                    cpu = "; CPU +%.3f ms" % ((ca - cg_) * 1e3) if ca and cg_ else ""
                    targets.append(Target("start-up /bin/true: %s adds < 1 ms" % name, a - g < 1e-3,
                                          "+%.3f ms (%.3f vs %.3f ms)%s" % ((a - g) * 1e3, a * 1e3, g * 1e3, cpu)))
        for wl in REAL:
            if wl not in all_stats:
                continue
            for name in ("amlshim", "amlshim-il"):
                time_target(wl, name, "glibc", 1.05, "<= 1.05x glibc")
        emit("## Targets")
        emit()
        emit("Verdicts use ratios of median wall times, as the targets are written. \"paired\" is the "
             "median over rounds of the ratio of two runs made back to back (less sensitive to drift); "
             "\"CPU\" is the ratio of median CPU times (user + system), which waiting for a CPU on a "
             "loaded machine does not inflate.")
        emit()
        for t in targets:
            emit("- %s  %s (%s)" % ("PASS" if t.passed else "MISS", t.what, t.detail))
        emit()
        emit("%d of %d targets met." % (sum(t.passed for t in targets), len(targets)))
        emit()
    emit("Finished in %.0f s; load average at the end %s." % (time.time() - started, loadavg()))

    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(out_lines) + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"stats": all_stats, "block_interleave": bi_stats, "callgrind": cg, "runs": raw,
                       "targets": [vars(t) for t in targets]}, f, indent=1, default=str)
    if not produced_ok:
        log("bench: some cells could not be produced (see the tables)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
