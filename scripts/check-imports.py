#!/usr/bin/env python3
"""The import rules of the library crate (shared/src), checked from the code.

Reads every `use` and every `crate::`/`super::` path of every module file,
resolves each name to the file that defines it (following `pub use`
re-exports, so `use super::Error` from domain/pictures.rs points at
domain/error.rs, not at domain/mod.rs), and fails when:

* a file of `domain/` takes a name from a module the domain must not know:
  the adapters (`db/`, the SQS queue), the HTTP edge (`http/`), the process
  wiring (`app`, `config`, `local`, `lambda`);
* files of different modules import each other in a circle (each circle is
  printed with the names that tie it). A module's own files (its `mod.rs`
  and the files beside it) may use each other's names: they are one room.

`make lint` runs it; `--graph` prints every arrow instead.
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "shared" / "src"

# What the domain must not import: top-level modules (a file or a folder).
DOMAIN_MUST_NOT_SEE = {"db", "http", "app", "config", "local", "lambda", "queue"}


def module_files():
    """Module path (tuple of names) -> file."""
    files = {}
    for path in ROOT.rglob("*.rs"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts == ["lib"]:
            parts = []
        elif parts[-1] == "mod":
            parts = parts[:-1]
        files[tuple(parts)] = path
    return files


def strip_comments_and_strings(src):
    src = re.sub(r"//[^\n]*", "", src)
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    src = re.sub(r'r#*"(?:.|\n)*?"#*', '""', src)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', src)


def cut_tests(src):
    """Drops `#[cfg(test)] mod tests { ... }`: tests may import anything."""
    m = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", src)
    return src[: m.start()] if m else src


def expand(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (as lists of names)."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix, text):
        depth, start, parts = 0, 0, []
        for i, ch in enumerate(text):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(text[start:i])
                start = i + 1
        parts.append(text[start:])
        for part in filter(None, parts):
            if "{" in part:
                head, rest = part.split("{", 1)
                walk(prefix + [p for p in head.split("::") if p], rest[:-1])
            else:
                out.append(prefix + [p for p in part.split("::") if p])

    walk([], tree)
    return out


USE = re.compile(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);")
PATH = re.compile(r"\b((?:crate|super)(?:::\w+)+)")


def absolute(module, parts):
    """A path as written in `module` -> absolute module path, or None."""
    if not parts:
        return None
    if parts[0] == "crate":
        return parts[1:]
    if parts[0] in ("super", "self"):
        base = list(module)
        while parts and parts[0] in ("super", "self"):
            if parts[0] == "super":
                if not base:
                    return None
                base.pop()
            parts = parts[1:]
        return base + parts
    return None  # an extern crate or a local name


class Crate:
    def __init__(self):
        self.files = module_files()
        self.sources = {
            m: cut_tests(strip_comments_and_strings(p.read_text())) for m, p in self.files.items()
        }
        # module -> name -> absolute path it re-exports (`pub use`)
        self.reexports = defaultdict(dict)
        # module -> every absolute path it names
        self.names = defaultdict(set)
        for module, src in self.sources.items():
            for public, tree in USE.findall(src):
                for parts in expand(tree):
                    if parts and parts[0] not in ("crate", "super", "self"):
                        parts = ["crate", *module, *parts]  # a path into a child module
                        if tuple(parts[1:-1]) not in self.files and tuple(parts[1:]) not in self.files:
                            continue
                    path = absolute(module, parts)
                    if path is None or path[-1] == "*":
                        continue
                    self.names[module].add(tuple(path))
                    if public:
                        self.reexports[module][path[-1]] = tuple(path)
            for p in PATH.findall(re.sub(USE, "", src)):
                path = absolute(module, p.split("::"))
                if path:
                    self.names[module].add(tuple(path))

    def resolve(self, path, seen=()):
        """Absolute path of a name -> the module file that defines it."""
        path = tuple(path)
        if path in self.files:
            return path  # a module itself
        for cut in range(len(path) - 1, -1, -1):
            module = path[:cut]
            if module in self.files:
                name = path[cut] if cut < len(path) else None
                again = self.reexports[module].get(name)
                if again and again not in seen and again != path:
                    return self.resolve(again, seen + (path,))
                return module
        return ()

    def arrows(self):
        out = defaultdict(lambda: defaultdict(set))
        for module, paths in self.names.items():
            for path in paths:
                target = self.resolve(path)
                if target in (module, ()):
                    continue
                out[module][target].add(path[-1])
        # A parent that only declares and re-exports its children does not
        # depend on them; the files that use the names do.
        for module in list(out):
            for target in list(out[module]):
                if target[: len(module)] == module and all(
                    n in self.reexports[module] or n == target[-1] for n in out[module][target]
                ):
                    del out[module][target]
        return out


def name(module):
    return "/".join(module) or "lib"


def circles(arrows):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in arrows.get(v, {}):
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

    sys.setrecursionlimit(10000)
    for v in list(arrows):
        if v not in index:
            visit(v)
    return out


def main():
    crate = Crate()
    arrows = crate.arrows()
    if "--graph" in sys.argv:
        for module in sorted(arrows):
            for target in sorted(arrows[module]):
                print(f"{name(module)} -> {name(target)}: {', '.join(sorted(arrows[module][target]))}")
        return 0
    problems = []
    for module, targets in sorted(arrows.items()):
        if module[:1] != ("domain",):
            continue
        for target, names in sorted(targets.items()):
            if target[:1] and target[0] in DOMAIN_MUST_NOT_SEE:
                problems.append(
                    f"domain must not import {target[0]}: {name(module)}.rs -> {name(target)} ({', '.join(sorted(names))})"
                )
    def folder(module):
        return module if crate.files[module].name in ("mod.rs", "lib.rs") else module[:-1]

    inside = []
    for comp in circles(arrows):
        if len({folder(m) for m in comp}) == 1:
            # A module and the files of its own folder: one room.
            inside.append(comp)
            continue
        ties = [
            f"    {name(a)} -> {name(b)}: {', '.join(sorted(arrows[a][b]))}"
            for a in comp
            for b in comp
            if b in arrows.get(a, {})
        ]
        problems.append("files importing each other in a circle:\n" + "\n".join(ties))
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"check-imports: {len(problems)} problem(s) in shared/src", file=sys.stderr)
        return 1
    for comp in inside:
        print(f"note: files of one module import each other: {', '.join(name(m) for m in comp)}")
    print(
        f"check-imports: {sum(len(t) for t in arrows.values())} arrows between {len(crate.files)} files, "
        "no circle between modules, the domain sees only its ports"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
