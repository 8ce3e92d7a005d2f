#!/usr/bin/env python3
"""The app's layer check: which of `app/src`'s modules import which, and whether that respects
the declared layers.

Every `app/src/**/*.rs` is read with its comments and string literals removed; each reference to
another module of the crate is collected: `crate::a::b` paths in `use` lines (grouped ones too,
`use crate::{a::x, b::{y, z}}`) and in code, `super::` paths resolved from the file's module, and
paths that start with one of the file's own child modules. `main.rs` is the binary: its
`keel::` paths are read the same way.

Each file belongs to a top-level module, and the top-level modules are layers, bottom first:

    transport < client < risk (the estimation layer) < commands < studies < sandbox < main (bin)

The script prints the module graph (top level, then inside `commands/`) and exits with status 1
if a module imports a layer above its own, if anything outside `sandbox/` imports `sandbox`
(the binary aside: it runs `keel sandbox`), if the top-level graph has a cycle, or if the
command families inside `commands/` import each other in a cycle or against their declared
order (calc < perp < crp, oracle < risk < keeper, migrate), or if any modules inside
`commands/`, at any depth, import each other in a cycle (`commands/migrate/mod.rs` and
`steps.rs` included). Parent/child cycles elsewhere are listed, not failed.

Usage: python3 app/scripts/layers.py [APP_SRC]   (stdlib only)
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

LAYERS = ["transport", "client", "risk", "commands", "studies", "sandbox", "main"]
COMMAND_ORDER = {
    "calc": 0,
    "perp": 1,
    "crp": 2,
    "oracle": 2,
    "risk": 3,
    "keeper": 4,
    "migrate": 4,
}
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def strip_comments_and_strings(text):
    """The source with comments, string and char literals blanked (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    out.append("\n" if text[i] == "\n" else " ")
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:]):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            end = n if end < 0 else end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c == '"' and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i : j + 1]))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:]):
            m = re.match(r"'(\\.|[^\\'])'", text[i:])
            out.append(" " * len(m.group(0)))
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_tree(text, i):
    """Parse a path or use tree at `text[i]`: returns (list of segment lists, end index)."""
    while i < len(text) and text[i].isspace():
        i += 1
    if i < len(text) and text[i] == "{":
        paths, i = [], i + 1
        while True:
            while i < len(text) and text[i] in " \t\r\n,":
                i += 1
            if i >= len(text) or text[i] == "}":
                return paths, i + 1
            sub, i = parse_tree(text, i)
            paths.extend(sub)
    m = IDENT.match(text, i)
    if not m:
        return ([[]] if i < len(text) and text[i] == "*" else []), i + 1
    seg, i = m.group(0), m.end()
    j = i
    while j < len(text) and text[j] in " \t":
        j += 1
    if text.startswith("::", j):
        rest, i = parse_tree(text, j + 2)
        return [[seg] + r for r in rest] or [[seg]], i
    return [[seg]], i


def module_of(path, root):
    """`commands/risk/publish.rs` → ["commands", "risk", "publish"]; mod.rs is its directory."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return parts


def inline_modules(src):
    """For each position of `src`, the inline modules (`mod tests { … }`) it sits in: a list of
    (start position, module names) change points, ascending."""
    points, stack, i = [(0, [])], [], 0
    for m in re.finditer(r"\bmod\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{|[{}]", src):
        if m.group(0) == "}":
            if stack:
                stack.pop()
        else:
            stack.append(m.group(1))  # None for a plain brace
        points.append((m.end(), [n for n in stack if n]))
    return points


def enclosing(points, pos):
    lo, hi = 0, len(points) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if points[mid][0] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return points[lo][1]


def references(text, module, modules, is_bin):
    """The crate modules `text` (in `module`) refers to, as full module paths."""
    src = strip_comments_and_strings(text)
    found = []
    prefix = r"\bkeel::" if is_bin else r"(?<![A-Za-z0-9_:])crate::"
    for m in re.finditer(prefix, src):
        for p in parse_tree(src, m.end())[0]:
            found.append(p)
    points = inline_modules(src)
    for m in re.finditer(r"(?<![A-Za-z0-9_:])((?:super::)+)", src):
        ups = m.group(1).count("super::")
        here = module + enclosing(points, m.start())
        base = here[: len(here) - ups]
        for p in parse_tree(src, m.end())[0]:
            found.append(base + p)
    # paths from a child module of this file's (`use publish::X`, `crp::CrpArgs`)
    children = {m[-1] for m in modules if m[:-1] == module and len(m) == len(module) + 1}
    for m in re.finditer(r"(?<![A-Za-z0-9_:.])([a-z_][a-z0-9_]*)::", src):
        if m.group(1) in children:
            for p in parse_tree(src, m.start())[0]:
                found.append(module + p)
    out = []
    for p in found:
        # the longest prefix that is a module of the crate
        best = max(
            (m for m in modules if m and p[: len(m)] == m), key=len, default=None
        )
        if best:
            out.append(best)
    return out


def hidden_imports(text, module, modules):
    """Imports this checker cannot follow, which could hide an upward one: a glob of a module
    that has submodules (`use crate::*`, `use super::*` from a top-level file, `use
    crate::commands::*`), `use crate as …`, and a module missing from the layer or family order.
    A glob of a module without submodules (`use super::*` in `mod tests`) is fine."""
    src = strip_comments_and_strings(text)
    out = []
    points = inline_modules(src)
    parents = {tuple(m[:-1]) for m in modules if m}
    for m in re.finditer(r"(?<![A-Za-z0-9_:])crate::((?:[a-z_][a-z0-9_]*::)*)\*", src):
        base = [x for x in m.group(1).split("::") if x]
        if tuple(base) in parents:
            out.append(f"glob import of crate::{'::'.join(base) or ''}* (name what is used)")
    for m in re.finditer(r"(?<![A-Za-z0-9_:])((?:super::)+)((?:[a-z_][a-z0-9_]*::)*)\*", src):
        ups = m.group(1).count("super::")
        here = module + enclosing(points, m.start())
        base = here[: len(here) - ups] + [x for x in m.group(2).split("::") if x]
        if tuple(base) in parents:
            out.append(f"glob import of {'::'.join(base) or 'the crate root'}::* via super")
    if re.search(r"\bcrate\s+as\s+[A-Za-z_]", src) or re.search(r"extern\s+crate\s+self", src):
        out.append("the crate renamed (`use crate as …`): imports through it are not followed")
    return out


def cycles(nodes, edges):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
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
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "src"
    files = sorted(root.rglob("*.rs"))
    modules = [module_of(f, root) for f in files if f.name != "main.rs"]
    top_edges = defaultdict(lambda: defaultdict(list))  # from -> to -> [file]
    cmd_edges = defaultdict(lambda: defaultdict(list))
    sub_edges = defaultdict(lambda: defaultdict(list))  # full module paths, inside one top module
    problems = []
    for f in files:
        is_bin = f.relative_to(root).as_posix() == "main.rs"
        module = ["main"] if is_bin else module_of(f, root)
        if not module:  # lib.rs: the module list only
            continue
        top = module[0]
        if top not in LAYERS:
            problems.append(f"{f}: top-level module `{top}` is not in a declared layer")
            continue
        rel = f.relative_to(root).as_posix()
        if not is_bin:
            problems += [f"{rel}: {h}" for h in hidden_imports(f.read_text(), module, modules)]
        if top == "commands" and len(module) > 1 and module[1] not in COMMAND_ORDER:
            problems.append(f"{rel}: command family `{module[1]}` is not in the family order")
        for ref in references(f.read_text(), module, modules, is_bin):
            to = ref[0]
            if to != top:
                top_edges[top][to].append(rel)
            if to == top and ref != module:
                sub_edges["::".join(module)][("::".join(ref))].append(rel)
            if top == "commands" and to == "commands" and len(module) > 1 and len(ref) > 1:
                a, b = module[1], ref[1]
                if a != b:
                    cmd_edges[a][b].append(rel)

    print("top-level modules (bottom first): " + " < ".join(LAYERS))
    for a in LAYERS:
        for b, where in sorted(top_edges.get(a, {}).items()):
            print(f"  {a} -> {b}  ({', '.join(sorted(set(where)))})")
            if b not in LAYERS:
                continue
            if LAYERS.index(b) > LAYERS.index(a):
                problems.append(f"{a} imports {b}, a layer above it: {', '.join(sorted(set(where)))}")
            if b == "sandbox" and a not in ("sandbox", "main"):
                problems.append(f"{a} imports sandbox: {', '.join(sorted(set(where)))}")
    for comp in cycles(set(top_edges) | {b for d in top_edges.values() for b in d}, top_edges):
        problems.append("cycle among top-level modules: " + " <-> ".join(comp))

    print("command families inside commands/ (calc < perp < crp, oracle < risk < keeper, migrate):")
    for a in sorted(cmd_edges):
        for b, where in sorted(cmd_edges[a].items()):
            print(f"  commands::{a} -> commands::{b}  ({', '.join(sorted(set(where)))})")
            if COMMAND_ORDER.get(b, 0) >= COMMAND_ORDER.get(a, 0):
                problems.append(f"commands::{a} imports commands::{b}, not below it")
    for comp in cycles(set(cmd_edges) | {b for d in cmd_edges.values() for b in d}, cmd_edges):
        problems.append("cycle inside commands/: " + " <-> ".join(comp))

    # inside commands/, at any depth: a mod.rs and its children must not import each other both
    # ways either; elsewhere such parent/child cycles are listed (transport's mod.rs holds the
    # trait its children implement and re-exports them, by design)
    nodes = set(sub_edges) | {b for d in sub_edges.values() for b in d}
    for comp in cycles(nodes, sub_edges):
        if comp[0].split("::")[0] == "commands":
            problems.append("cycle between modules inside commands/: " + " <-> ".join(comp))
        else:
            print("  (allowed, not in commands/: " + " <-> ".join(comp) + ")")

    if problems:
        print("FAILED:")
        for p in problems:
            print("  " + p)
        return 1
    print(f"ok: {len(files)} files, no upward import, no cycle, sandbox imported by no library module")
    return 0


if __name__ == "__main__":
    sys.exit(main())
