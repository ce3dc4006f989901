#!/usr/bin/env python3
"""Every environment variable the code reads is described in exactly one place, and every variable
described is read.

The code's variables are its constants named after themselves (`pub const SIEM_URL: &str =
"SIEM_URL";`, the convention of shared/src), plus the standard variables read by name. A variable is
described by a table row of README.md or docs/*.md whose first cell names it in backticks (one row
may name several)."""
import glob
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
# Constants of that form that are not variables (CloudWatch Logs message types).
NOT_VARIABLES = {"CONTROL_MESSAGE", "DATA_MESSAGE"}
# Refused at start-up with a message saying what replaced it (described in prose, not a table).
RETIRED = {"AZDO_BEARER_TOKEN"}
# Read by the AWS SDK or set by the Lambda runtime; documented without being constants here.
EXTERNAL = {"AWS_ENDPOINT_URL"}


def code_variables():
    found = set()
    for path in glob.glob(os.path.join(ROOT, "shared/src/**/*.rs"), recursive=True) + glob.glob(
        os.path.join(ROOT, "cli/src/**/*.rs"), recursive=True
    ):
        text = open(path, encoding="utf-8").read()
        found.update(re.findall(r'const ([A-Z][A-Z0-9_]*): &str = "\1";', text))
    return found - NOT_VARIABLES


def described():
    rows = {}
    for path in [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs/*.md"))):
        name = os.path.relpath(path, ROOT)
        for number, line in enumerate(open(path, encoding="utf-8"), 1):
            if not line.startswith("| `"):
                continue
            first = line.split("|")[1]
            for variable in re.findall(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`", first):
                rows.setdefault(variable, []).append(f"{name}:{number}")
    return rows


def main():
    code = code_variables()
    rows = described()
    problems = []
    for variable in sorted(code - RETIRED):
        places = rows.get(variable, [])
        if not places:
            problems.append(f"{variable} is read by the code but described nowhere")
        elif len(places) > 1:
            problems.append(f"{variable} is described {len(places)} times: {', '.join(places)}")
    for variable in sorted(set(rows) - code - EXTERNAL):
        problems.append(f"{variable} is described ({', '.join(rows[variable])}) but the code does not read it")
    for problem in problems:
        print(f"check-settings: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"check-settings: {len(code - RETIRED)} variables, each described once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
