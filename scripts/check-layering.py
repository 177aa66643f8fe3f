#!/usr/bin/env python3
"""The layering check (make check-layering, part of make check).

Layers, lowest first: include/ (public headers), areas/ (libaml and the OS
layer), policy/ (the parser), shim/ (the allocator). Prints one line per
violation and exits 1 when:
  - a file includes a header of a higher layer, or calls a function of one
    (shim_* from areas/ or policy/, amlshim_* from areas/ or include/);
  - a system call, or a /proc or /sys path, appears outside the OS layer
    (areas/os.[ch], areas/os_*.[ch]); definitions and declarations of the
    same names (the shim's exported mmap) are not calls;
  - a file in shim/, areas/, policy/, or of the command (scripts/amlshim/)
    or the Slurm plugin (slurm/), has more than 450 lines.
Usage: check-layering.py [ROOT] (default: the repository this script is in).
"""
import os
import re
import sys

LAYERS = ["include", "areas", "policy", "shim"]
LINE_LIMIT = 450
# Not layers, but held to the line limit too.
LIMITED_ONLY = ["scripts/amlshim", "slurm"]
# Functions of a layer, by prefix: the lowest layer that may call them.
UPWARD_CALLS = [(re.compile(r"\bshim_\w+"), "shim"),
                (re.compile(r"\bamlshim_\w+"), "policy")]
SYSCALLS = ("syscall mmap munmap mremap madvise mprotect mbind set_mempolicy "
            "get_mempolicy move_pages clock_gettime getcpu getrandom getrlimit prctl "
            "open openat fopen opendir read").split()
SYSCALL_RE = re.compile(r"\b(%s)\s*\(" % "|".join(SYSCALLS))
KERNEL_FILE_RE = re.compile(r'"/(proc|sys)/')
OS_LAYER_RE = re.compile(r"^areas/os(_\w+)?\.[ch]$")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
# Words that may stand before a call (a type name before the name makes
# it a definition or a declaration instead).
STATEMENT_WORDS = {"return", "else", "do", "case", "sizeof", "typeof", "__typeof__"}
COMMENT_OR_STRING = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def blank(match):
    """Comments and literals become spaces (newlines kept: line numbers hold)."""
    return re.sub(r"[^\n]", " ", match.group(0))


def layer_of(path):
    top = path.split("/", 1)[0]
    return LAYERS.index(top) if top in LAYERS else None


def resolve(root, src, name, quoted):
    """The repository path an #include names, or None (a system header)."""
    dirs = [os.path.dirname(src)] if quoted else []
    dirs += LAYERS
    for d in dirs:
        path = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(os.path.join(root, path)):
            return path
    return None


def is_call(code, start):
    """Whether the name at start is called, not defined or declared: a type
    stands before a defined name, or nothing (GNU style: the type on the
    line above, the name in column 0)."""
    line_start = code.rfind("\n", 0, start) + 1
    if line_start == start:
        return False
    before = code[line_start:start].rstrip()
    if before.endswith(("->", ".")):
        return False  # a member, such as an area's ops->mmap
    if before.endswith("*"):
        return False  # void *mmap(
    word = re.search(r"\w+$", before)
    return not word or word.group(0) in STATEMENT_WORDS


def check_file(root, path, out):
    with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
        text = f.read()
    layer = layer_of(path)
    lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    if path.split("/")[0] != "include" and lines > LINE_LIMIT:
        out.append((path, 0, "%d lines (limit %d)" % (lines, LINE_LIMIT)))
    # Comments blanked, literals kept: the /proc and /sys paths are literals.
    uncommented = COMMENT_OR_STRING.sub(lambda m: blank(m) if m.group(0)[0] == "/" else m.group(0), text)
    for n, line in enumerate(uncommented.splitlines(), 1):
        m = INCLUDE_RE.match(line)
        if m:
            target = resolve(root, path, m.group(2), m.group(1) == '"')
            if target and layer_of(target) is not None and layer_of(target) > layer:
                out.append((path, n, "includes %s (%s/ is above %s/)"
                            % (target, target.split("/")[0], path.split("/")[0])))
        if not OS_LAYER_RE.match(path) and KERNEL_FILE_RE.search(line):
            out.append((path, n, "reads a /proc or /sys file outside the OS layer"))
    code = COMMENT_OR_STRING.sub(blank, text)
    for pattern, owner in UPWARD_CALLS:
        if LAYERS.index(owner) <= layer:
            continue
        for m in pattern.finditer(code):
            rest = code[m.end():m.end() + 40].lstrip()
            if rest.startswith("(") and is_call(code, m.start()):
                n = code.count("\n", 0, m.start()) + 1
                out.append((path, n, "calls %s (%s/ is above %s/)" % (m.group(0), owner, path.split("/")[0])))
    if not OS_LAYER_RE.match(path):
        for m in SYSCALL_RE.finditer(code):
            if is_call(code, m.start()):
                n = code.count("\n", 0, m.start()) + 1
                out.append((path, n, "system call %s() outside the OS layer (areas/os.c, areas/os_*.c)"
                            % m.group(1)))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    files = []
    for top in LAYERS:
        for d, _, names in sorted(os.walk(os.path.join(root, top))):
            files += [os.path.relpath(os.path.join(d, n), root) for n in sorted(names) if n.endswith((".c", ".h"))]
    out = []
    for path in files:
        check_file(root, path, out)
    for top in LIMITED_ONLY:
        for d, _, names in sorted(os.walk(os.path.join(root, top))):
            for n in sorted(names):
                if not n.endswith((".c", ".h")):
                    continue
                path = os.path.relpath(os.path.join(d, n), root)
                with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                    text = f.read()
                lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
                if lines > LINE_LIMIT:
                    out.append((path, 0, "%d lines (limit %d)" % (lines, LINE_LIMIT)))
    for path, n, what in sorted(out):
        print("layering: %s%s: %s" % (path, ":%d" % n if n else "", what))
    if not out:
        print("layering: %d files in %s checked, no violation (and the line limit in %s)"
              % (len(files), ", ".join(LAYERS), ", ".join(LIMITED_ONLY)))
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main())
