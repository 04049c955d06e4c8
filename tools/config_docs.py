#!/usr/bin/env python3
"""Writes docs/configuration.md from the services' own key lists
(carewatch-<service> --config-keys), or with --check verifies that the file
is up to date (the test suite does that, so the docs cannot drift).

usage: config_docs.py [--check] BUILD_DIR
"""

import os
import subprocess
import sys

from carewatch_py.deployment import REPO, service_names

DOC = os.path.join(REPO, "docs", "configuration.md")
SERVICES = service_names()

HEADER = """# Configuration

Every service reads one YAML file (`--config FILE`, or the path in
`CAREWATCH_CONFIG`) whose keys are the dotted names below written as nested
maps (`kafka.brokers` is `brokers:` under `kafka:`). Every key can be
overridden by the environment variable shown; the environment wins over the
file, the file over the default. Lists are YAML sequences, or comma-separated
in the environment. Unknown keys, values of the wrong type and values out of
range stop the service at start-up with a message naming the key and the
file line; `carewatch-<service> --check-config --config FILE` checks a file
without starting anything. Secrets (`redis.password`, `kafka.extra`) are
never logged.

This file is generated from the binaries by `tools/config_docs.py BUILD_DIR`
and checked by the test suite.
"""


def rows(binary):
    out = subprocess.run([binary, "--config-keys"], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    return lines[:2], lines[2:]


def render(build_dir):
    tables = {}
    head = None
    for svc in SERVICES:
        head, tables[svc] = rows(os.path.join(build_dir, "services", svc, "carewatch-" + svc))
    common = [r for r in tables[SERVICES[0]] if all(r in t for t in tables.values())]
    parts = [HEADER, "## Keys every service reads\n", "\n".join(head + common) + "\n"]
    for svc in SERVICES:
        own = [r for r in tables[svc] if r not in common]
        parts.append("## %s\n" % svc)
        parts.append("\n".join(head + own) + "\n")
    return "\n".join(parts)


def main():
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    if len(args) != 1:
        sys.exit(__doc__)
    text = render(args[0])
    if check:
        with open(DOC, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit("docs/configuration.md is out of date: run tools/config_docs.py %s"
                         % args[0])
        print("docs/configuration.md is up to date")
        return
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote", DOC)


if __name__ == "__main__":
    main()
