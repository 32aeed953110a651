"""Checks that libsockit reads bottom-up: its layers, and its files within a layer.

    check_layers.py LAYERS BUILD_LIB_DIR        (make check-layers; run by make test)

LAYERS is the Makefile's list, lowest first ("base ip net loop stream http");
BUILD_LIB_DIR holds the library's objects ($(BUILD)/src/lib/<layer>/<file>.o).
A library file's layer is its folder, src/lib/<layer>/. A public header
include/sockit/NAME.h belongs to the layer of the library file NAME.c, or
else of the files NAME_*.c (ip.h: ip_*.c), or else to the highest layer of
what it includes (slice.h: base; sockit.h, the umbrella: loop).

Fails, naming the files, when
  1. a library file (.c or .h) or a public header includes a header of a
     layer above its own (<sockit/NAME.h>, or "<layer>/<layer>_internal.h";
     a quoted include must name its layer that way);
  2. a layer has an internal header other than <layer>/<layer>_internal.h
     (one internal header per layer);
  3. a library file uses a function or variable defined in a layer above its
     own (nm on the objects: an undefined symbol of one object that another
     defines); upward calls go through callbacks, which nm does not see;
  4. library files depend on each other in a cycle (A uses B and B uses A,
     or a longer loop), in any layer or across layers.
"""
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
LIB = os.path.join(ROOT, "src", "lib")
PUBLIC = os.path.join(ROOT, "include", "sockit")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def rel(path):
    return os.path.relpath(path, ROOT)


def includes(path):
    with open(path, encoding="utf-8") as f:
        return INCLUDE_RE.findall(f.read())


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    layers = sys.argv[1].split()
    rank = {name: i for i, name in enumerate(layers)}
    build = sys.argv[2]
    errors = []

    # --- library files and their layers ---
    files = {}  # path -> layer
    for layer in layers:
        for path in sorted(glob.glob(os.path.join(LIB, layer, "*.[ch]"))):
            files[path] = layer
    for path in sorted(glob.glob(os.path.join(LIB, "*", "*.[ch]")) + glob.glob(os.path.join(LIB, "*.[ch]"))):
        if path not in files:
            errors.append(f"{rel(path)}: not in a layer folder (src/lib/<layer>/, layers: {' '.join(layers)})")

    # --- public headers and their layers ---
    def own_layer(stem):
        for path, layer in files.items():
            if path.endswith(".c") and os.path.basename(path) == stem + ".c":
                return layer
        found = {layer for path, layer in files.items()
                 if path.endswith(".c") and os.path.basename(path).startswith(stem + "_")}
        return max(found, key=rank.get) if len(found) == 1 else None

    header_layer = {}
    pending = sorted(glob.glob(os.path.join(PUBLIC, "*.h")))
    for path in pending:
        layer = own_layer(os.path.basename(path)[:-2])
        if layer:
            header_layer[os.path.basename(path)] = layer
    for _ in range(len(pending)):  # the rest: the highest layer of what they include
        for path in pending:
            name = os.path.basename(path)
            if name in header_layer:
                continue
            deps = [inc[len("sockit/"):] for kind, inc in includes(path) if inc.startswith("sockit/")]
            if all(d in header_layer for d in deps):
                header_layer[name] = max((header_layer[d] for d in deps), key=rank.get, default=layers[0])
    for path in pending:
        if os.path.basename(path) not in header_layer:
            errors.append(f"{rel(path)}: no layer (its includes form a cycle)")

    # --- 1. includes go down ---
    def check_includes(path, layer):
        for kind, inc in includes(path):
            if kind == "<":
                if not inc.startswith("sockit/"):
                    continue  # the C library, liburing
                dep = header_layer.get(inc[len("sockit/"):])
                what = f"<{inc}>"
            else:
                m = re.fullmatch(r"([a-z0-9_]+)/\1_internal\.h", inc)
                dep = m.group(1) if m and m.group(1) in rank else None
                what = f'"{inc}"'
                if dep is None:
                    errors.append(f'{rel(path)}: includes {what}: quoted includes name a layer\'s '
                                  'internal header, "<layer>/<layer>_internal.h"')
                    continue
            if dep is None:
                errors.append(f"{rel(path)}: includes {what}, which is not a sockit header")
            elif rank[dep] > rank[layer]:
                errors.append(f"{rel(path)} ({layer}) includes {what} ({dep}): a layer above")

    for path, layer in files.items():
        check_includes(path, layer)
    for path in pending:
        name = os.path.basename(path)
        if name in header_layer:
            check_includes(path, header_layer[name])

    # --- 2. one internal header per layer ---
    for path, layer in files.items():
        if path.endswith(".h") and os.path.basename(path) != f"{layer}_internal.h":
            errors.append(f"{rel(path)}: a layer's one internal header is "
                          f"src/lib/{layer}/{layer}_internal.h")

    # --- 3, 4. what the objects use of each other ---
    objects = {}  # file stem -> (layer, object path)
    for layer in layers:
        for obj in sorted(glob.glob(os.path.join(build, layer, "*.o"))):
            objects[os.path.basename(obj)[:-2]] = (layer, obj)
    sources = {os.path.basename(p)[:-2] for p in files if p.endswith(".c")}
    missing = sources - set(objects)
    if missing:
        errors.append(f"no objects in {build} for {' '.join(sorted(missing))}: build the library first")
    defined, undefined = {}, {}
    for name, (layer, obj) in objects.items():
        if name not in sources:
            continue  # a stale object of a file that moved or went
        out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
        undefined[name] = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBRVWCG":
                defined[parts[2]] = name
            elif len(parts) == 2 and parts[0] == "U":
                undefined[name].add(parts[1])
    uses = {}  # file -> {file: [symbols]}
    for name, syms in undefined.items():
        uses[name] = {}
        for sym in sorted(syms):
            dep = defined.get(sym)
            if dep and dep != name:
                uses[name].setdefault(dep, []).append(sym)
    for name, deps in sorted(uses.items()):
        for dep, syms in sorted(deps.items()):
            a, b = objects[name][0], objects[dep][0]
            if rank[b] > rank[a]:
                errors.append(f"{a}/{name}.c uses {', '.join(syms)} of {b}/{dep}.c: a layer above "
                              "(reach up through a callback)")

    for cycle in cycles(uses):
        steps = []
        for i, name in enumerate(cycle):
            nxt = cycle[(i + 1) % len(cycle)]
            steps.append(f"{objects[name][0]}/{name}.c uses {uses[name][nxt][0]} of {nxt}.c")
        errors.append("files depend on each other in a cycle: " + "; ".join(steps))

    if errors:
        for e in errors:
            print("check_layers: " + e, file=sys.stderr)
        sys.exit(1)
    n_edges = sum(len(d) for d in uses.values())
    print(f"check_layers: {len(files)} library files in {len(layers)} layers "
          f"({' < '.join(layers)}), {len(header_layer)} public headers: every include "
          f"goes down; {n_edges} file dependencies, none upward, no cycle")


def cycles(graph):
    """One cycle (a list of nodes) per strongly connected component of more than one node."""
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(shortest_cycle(graph, set(comp)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def shortest_cycle(graph, comp):
    """A shortest cycle through the component's first node, by breadth-first search."""
    start = min(comp)
    prev, queue = {start: None}, [start]
    for v in queue:
        for w in sorted(graph.get(v, ())):
            if w not in comp:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path))
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return sorted(comp)


if __name__ == "__main__":
    main()
