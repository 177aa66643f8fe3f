"""What the report says about the machine and the tree it measured."""
import os
import platform
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


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
