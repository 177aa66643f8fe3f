"""Running one workload once: wall and CPU time, peak RSS, its BENCH line;
and callgrind's instruction counts."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

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
