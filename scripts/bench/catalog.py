"""What the benchmark runs: the workloads (with their full and quick
command lines) and the allocator configurations they run under."""
import os
import re
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOAD_SRC = os.path.join(HERE, "workloads")
MEMTIER_TIERS = "KIND:DRAM,RATIO:1;POLICY:STATIC_RATIO"
SMALL_RULE = "0-64K=local"  # the placed workloads' rule

# name, Debian package, file name of the library (found with dpkg -L), extra env
PEERS = [
    ("jemalloc", "libjemalloc2", r"libjemalloc\.so\.2", {}),
    ("mimalloc", "libmimalloc2.0", r"libmimalloc\.so\.2", {}),
    ("tcmalloc", "libtcmalloc-minimal4", r"libtcmalloc_minimal\.so\.4", {}),
    ("memtier", "libmemkind0", r"libmemtier\.so\.0", {"MEMKIND_MEM_TIERS": MEMTIER_TIERS}),
]


# The configurations that preload a build of the shim (this one, --baseline's).
SHIM_CONFIGS = ("amlshim", "amlshim-il", "base", "base-il")
# One rank of an 8-rank job, 4 ranks per node (the launchers' variables
# set, placement as "amlshim"): the job detection is start-up work only, so
# this runs the small workloads and /bin/true, judged against "amlshim".
JOB_CONFIG = "amlshim-job"
JOB_ENV = {"OMPI_COMM_WORLD_RANK": "5", "OMPI_COMM_WORLD_SIZE": "8", "OMPI_COMM_WORLD_LOCAL_RANK": "1",
           "OMPI_COMM_WORLD_LOCAL_SIZE": "4", "SLURM_PROCID": "5", "SLURM_LOCALID": "1",
           "SLURM_NODEID": "1", "SLURM_TASKS_PER_NODE": "4(x2)"}
JOB_WORKLOADS = ("larson", "xthread", "churn", "small-mixed", "start-true")
# Call-site rules (issue 12), placement as "amlshim": two rules no workload
# matches and one that matches large_loop's allocations (bench_malloc is
# inlined into main) with the placement unchanged (`default`). The small
# workloads never capture a stack (below the threshold): they must be
# unchanged; large-1M pays a capture and a match per allocation.
SITES_CONFIG = "amlshim-sites"
SITES_ENV = {"AMLSHIM_SITES": "func=amlshim_bench_no_such_function = bind:0; "
             "no_such_module.so+0x1234>no_such_module.so+0x5678 = interleave; func=main = default"}
SITES_WORKLOADS = ("larson", "xthread", "churn", "small-mixed", "large-1M")
# Profile mode (counters per stack, the soft-dirty sampler thread), the
# profile thrown away: its overhead on the large-block loop.
PROFILE_CONFIG = "amlshim-profile"
PROFILE_ENV = {"AMLSHIM_PROFILE": os.devnull}
PROFILE_WORKLOADS = ("large-1M", "large-16M")
# The configurations judged against "amlshim", and the workloads each runs.
AGAINST_AMLSHIM = {JOB_CONFIG: JOB_WORKLOADS, SITES_CONFIG: SITES_WORKLOADS, PROFILE_CONFIG: PROFILE_WORKLOADS}
PLACED = " placed"  # suffix of a shim configuration run with a workload's small-size rule
THP_CONFIG = "amlshim-il+thp"  # interleave with +thp (huge pages), unjudged: on these only
THP_WORKLOADS = ("large-256M",)
PLACED_PEERS = ("glibc", "jemalloc")  # what else a placed workload runs under, for scale


class Workload:
    def __init__(self, name, what, argv, quick, callgrind=None, outside=False, placed=None):
        self.name, self.what, self.argv, self.quick = name, what, argv, quick
        # (argv, the same doing no operations) for instructions per operation;
        # (argv, None) for a whole program's instructions; or None
        self.callgrind = callgrind
        self.outside = outside      # time the whole process, not the workload's own clock
        # A rule placing small sizes (AMLSHIM_RULES): every shim configuration
        # runs twice, as itself and as "NAME placed" with the rule, in the same
        # rounds; the peers are only PLACED_PEERS.
        self.placed = placed


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
        Workload("small-mixed", "mixed small sizes, one thread: 5M operations (malloc 55%, calloc 10%, "
                 "realloc 15%, posix_memalign 5%, free 15%) on a working set of 20k objects of 8 B - 64 KiB "
                 "(half <= 64 B), random frees + LIFO bursts",
                 [w("small_mixed")], [w("small_mixed"), "ops=20000", "slots=2000"],
                 ([w("small_mixed"), "ops=200000"], [w("small_mixed"), "ops=0"])),
        Workload("placed-small", "placed small objects, one thread: churn's 3M replacements (16 B - 4 KiB) "
                 "with AMLSHIM_RULES='%s' (\"placed\") and without, under the same shim" % SMALL_RULE,
                 [w("churn"), "ops=3000000"], [w("churn"), "ops=20000", "slots=2000"],
                 ([w("churn"), "ops=300000"], [w("churn"), "ops=0"]), placed=SMALL_RULE),
        Workload("placed-larson", "placed small objects, threads: larson (2 threads, fresh ones every 1/20, "
                 "objects freed by other threads) with AMLSHIM_RULES='%s' (\"placed\") and without" % SMALL_RULE,
                 [w("larson")], [w("larson"), "ops=30000", "slots=2000"],
                 ([w("larson"), "ops=60000"], [w("larson"), "ops=0"]), placed=SMALL_RULE),
        Workload("realloc", "realloc growth: 8 buffers appended to 4 MiB in 1-1024 B steps side by side, "
                 "1 buffer doubled to 64 MiB, filled as they grow; 10 rounds",
                 [w("realloc_grow")], [w("realloc_grow"), "rounds=1", "target=256K", "vector=4M"],
                 ([w("realloc_grow"), "rounds=1", "target=1M", "vector=4M"],
                  [w("realloc_grow"), "rounds=0"])),
        Workload("large-vary", "large blocks of varying sizes: 20 live buffers of 5-25 MiB, 400 times one "
                 "replaced by a new one of another size, zero-filled",
                 [w("large_vary")], [w("large_vary"), "live=4", "replacements=8", "min=1M", "max=3M"]),
        Workload("thread-rounds", "thread churn: 1000 rounds of 4 threads created and joined, each replacing "
                 "2000 objects (90% 16-512 B, 9.5% -64 KiB, 0.5% 1-4 MiB) in a shared table of 4096, "
                 "so most frees are of another thread's objects",
                 [w("thread_rounds"), "rounds=1000", "ops=2000"],
                 [w("thread_rounds"), "rounds=4", "ops=500", "slots=256"],
                 ([w("thread_rounds"), "rounds=25", "ops=500"], [w("thread_rounds"), "rounds=0"])),
        Workload("large-1M", "malloc 1 MiB, write every page, free; 20000 times",
                 [w("large_loop"), "size=1M", "iterations=20000"],
                 [w("large_loop"), "size=1M", "iterations=20"],
                 ([w("large_loop"), "size=1M", "iterations=1000"], [w("large_loop"), "size=1M", "iterations=0"])),
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
    configs.append((JOB_CONFIG, shim, JOB_ENV, shim_missing))
    configs.append((THP_CONFIG, shim, {"AMLSHIM_POLICY": "interleave+thp"}, shim_missing))
    configs.append((SITES_CONFIG, shim, SITES_ENV, shim_missing))
    configs.append((PROFILE_CONFIG, shim, PROFILE_ENV, shim_missing))
    return configs


def placed_configuration(config, rule):
    """A shim configuration with a small-size rule added; the rule table
    replaces AMLSHIM_POLICY, so a policy becomes the rule from 1M up
    (the default threshold)."""
    name, preload, extra, missing = config
    extra = dict(extra)
    policy = extra.pop("AMLSHIM_POLICY", None)
    extra["AMLSHIM_RULES"] = rule + (";1M-=" + policy if policy else "")
    return (name + PLACED, preload, extra, missing)


def workload_configurations(wl, configs):
    """The configurations one workload runs under, in the order of a round."""
    configs = [c for c in configs if wl.name in AGAINST_AMLSHIM.get(c[0], (wl.name,))]
    configs = [c for c in configs if c[0] != THP_CONFIG or wl.name in THP_WORKLOADS]
    if not wl.placed:
        return configs
    out = []
    for config in configs:
        if config[0] in SHIM_CONFIGS:
            out += [config, placed_configuration(config, wl.placed)]
        elif config[0] in PLACED_PEERS:
            out.append(config)
    return out


def judged_against(name):
    """The shim configuration a variant is compared with, besides glibc and
    jemalloc: "amlshim placed" against "amlshim"; "amlshim-job",
    "amlshim-sites" and "amlshim-profile" too."""
    return "amlshim" if name in AGAINST_AMLSHIM else unplaced(name)


def unplaced(name):
    """The configuration a placed one is judged against ("amlshim placed": amlshim)."""
    return name[:-len(PLACED)] if name.endswith(PLACED) else None


def env_for(config):
    name, preload, extra, _ = config
    env = base_env()
    if preload:
        env["LD_PRELOAD"] = preload
    env.update(extra)
    return env
