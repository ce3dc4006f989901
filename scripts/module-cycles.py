#!/usr/bin/env python3
"""Fails when the top-level modules of shared/src (and each source under sources/) depend on each
other in a cycle. Production code only: test files and everything after a module's first
`#[cfg(test)]` are left out. A dependency is any `crate::<module>` path."""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "shared", "src")
TEST_FILES = {"tests.rs", "proptests.rs", "published_tests.rs", "test_support.rs"}


def module_of(parts):
    if parts[0] == "sources" and len(parts) > 1 and parts[1] != "mod":
        return "sources/" + parts[1]
    return parts[0]


def edges():
    graph = {}
    for directory, _, files in os.walk(ROOT):
        for name in files:
            if not name.endswith(".rs") or name in TEST_FILES:
                continue
            path = os.path.join(directory, name)
            parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
            if parts == ["lib"]:
                continue
            source = module_of(parts)
            text = open(path, encoding="utf-8").read()
            cut = text.find("#[cfg(test)]")
            text = text[:cut] if cut >= 0 else text
            text = re.sub(r"//.*", "", text)
            for match in re.finditer(r"crate::([a-z0-9_]+)(?:::([a-z0-9_]+))?", text):
                target = module_of([match.group(1)] + ([match.group(2)] if match.group(2) else []))
                if target != source and target != "test_support":
                    graph.setdefault(source, set()).add(target)
    return graph


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def main():
    graph = edges()
    found = cycles(graph)
    for component in found:
        members = set(component)
        links = ", ".join(f"{m} -> {sorted(graph[m] & members)}" for m in component)
        print(f"module cycle: {links}", file=sys.stderr)
    if found:
        return 1
    print(f"module-cycles: {len(graph)} modules of shared/src, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
