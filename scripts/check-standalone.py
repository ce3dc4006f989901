#!/usr/bin/env python3
"""Fails when a tracked file refers to a path outside the repository.

The repository must stand alone: a clone with nothing beside it passes the test command. Every
relative path that climbs (one or more `..` steps) into a folder named `shared` is resolved
against the places such a path is read from: the file's own folder (`include_str!`, Markdown links,
Cargo `path =`), the folder of the nearest Cargo.toml (`env!("CARGO_MANIFEST_DIR")`) and the
repository root (scripts and commands run from there). It passes only when one of them lands on a
file or folder inside the repository, such as the library crate `shared/` seen from `tests/`.
Absolute paths into the workplace folder (`/work` and below) always fail.

usage: check-standalone.py   (from anywhere inside the repository)
"""
import re
import subprocess
import sys
from pathlib import Path

RELATIVE = re.compile(r"(?:\.\./)+shared(?:/[A-Za-z0-9_.\-/]*)?")
ABSOLUTE = re.compile(r"/work/[A-Za-z0-9_.\-/]+")


def crate_root(path, root):
    for folder in path.parents:
        if (folder / "Cargo.toml").is_file():
            return folder
        if folder == root:
            break
    return None


def inside(candidate, root):
    resolved = candidate.resolve()
    return resolved == root or root in resolved.parents


def main():
    root = Path(subprocess.check_output(["git", "rev-parse", "--show-toplevel"], text=True).strip()).resolve()
    files = subprocess.check_output(["git", "ls-files", "-z"], cwd=root, text=True).split("\0")
    problems = []
    for name in filter(None, files):
        path = root / name
        if not path.is_file() or name.startswith("fuzz/corpus/"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        bases = [path.parent, crate_root(path, root), root]
        for number, line in enumerate(text.splitlines(), 1):
            for match in RELATIVE.finditer(line):
                reference = match.group(0).rstrip("./")
                targets = [base / reference for base in bases if base is not None]
                if not any(inside(t, root) and t.exists() for t in targets):
                    problems.append(f"{name}:{number}: {match.group(0)} is outside the repository")
            for match in ABSOLUTE.finditer(line):
                problems.append(f"{name}:{number}: {match.group(0)} is an absolute path outside the repository")
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(f"check-standalone: {len(problems)} references to paths outside the repository")
    print(f"check-standalone: {len([f for f in files if f])} tracked files refer to nothing outside the repository")


if __name__ == "__main__":
    main()
