#!/usr/bin/env python3
"""Writes the typed C records of carewatch's Avro schemas.

    gen_records.py OUT_DIR schemas/*.avsc

For every record of the schemas (top-level and nested) it writes a C struct
and, for every top-level record, a reader and a writer:

    int cw_visit_event_read(avro_value_t *v, cw_visit_event *out);
    int cw_visit_event_write(avro_value_t *v, const cw_visit_event *in);
    void cw_visit_event_release(cw_visit_event *rec);

and for every enum a C enum with its name and parse functions:

    typedef enum { CW_VISIT_KIND_CHECK_IN, CW_VISIT_KIND_CHECK_OUT } cw_visit_kind;
    const char *cw_visit_kind_name(cw_visit_kind k);
    int cw_visit_kind_parse(const char *name, cw_visit_kind *out);

Field mapping (the schema's nullable fields are unions ["null", T]):
    string              const char *         (nullable: NULL when null)
    bytes               const void *, size_t <name>_len (nullable: NULL)
    long / int          int64_t / int32_t     (nullable: has_<name> flag)
    double / boolean    double / int          (nullable: has_<name> flag)
    enum                the C enum            (nullable: has_<name> flag)
    record              the nested struct     (nullable: has_<name> flag)
    array of string     const char **, size_t <name>_count

Ownership: a read borrows every string and byte buffer from the avro value
(valid until it is reset or released); arrays are malloc'd by the read and
freed by cw_<name>_release, which is safe on a zeroed or released record. A
write copies everything into the value. Both return 0, or -1 when the value
does not have the schema's shape (a missing field, an unknown enum symbol,
out of memory).

Output: OUT_DIR/avro_records.h and OUT_DIR/avro_records.c. Only the Python
standard library is used: the build runs it.
"""
import json
import os
import re
import sys

PRIMITIVE_C = {"string": "const char *", "long": "int64_t", "int": "int32_t",
               "double": "double", "boolean": "int"}
GETTER = {"string": "str", "long": "long", "int": "int", "double": "double", "boolean": "bool"}


def snake(name):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


class Gen:
    def __init__(self):
        self.enums = {}     # name -> symbols
        self.records = {}   # name -> fields
        self.order = []     # ("enum"|"record", name) in dependency order
        self.top = []       # top-level record names with their schema file

    # -- collecting ---------------------------------------------------------
    def named(self, t, where):
        if isinstance(t, str):
            return t
        if isinstance(t, list):
            for b in t:
                self.named(b, where)
            return None
        kind = t["type"]
        if kind == "enum":
            old = self.enums.get(t["name"])
            if old is not None and old != t["symbols"]:
                sys.exit("%s: enum %s differs from an earlier one" % (where, t["name"]))
            if old is None:
                self.enums[t["name"]] = t["symbols"]
                self.order.append(("enum", t["name"]))
            return t["name"]
        if kind == "record":
            for f in t["fields"]:
                self.named(f["type"], where)
            if t["name"] in self.records:
                sys.exit("%s: record %s defined twice" % (where, t["name"]))
            self.records[t["name"]] = t["fields"]
            self.order.append(("record", t["name"]))
            return t["name"]
        if kind == "array":
            self.named(t["items"], where)
        return None

    def shape(self, t):
        """(kind, nullable, name): kind one of the primitives, 'bytes', 'enum',
        'record', 'array_string'."""
        nullable = False
        if isinstance(t, list):
            branches = [b for b in t if b != "null"]
            if len(branches) != 1 or "null" not in t or t[0] != "null":
                sys.exit("unsupported union %r" % (t,))
            nullable, t = True, branches[0]
        if isinstance(t, dict):
            if t["type"] in ("enum", "record"):
                return t["type"], nullable, t["name"]
            if t["type"] == "array":
                if t["items"] != "string":
                    sys.exit("only arrays of string are supported")
                return "array_string", nullable, None
            if "logicalType" in t:
                return t["type"], nullable, None
            sys.exit("unsupported type %r" % (t,))
        if t in self.enums:
            return "enum", nullable, t
        if t in self.records:
            return "record", nullable, t
        if t in PRIMITIVE_C or t == "bytes":
            return t, nullable, None
        sys.exit("unsupported type %r" % (t,))

    # -- the header ---------------------------------------------------------
    def struct_fields(self, fields):
        lines = []
        for f in fields:
            kind, nullable, name = self.shape(f["type"])
            n = f["name"]
            note = "  /* null: NULL */" if nullable and kind in ("string", "bytes") else ""
            if nullable and kind not in ("string", "bytes"):
                lines.append("    int has_%s;" % n)
            if kind in PRIMITIVE_C:
                lines.append("    %s%s%s;%s" % (PRIMITIVE_C[kind],
                                               "" if kind == "string" else " ", n, note))
            elif kind == "bytes":
                lines.append("    const void *%s;%s" % (n, note))
                lines.append("    size_t %s_len;" % n)
            elif kind == "enum":
                lines.append("    cw_%s %s;" % (snake(name), n))
            elif kind == "record":
                lines.append("    cw_%s %s;" % (snake(name), n))
            else:
                lines.append("    const char **%s; /* malloc'd by a read */" % n)
                lines.append("    size_t %s_count;" % n)
        return lines

    def header(self):
        out = ["/* Generated by cmake/gen_records.py from the .avsc files of schemas/: do not edit.",
               " * The typed records of carewatch's Avro schemas; the mapping and who",
               " * owns what are described at the top of cmake/gen_records.py. */",
               "#ifndef CW_AVRO_RECORDS_H", "#define CW_AVRO_RECORDS_H", "",
               "#include <avro.h>", "#include <stddef.h>", "#include <stdint.h>", ""]
        for kind, name in self.order:
            s = snake(name)
            if kind == "enum":
                syms = ", ".join("CW_%s_%s" % (s.upper(), x) for x in self.enums[name])
                out.append("typedef enum { %s } cw_%s;" % (syms, s))
                out.append("#define CW_%s_COUNT %d" % (s.upper(), len(self.enums[name])))
                out.append("const char *cw_%s_name(cw_%s value);" % (s, s))
                out.append("int cw_%s_parse(const char *name, cw_%s *out);" % (s, s))
                out.append("")
            else:
                out.append("typedef struct {")
                out += self.struct_fields(self.records[name])
                out.append("} cw_%s;" % s)
                out.append("")
        for name in self.top:
            s = snake(name)
            out.append("int cw_%s_read(avro_value_t *v, cw_%s *out);" % (s, s))
            out.append("int cw_%s_write(avro_value_t *v, const cw_%s *in);" % (s, s))
            out.append("void cw_%s_release(cw_%s *rec);" % (s, s))
            out.append("")
        out.append("#endif")
        return "\n".join(out) + "\n"

    # -- the code -----------------------------------------------------------
    def read_body(self, fields, rec):
        lines = []
        for f in fields:
            kind, nullable, name = self.shape(f["type"])
            n, q = f["name"], '"%s"' % f["name"]
            dst = "%s->%s" % (rec, n)
            if kind in GETTER:
                g = GETTER[kind]
                if kind == "string":
                    fn = "cw_av_get_opt_str" if nullable else "cw_av_get_str"
                    lines.append("    if (%s(v, %s, &%s) != 0)" % (fn, q, dst))
                elif nullable:
                    lines.append("    if (cw_av_get_opt_%s(v, %s, &%s->has_%s, &%s) != 0)"
                                 % (g, q, rec, n, dst))
                else:
                    lines.append("    if (cw_av_get_%s(v, %s, &%s) != 0)" % (g, q, dst))
                lines.append("        return -1;")
            elif kind == "bytes":
                fn = "cw_av_get_opt_bytes" if nullable else "cw_av_get_bytes"
                lines.append("    if (%s(v, %s, &%s, &%s_len) != 0)" % (fn, q, dst, dst))
                lines.append("        return -1;")
            elif kind == "enum":
                s = snake(name)
                lines.append("    {")
                lines.append("        const char *symbol;")
                if nullable:
                    lines.append("        if (cw_av_get_opt_enum(v, %s, &symbol) != 0)" % q)
                    lines.append("            return -1;")
                    lines.append("        %s->has_%s = symbol != NULL;" % (rec, n))
                    lines.append("        if (symbol != NULL && cw_%s_parse(symbol, &%s) != 0)"
                                 % (s, dst))
                else:
                    lines.append("        if (cw_av_get_enum(v, %s, &symbol) != 0 ||" % q)
                    lines.append("            cw_%s_parse(symbol, &%s) != 0)" % (s, dst))
                lines.append("            return -1;")
                lines.append("    }")
            elif kind == "record":
                s = snake(name)
                lines.append("    {")
                lines.append("        avro_value_t sub;")
                lines.append("        int present;")
                lines.append("        if (cw_av_get_present(v, %s, &present, &sub) != 0)" % q)
                lines.append("            return -1;")
                if nullable:
                    lines.append("        %s->has_%s = present;" % (rec, n))
                    lines.append("        if (present && read_%s(&sub, &%s) != 0)" % (s, dst))
                else:
                    lines.append("        if (!present || read_%s(&sub, &%s) != 0)" % (s, dst))
                lines.append("            return -1;")
                lines.append("    }")
            else:
                lines.append("    if (read_str_array(v, %s, &%s, &%s_count) != 0)" % (q, dst, dst))
                lines.append("        return -1;")
        return lines

    def write_body(self, fields, rec):
        lines = []
        for f in fields:
            kind, nullable, name = self.shape(f["type"])
            n, q = f["name"], '"%s"' % f["name"]
            src = "%s->%s" % (rec, n)
            if kind == "string":
                fn = "cw_av_set_opt_str" if nullable else "cw_av_set_str"
                lines.append("    if (%s(v, %s, %s) != 0)" % (fn, q, src))
            elif kind in GETTER:
                g = GETTER[kind]
                if nullable:
                    lines.append("    if (cw_av_set_opt_%s(v, %s, %s->has_%s, %s) != 0)"
                                 % (g, q, rec, n, src))
                else:
                    lines.append("    if (cw_av_set_%s(v, %s, %s) != 0)" % (g, q, src))
            elif kind == "bytes":
                fn = "cw_av_set_opt_bytes" if nullable else "cw_av_set_bytes"
                lines.append("    if (%s(v, %s, %s, %s_len) != 0)" % (fn, q, src, src))
            elif kind == "enum":
                s = snake(name)
                if nullable:
                    lines.append("    if (%s->has_%s ? cw_av_set_enum(v, %s, cw_%s_name(%s)) "
                                 ": cw_av_set_null(v, %s))" % (rec, n, q, s, src, q))
                    lines.append("        return -1;")
                    continue
                lines.append("    if (cw_av_set_enum(v, %s, cw_%s_name(%s)) != 0)" % (q, s, src))
            elif kind == "record":
                s = snake(name)
                lines.append("    {")
                lines.append("        avro_value_t sub;")
                if nullable:
                    lines.append("        if (!%s->has_%s ? cw_av_set_null(v, %s) != 0"
                                 % (rec, n, q))
                    lines.append("                        : cw_av_set_present(v, %s, &sub) != 0 ||"
                                 % q)
                    lines.append("                              write_%s(&sub, &%s) != 0)"
                                 % (s, src))
                else:
                    lines.append("        if (cw_av_field(v, %s, &sub) != 0 || write_%s(&sub, &%s) != 0)"
                                 % (q, s, src))
                lines.append("            return -1;")
                lines.append("    }")
                continue
            else:
                lines.append("    if (cw_av_set_str_array(v, %s, %s, %s_count) != 0)"
                             % (q, src, src))
            lines.append("        return -1;")
        return lines

    def arrays_of(self, fields):
        return [f["name"] for f in fields if self.shape(f["type"])[0] == "array_string"]

    def nested_with_arrays(self, name):
        return bool(self.arrays_of(self.records[name]))

    def code(self):
        out = ["/* Generated by cmake/gen_records.py from the .avsc files of schemas/: do not edit. */",
               '#include "avro_records.h"', "", "#include <stdlib.h>", "#include <string.h>", "",
               '#include "avro_fields.h"', "",
               "/* An array-of-string field into a malloc'd array of borrowed pointers. */",
               "static int read_str_array(avro_value_t *v, const char *field, const char ***out,",
               "                          size_t *count)",
               "{",
               "    size_t n;",
               "    *out = NULL;",
               "    *count = 0;",
               "    if (cw_av_get_array_size(v, field, &n) != 0)",
               "        return -1;",
               "    if (n == 0)",
               "        return 0;",
               "    const char **items = calloc(n, sizeof(*items));",
               "    if (items == NULL)",
               "        return -1;",
               "    for (size_t i = 0; i < n; i++) {",
               "        if (cw_av_get_str_at(v, field, i, &items[i]) != 0) {",
               "            free(items);",
               "            return -1;",
               "        }",
               "    }",
               "    *out = items;",
               "    *count = n;",
               "    return 0;",
               "}", ""]
        for kind, name in self.order:
            s = snake(name)
            if kind == "enum":
                syms = self.enums[name]
                out.append("static const char *const %s_names[] = {%s};" %
                           (s, ", ".join('"%s"' % x for x in syms)))
                out.append("")
                out.append("const char *cw_%s_name(cw_%s value)" % (s, s))
                out.append("{")
                out.append("    return (unsigned)value < %d ? %s_names[value] : NULL;" % (len(syms), s))
                out.append("}")
                out.append("")
                out.append("int cw_%s_parse(const char *name, cw_%s *out)" % (s, s))
                out.append("{")
                out.append("    for (int i = 0; name != NULL && i < %d; i++) {" % len(syms))
                out.append("        if (strcmp(name, %s_names[i]) == 0) {" % s)
                out.append("            *out = (cw_%s)i;" % s)
                out.append("            return 0;")
                out.append("        }")
                out.append("    }")
                out.append("    return -1;")
                out.append("}")
                out.append("")
                continue
            fields = self.records[name]
            if any(self.shape(f["type"])[0] == "record" and
                   self.nested_with_arrays(self.shape(f["type"])[2]) for f in fields):
                sys.exit("record %s: nested records with arrays are not supported" % name)
            out.append("static int read_%s(avro_value_t *v, cw_%s *out)" % (s, s))
            out.append("{")
            out.append("    memset(out, 0, sizeof(*out));")
            out += self.read_body(fields, "out")
            out.append("    return 0;")
            out.append("}")
            out.append("")
            out.append("static int write_%s(avro_value_t *v, const cw_%s *in)" % (s, s))
            out.append("{")
            out += self.write_body(fields, "in")
            out.append("    return 0;")
            out.append("}")
            out.append("")
            if name not in self.top:
                continue
            arrays = self.arrays_of(fields)
            out.append("void cw_%s_release(cw_%s *rec)" % (s, s))
            out.append("{")
            if not arrays:
                out.append("    (void)rec; /* nothing allocated */")
            for a in arrays:
                out.append("    free((void *)rec->%s);" % a)
                out.append("    rec->%s = NULL;" % a)
                out.append("    rec->%s_count = 0;" % a)
            out.append("}")
            out.append("")
            out.append("int cw_%s_read(avro_value_t *v, cw_%s *out)" % (s, s))
            out.append("{")
            out.append("    if (read_%s(v, out) == 0)" % s)
            out.append("        return 0;")
            out.append("    cw_%s_release(out);" % s)
            out.append("    return -1;")
            out.append("}")
            out.append("")
            out.append("int cw_%s_write(avro_value_t *v, const cw_%s *in)" % (s, s))
            out.append("{")
            out.append("    return write_%s(v, in);" % s)
            out.append("}")
            out.append("")
        return "\n".join(out)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: gen_records.py OUT_DIR schema.avsc...")
    g = Gen()
    for path in sorted(sys.argv[2:]):
        with open(path, encoding="utf-8") as f:
            schema = json.load(f)
        g.top.append(g.named(schema, path))
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, text in (("avro_records.h", g.header()), ("avro_records.c", g.code())):
        path = os.path.join(sys.argv[1], name)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old != text:  # unchanged output keeps its time stamp: no rebuild
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)


if __name__ == "__main__":
    main()
