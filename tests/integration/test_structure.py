"""The shape docs/architecture.md promises, checked on the source tree (no
stack needed): thin main.c files, topic names in one header, every header
opening with its design note, one name prefix per service, service headers
included by path, and no circle between the files of common/ or of a
service."""
import glob
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICES = sorted(d for d in os.listdir(os.path.join(REPO, "services"))
                  if os.path.isdir(os.path.join(REPO, "services", d)))
# The exported-name prefixes of each service (docs/architecture.md).
PREFIXES = {
    "ingest": ("ingest_", "INGEST_"),
    "geo-validator": ("geo_", "GEO_"),
    "duration-timer": ("duration_", "DURATION_"),
    "overlap-detector": ("overlap_", "OVERLAP_"),
    "alert-router": ("alert_", "ALERT_"),
    "ledger-writer": ("ledger_", "LEDGER_"),
    "payment-scheduler": ("pay_", "PAY_"),
    "supervision-desk": ("desk_", "DESK_"),
    "cli": ("cmd_", "cw_command", "CW_EXIT_"),
}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def c_files(*dirs):
    out = []
    for d in dirs:
        out += glob.glob(os.path.join(REPO, d, "*.c")) + glob.glob(os.path.join(REPO, d, "*.h"))
    return sorted(out)


def rel(path):
    return os.path.relpath(path, REPO)


def test_every_main_is_wiring_sized():
    for svc in SERVICES:
        main = os.path.join(REPO, "services", svc, "main.c")
        if os.path.exists(main):
            lines = read(main).count("\n")
            assert lines < 200, "%s has %d lines" % (rel(main), lines)


def test_topic_names_live_in_one_header():
    topics = []
    for line in read(os.path.join(REPO, "deploy", "local", "topics.txt")).splitlines():
        if line.strip() and not line.startswith("#"):
            topics.append(line.split()[0])
    assert "visit.events" in topics
    literal = re.compile(r'"(%s)"' % "|".join(re.escape(t) for t in topics))
    found = []
    for path in c_files("common", *("services/" + s for s in SERVICES)):
        if path.endswith(os.path.join("common", "topics.h")):
            continue
        for n, line in enumerate(read(path).splitlines(), 1):
            if literal.search(line):
                found.append("%s:%d: %s" % (rel(path), n, line.strip()))
    assert not found, "topic literals outside common/topics.h:\n" + "\n".join(found)


def test_every_header_opens_with_its_design_note():
    missing = [rel(p) for p in c_files("common", *("services/" + s for s in SERVICES))
               if p.endswith(".h") and not read(p).lstrip().startswith("/*")]
    assert not missing, "headers without a note at the top: %s" % missing


def declared_functions(header_text):
    """The functions and variables a header exports to the linker."""
    text = re.sub(r"/\*.*?\*/", "", header_text, flags=re.S)
    text = re.sub(r"^static inline.*?^}", "", text, flags=re.S | re.M)
    names = set()
    for m in re.finditer(r"^(?!typedef|#|static)[A-Za-z_][\w \*]*?\b(\w+)\s*\([^;{]*\)\s*;", text,
                         re.M):
        names.add(m.group(1))
    for m in re.finditer(r"^extern\b[^;(]*?\b(\w+)\s*(\[[^\]]*\])?\s*;", text, re.M):
        names.add(m.group(1))
    return names


def test_one_prefix_per_service():
    wrong = []
    for svc in SERVICES:
        prefixes = PREFIXES[svc]
        for header in glob.glob(os.path.join(REPO, "services", svc, "*.h")):
            for name in declared_functions(read(header)):
                stem = prefixes[0].rstrip("_")
                if name != stem and not name.startswith(prefixes):
                    wrong.append("%s: %s" % (rel(header), name))
    assert not wrong, "names without their service's prefix:\n" + "\n".join(sorted(wrong))


def test_service_headers_are_included_by_path():
    own = {}
    for svc in SERVICES:
        for header in glob.glob(os.path.join(REPO, "services", svc, "*.h")):
            own[os.path.basename(header)] = svc
    bare = []
    paths = c_files(*("services/" + s for s in SERVICES))
    paths += glob.glob(os.path.join(REPO, "tests", "unit", "**", "*.c"), recursive=True)
    paths += glob.glob(os.path.join(REPO, "tests", "fuzz", "*.c"))
    for path in paths:
        for inc in re.findall(r'^#include "([^"/]+)"', read(path), re.M):
            if inc in own and not os.path.exists(os.path.join(os.path.dirname(path), inc)):
                bare.append("%s: %s" % (rel(path), inc))
            elif inc in own and "/services/" in path:
                bare.append("%s: %s" % (rel(path), inc))
    assert not bare, "service headers included without their service's path:\n" + "\n".join(bare)


def file_graph(directory):
    """Unit -> units it uses, a unit being x.c with x.h."""
    units = {}
    for path in c_files(directory):
        unit = os.path.splitext(os.path.basename(path))[0]
        deps = units.setdefault(unit, set())
        for inc in re.findall(r'^#include "([^"]+)"', read(path), re.M):
            name = os.path.splitext(os.path.basename(inc))[0]
            same_dir = os.path.dirname(inc) in ("", os.path.basename(directory))
            if name != unit and same_dir:
                deps.add(name)
    return {u: {d for d in deps if d in units} for u, deps in units.items()}


def cycle_in(graph):
    state = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, stack + [nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def test_no_circle_between_files():
    assert cycle_in({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert cycle_in({"a": {"b"}, "b": set()}) is None
    for directory in ["common"] + ["services/" + s for s in SERVICES]:
        found = cycle_in(file_graph(os.path.join(REPO, directory)))
        assert found is None, "%s: %s" % (directory, " -> ".join(found))
