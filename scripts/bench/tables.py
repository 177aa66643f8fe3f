"""Statistics over runs and the markdown tables of the report."""
import statistics

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


def workload_table(stats, names, unplaced=None):
    """One row per configuration; with unplaced (a variant's name -> the
    configuration it is judged against: a placed one's unplaced one,
    amlshim-job's amlshim; else None), also the ratios to it."""
    base_g, base_j = stats.get("glibc", {}), stats.get("jemalloc", {})
    placed = unplaced and any(unplaced(n) for n in names)
    header = ["allocator", "median", "min-max", "x glibc", "x jemalloc", "CPU median",
              "CPU x glibc", "CPU x jemalloc", "peak RSS MiB", "RSS x glibc", "RSS x jemalloc"]
    if placed:
        header += ["x unplaced/amlshim", "CPU x unplaced/amlshim"]
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
        row = [name, fmt_time(s["median"]), "%s-%s" % (fmt_time(s["min"]), fmt_time(s["max"])),
               fmt_ratio(ratio(base_g, "median")), fmt_ratio(ratio(base_j, "median")),
               fmt_time(s["cpu"]), fmt_ratio(ratio(base_g, "cpu")), fmt_ratio(ratio(base_j, "cpu")),
               fmt_mib(s["rss_kib"]), fmt_ratio(ratio(base_g, "rss_kib")),
               fmt_ratio(ratio(base_j, "rss_kib"))]
        if placed:
            base_u = stats.get(unplaced(name) or "", {})
            row += [fmt_ratio(ratio(base_u, "median")), fmt_ratio(ratio(base_u, "cpu"))]
        rows.append(row)
    return markdown_table(header, rows)
