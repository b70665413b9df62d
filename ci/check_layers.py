#!/usr/bin/env python3
"""The layer rules of driver/ (docs/architecture.md), read from the #include lines.

  util <- model <- {plan, sources, wheels} <- session <- build <- cli <- main.c

A file may include headers of its own layer and of the layers its layer lists below;
plan, sources and wheels never include each other; nothing includes cli/. Between files
(a module is NAME.c with NAME.h) there is no include cycle. Only cli/ and main.c know exit
codes (EXIT_*). Each third-party library is included by the modules named for it. The
environment is read in util/settings.c only (getenv).

usage: check_layers.py [DRIVER_DIR]    exit 0 clean, 1 with one line per broken rule.
"""
import os
import re
import sys

MAY_USE = {
    "util": set(),
    "model": {"util"},
    "plan": {"model", "util"},
    "sources": {"model", "util"},
    "wheels": {"model", "util"},
    "session": {"plan", "sources", "wheels", "model", "util"},
    "build": {"session", "plan", "sources", "wheels", "model", "util"},
    "cli": {"build", "session", "plan", "sources", "wheels", "model", "util"},
    "": {"cli", "build", "session", "plan", "sources", "wheels", "model", "util"},  # main.c
}

# <header prefix>: the files that may include it (each library behind its own modules)
THIRD_PARTY = {
    "git2.h": {"sources/git_source.c", "sources/patch_parse.c"},
    "curl/": {"sources/download.c"},
    "cjson/": {"util/json_read.c"},
    "archive": {"sources/unpack.c", "wheels/wheel.c"},
    "openssl/": {"util/hash.c"},
    "zlib.h": {"sources/patch_parse.c", "wheels/zip_write.c"},
}

GETENV = re.compile(r"(?<![.\w])getenv\s*\(")
COMMENT = re.compile(r"^\s*(/\*|\*|//)")
EXIT_CODE = re.compile(r"\bEXIT_(OK|BUILD_FAILED|USAGE|ENVIRONMENT|INTERRUPTED)\b")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')


def layer_of(rel):
    return rel.split("/", 1)[0] if "/" in rel else ""


def module_of(rel):
    return os.path.splitext(rel)[0]


def read_sources(root):
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith((".c", ".h")):
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                with open(path, encoding="utf-8", errors="replace") as f:
                    files[rel] = f.read().splitlines()
    return files


def check_includes(root, files, problems):
    """Layer directions and third-party includes; returns the module graph."""
    graph = {}  # module -> {module: (file, line)}
    for rel in sorted(files):
        me = layer_of(rel)
        for n, text in enumerate(files[rel], 1):
            m = INCLUDE.match(text)
            if not m:
                continue
            where = f"{root}/{rel}:{n}"
            if m.group(1) == "<":
                for prefix, allowed in THIRD_PARTY.items():
                    if m.group(2).startswith(prefix) and rel not in allowed:
                        problems.append(f"{where}: includes <{m.group(2)}>: only "
                                        f"{', '.join(sorted(allowed))} may (one module per library)")
                continue
            target = m.group(2)
            if target not in files:
                problems.append(f'{where}: includes "{target}", which is not a file of '
                                f"{root}/ (write the layer: \"util/buf.h\")")
                continue
            them = layer_of(target)
            if them == "cli" and me != "cli" and me != "":
                problems.append(f'{where}: {me}/ includes "{target}": nothing below cli/ '
                                "includes cli/")
            elif them != me and them not in MAY_USE.get(me, set()):
                may = ", ".join(sorted(MAY_USE.get(me, set()))) or "nothing else"
                problems.append(f'{where}: {me or "main.c"} includes "{target}" '
                                f"({them}/): the wrong way; {me or 'main.c'} may use {may}")
            a, b = module_of(rel), module_of(target)
            if a != b:
                graph.setdefault(a, {}).setdefault(b, (f"{root}/{rel}", n))
    return graph


def check_cycles(graph, problems):
    """Every cycle between modules, each named once by its edges."""
    seen_cycles = set()
    state = {}  # module -> 1 on the stack, 2 done
    stack = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, {})):
            if state.get(t) == 1:
                cyc = stack[stack.index(t):] + [t]
                key = frozenset(cyc)
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    edges = []
                    for x, y in zip(cyc, cyc[1:]):
                        f, n = graph[x][y]
                        edges.append(f"{f}:{n} ({x} -> {y})")
                    problems.append("include cycle: " + " -> ".join(cyc) + "\n  " +
                                    "\n  ".join(edges))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def check_exit_codes(root, files, problems):
    for rel in sorted(files):
        if layer_of(rel) in ("cli", ""):
            continue
        for n, text in enumerate(files[rel], 1):
            m = EXIT_CODE.search(text)
            if m:
                problems.append(f"{root}/{rel}:{n}: uses {m.group(0)}: only cli/ knows exit "
                                "codes; return -1 and classify the diagnostic")


def check_getenv(root, files, problems):
    for rel in sorted(files):
        if rel == "util/settings.c":
            continue
        for n, text in enumerate(files[rel], 1):
            if GETENV.search(text) and not COMMENT.match(text):
                problems.append(f"{root}/{rel}:{n}: reads the environment: only "
                                "util/settings.c calls getenv (add a setting_* there)")


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "driver")
    root = os.path.normpath(root)
    if not os.path.isdir(root):
        print(f"check-layers: {root} is not a directory", file=sys.stderr)
        return 2
    files = read_sources(root)
    problems = []
    for rel in sorted(files):
        if layer_of(rel) not in MAY_USE:
            problems.append(f"{root}/{rel}: in no layer (folders: "
                            f"{', '.join(sorted(k for k in MAY_USE if k))})")
    graph = check_includes(root, files, problems)
    check_cycles(graph, problems)
    check_exit_codes(root, files, problems)
    check_getenv(root, files, problems)
    for p in problems:
        print(f"check-layers: {p}", file=sys.stderr)
    if problems:
        print(f"check-layers: {len(problems)} broken rule(s) in {len(files)} files",
              file=sys.stderr)
        return 1
    print(f"check-layers: {len(files)} files, {sum(len(v) for v in graph.values())} "
          "module edges, no wrong-way include, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
